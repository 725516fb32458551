#pragma once

// The road network and the demand as the traffic assignment engine sees them: dense 0-based node
// and link indices, link attributes in flat arrays, adjacency in compressed (CSR) form. Both are
// immutable once built and can be shared read-only between threads.

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "twin/assign/tntp.hpp"
#include "twin/base/expected.hpp"
#include "twin/city/bundle.hpp"

namespace twin::assign {

using node_index = std::uint32_t;
using link_index = std::uint32_t;
inline constexpr link_index no_link = UINT32_MAX;

// One directed link. Cost at flow x (BPR, generalized):
//   free_flow_time * (1 + b * (x / capacity)^power) + toll_factor * toll + distance_factor * length
struct link_spec {
  node_index from = 0;
  node_index to = 0;
  double capacity = 0;  // 0 closes the link: no path may use it
  double free_flow_time = 0;
  double b = 0;
  double power = 0;
  double toll = 0;
  double length = 0;
};

// Weights that turn toll and length into time units (ChicagoSketch: 0.02 and 0.04).
struct cost_weights {
  double toll_factor = 0;
  double distance_factor = 0;
};

class network {
 public:
  // Nodes below `first_thru_node` (0-based) may start or end paths but never be passed through.
  // Errors (a link to an unknown node, a negative attribute) are returned as text.
  static expected<network, std::string> build(std::uint32_t node_count,
                                              std::uint32_t first_thru_node,
                                              std::vector<link_spec> links, cost_weights weights);

  std::uint32_t node_count() const { return node_count_; }
  std::uint32_t link_count() const { return static_cast<std::uint32_t>(from_.size()); }
  std::uint32_t first_thru_node() const { return first_thru_node_; }
  const cost_weights& weights() const { return weights_; }
  const link_spec& spec(link_index l) const { return specs_[l]; }

  node_index from(link_index l) const { return from_[l]; }
  node_index to(link_index l) const { return to_[l]; }
  bool closed(link_index l) const { return closed_[l] != 0; }
  // Whether a path from `origin` may leave node n (the no-through-traffic rule).
  bool may_leave(node_index n, node_index origin) const {
    return n >= first_thru_node_ || n == origin;
  }

  // Links leaving / entering a node, in ascending link order.
  std::span<const link_index> out_links(node_index n) const {
    return {out_links_.data() + out_start_[n], out_links_.data() + out_start_[n + 1]};
  }
  std::span<const link_index> in_links(node_index n) const {
    return {in_links_.data() + in_start_[n], in_links_.data() + in_start_[n + 1]};
  }
  // An open link with its head node.
  struct arc {
    link_index link = 0;
    node_index to = 0;
  };
  // The open links leaving a node, in ascending link order, each beside its head: what the
  // shortest-path searches scan, one contiguous read per link instead of three lookups.
  std::span<const arc> open_out_arcs(node_index n) const {
    return {open_out_.data() + open_out_start_[n], open_out_.data() + open_out_start_[n + 1]};
  }

  // Generalized cost at flow x.
  double cost(link_index l, double x) const {
    double c, d;
    cost_and_derivative(l, x, c, d);
    return c;
  }
  // Generalized cost and its derivative at flow x (x < 0 is read as 0).
  void cost_and_derivative(link_index l, double x, double& cost, double& derivative) const {
    if (x <= 0) {
      cost = base_cost_[l] + (power_kind_[l] == power_kind::zero ? alpha_[l] : 0.0);
      derivative = (power_[l] == 1.0) ? alpha_[l] : 0.0;
      return;
    }
    const double a = alpha_[l];
    switch (power_kind_[l]) {
      case power_kind::four: {
        const double x2 = x * x;
        cost = base_cost_[l] + a * x2 * x2;
        derivative = 4.0 * a * x2 * x;
        return;
      }
      case power_kind::integer: {
        double p = 1.0;
        for (std::uint32_t k = 1; k < power_int_[l]; ++k) p *= x;
        cost = base_cost_[l] + a * p * x;
        derivative = power_[l] * a * p;
        return;
      }
      case power_kind::zero:
        cost = base_cost_[l] + a;
        derivative = 0;
        return;
      case power_kind::real:
      default: {
        const double p = std::pow(x, power_[l] - 1.0);
        cost = base_cost_[l] + a * p * x;
        derivative = power_[l] * a * p;
        return;
      }
    }
  }
  // Integral of the cost from 0 to x: the link's term of the Beckmann objective.
  double cost_integral(link_index l, double x) const;

 private:
  enum class power_kind : std::uint8_t { zero, four, integer, real };

  std::uint32_t node_count_ = 0;
  std::uint32_t first_thru_node_ = 0;
  cost_weights weights_;
  std::vector<link_spec> specs_;
  std::vector<node_index> from_, to_;
  std::vector<std::uint8_t> closed_;
  // cost(x) = base_cost + alpha * x^power, with alpha = fft * b / capacity^power.
  std::vector<double> base_cost_, alpha_, power_;
  std::vector<power_kind> power_kind_;
  std::vector<std::uint32_t> power_int_;
  std::vector<std::uint32_t> out_start_, in_start_;
  std::vector<link_index> out_links_, in_links_;
  std::vector<std::uint32_t> open_out_start_;
  std::vector<arc> open_out_;
};

// One origin-destination flow, 0-based nodes.
struct od_flow {
  node_index origin = 0;
  node_index destination = 0;
  double flow = 0;
};

struct destination_flow {
  node_index destination = 0;
  double flow = 0;
};

// Demand grouped by origin, origins and destinations in ascending order. Intrazonal flow
// (origin == destination) never enters the network: it is only counted.
class demand {
 public:
  // Entries with the same (origin, destination) are summed; zero flows are dropped.
  static expected<demand, std::string> build(const network& net, std::vector<od_flow> flows);

  std::uint32_t origin_count() const { return static_cast<std::uint32_t>(origins_.size()); }
  node_index origin(std::uint32_t slot) const { return origins_[slot]; }
  std::span<const destination_flow> destinations(std::uint32_t slot) const {
    return {entries_.data() + start_[slot], entries_.data() + start_[slot + 1]};
  }
  double total_flow() const { return total_flow_; }  // excluding intrazonal flow
  double intrazonal_flow() const { return intrazonal_flow_; }
  // Equal for equal demands; lets a warm start check it is given the demand it was solved for.
  std::uint64_t fingerprint() const { return fingerprint_; }

 private:
  std::vector<node_index> origins_;
  std::vector<std::uint32_t> start_;
  std::vector<destination_flow> entries_;
  double total_flow_ = 0;
  double intrazonal_flow_ = 0;
  std::uint64_t fingerprint_ = 0;
};

// A TNTP case converted for the engine (TNTP node k becomes node k - 1).
struct tntp_case {
  network net;
  demand trips;
};
expected<network, load_error> network_from_tntp(const tntp::net_file& file,
                                                const std::string& file_name, cost_weights weights);
expected<demand, load_error> demand_from_tntp(const tntp::trips_file& file,
                                              const std::string& file_name, const network& net);
// Loads <dir>/<name>_net.tntp and <dir>/<name>_trips.tntp.
expected<tntp_case, load_error> load_tntp_case(const std::filesystem::path& dir,
                                               const std::string& name, cost_weights weights);

}  // namespace twin::assign
