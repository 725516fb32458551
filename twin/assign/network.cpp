#include "twin/assign/network.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <utility>

namespace twin::assign {

namespace {

bool non_negative_finite(double v) {
  return std::isfinite(v) && v >= 0;
}

// Counting sort of links by a node key into CSR arrays; keeps ascending link order per node.
void build_csr(std::uint32_t node_count, const std::vector<node_index>& key,
               std::vector<std::uint32_t>& start, std::vector<link_index>& links) {
  start.assign(node_count + 1, 0);
  for (const node_index n : key) ++start[n + 1];
  for (std::uint32_t n = 0; n < node_count; ++n) start[n + 1] += start[n];
  links.resize(key.size());
  std::vector<std::uint32_t> next(start.begin(), start.end() - 1);
  for (link_index l = 0; l < key.size(); ++l) links[next[key[l]]++] = l;
}

}  // namespace

expected<network, std::string> network::build(std::uint32_t node_count,
                                              std::uint32_t first_thru_node,
                                              std::vector<link_spec> links, cost_weights weights) {
  if (node_count == 0) return unexpected{std::string("a network needs at least one node")};
  if (links.size() >= no_link) return unexpected{std::string("too many links")};
  network net;
  net.node_count_ = node_count;
  net.first_thru_node_ = first_thru_node;
  net.weights_ = weights;
  const std::size_t m = links.size();
  net.from_.resize(m);
  net.to_.resize(m);
  net.closed_.resize(m);
  net.base_cost_.resize(m);
  net.alpha_.resize(m);
  net.power_.resize(m);
  net.power_kind_.resize(m);
  net.power_int_.resize(m);
  for (std::size_t l = 0; l < m; ++l) {
    const link_spec& s = links[l];
    const std::string where = "link " + std::to_string(l) + ": ";
    if (s.from >= node_count || s.to >= node_count)
      return unexpected{where + "node outside 0.." + std::to_string(node_count - 1)};
    if (s.from == s.to) return unexpected{where + "a link from a node to itself"};
    if (!non_negative_finite(s.capacity) || !non_negative_finite(s.free_flow_time) ||
        !non_negative_finite(s.b) || !non_negative_finite(s.power) ||
        !non_negative_finite(s.length) || !std::isfinite(s.toll))
      return unexpected{where +
                        "capacity, free_flow_time, b, power and length must be finite and "
                        "not negative"};
    const double fixed = weights.toll_factor * s.toll + weights.distance_factor * s.length;
    if (!(s.free_flow_time + fixed >= 0))
      return unexpected{where + "negative generalized cost at zero flow"};
    net.from_[l] = s.from;
    net.to_[l] = s.to;
    net.closed_[l] = s.capacity == 0 ? 1 : 0;
    net.base_cost_[l] = s.free_flow_time + fixed;
    net.power_[l] = s.power;
    net.alpha_[l] = s.capacity > 0 ? s.free_flow_time * s.b / std::pow(s.capacity, s.power) : 0.0;
    if (s.power == 0) {
      net.power_kind_[l] = power_kind::zero;
    } else if (s.power == 4) {
      net.power_kind_[l] = power_kind::four;
    } else if (s.power == std::floor(s.power) && s.power <= 16) {
      net.power_kind_[l] = power_kind::integer;
      net.power_int_[l] = static_cast<std::uint32_t>(s.power);
    } else {
      net.power_kind_[l] = power_kind::real;
    }
  }
  net.specs_ = std::move(links);
  build_csr(node_count, net.from_, net.out_start_, net.out_links_);
  build_csr(node_count, net.to_, net.in_start_, net.in_links_);
  net.open_out_start_.assign(node_count + 1, 0);
  net.open_out_.reserve(m);
  for (node_index n = 0; n < node_count; ++n) {
    net.open_out_start_[n] = static_cast<std::uint32_t>(net.open_out_.size());
    for (const link_index l : net.out_links(n))
      if (!net.closed(l)) net.open_out_.push_back({l, net.to_[l]});
  }
  net.open_out_start_[node_count] = static_cast<std::uint32_t>(net.open_out_.size());
  return net;
}

double network::cost_integral(link_index l, double x) const {
  if (x <= 0) return 0;
  const double p = power_[l];
  const double ramp =
      power_kind_[l] == power_kind::four ? (x * x) * (x * x) * x : std::pow(x, p + 1.0);
  return base_cost_[l] * x + alpha_[l] * ramp / (p + 1.0);
}

expected<demand, std::string> demand::build(const network& net, std::vector<od_flow> flows) {
  demand d;
  for (const od_flow& f : flows) {
    if (f.origin >= net.node_count() || f.destination >= net.node_count())
      return unexpected{"demand from node " + std::to_string(f.origin) + " to node " +
                        std::to_string(f.destination) + ": unknown node"};
    if (!non_negative_finite(f.flow))
      return unexpected{"demand from node " + std::to_string(f.origin) + " to node " +
                        std::to_string(f.destination) + ": flow must be finite and not negative"};
  }
  std::stable_sort(flows.begin(), flows.end(), [](const od_flow& a, const od_flow& b) {
    return std::pair(a.origin, a.destination) < std::pair(b.origin, b.destination);
  });
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a over the merged entries
  const auto mix = [&h](std::uint64_t v) {
    for (int k = 0; k < 8; ++k) {
      h ^= (v >> (8 * k)) & 0xff;
      h *= 1099511628211ull;
    }
  };
  for (std::size_t i = 0; i < flows.size();) {
    const od_flow& f = flows[i];
    double sum = 0;
    std::size_t j = i;
    for (; j < flows.size() && flows[j].origin == f.origin && flows[j].destination == f.destination;
         ++j)
      sum += flows[j].flow;
    i = j;
    if (sum == 0) continue;
    if (f.origin == f.destination) {
      d.intrazonal_flow_ += sum;
      continue;
    }
    if (d.origins_.empty() || d.origins_.back() != f.origin) {
      d.origins_.push_back(f.origin);
      d.start_.push_back(static_cast<std::uint32_t>(d.entries_.size()));
    }
    d.entries_.push_back({f.destination, sum});
    d.total_flow_ += sum;
    mix(f.origin);
    mix(f.destination);
    mix(std::bit_cast<std::uint64_t>(sum));
  }
  d.start_.push_back(static_cast<std::uint32_t>(d.entries_.size()));
  d.fingerprint_ = h;
  return d;
}

expected<network, load_error> network_from_tntp(const tntp::net_file& file,
                                                const std::string& file_name,
                                                cost_weights weights) {
  std::vector<link_spec> links;
  links.reserve(file.links.size());
  for (const tntp::link_row& r : file.links) {
    links.push_back({static_cast<node_index>(r.init_node - 1),
                     static_cast<node_index>(r.term_node - 1), r.capacity, r.free_flow_time, r.b,
                     r.power, r.toll, r.length});
  }
  auto net = network::build(static_cast<std::uint32_t>(file.node_count),
                            static_cast<std::uint32_t>(file.first_thru_node - 1), std::move(links),
                            weights);
  if (!net) return unexpected{load_error{file_name, 0, "", net.error()}};
  return std::move(net).value();
}

expected<demand, load_error> demand_from_tntp(const tntp::trips_file& file,
                                              const std::string& file_name, const network& net) {
  if (file.zone_count > static_cast<std::int32_t>(net.node_count()))
    return unexpected{load_error{file_name, 0, "NUMBER OF ZONES",
                                 "the demand has " + std::to_string(file.zone_count) +
                                     " zones, the network only " +
                                     std::to_string(net.node_count()) + " nodes"}};
  std::vector<od_flow> flows;
  flows.reserve(file.rows.size());
  for (const tntp::od_row& r : file.rows)
    flows.push_back({static_cast<node_index>(r.origin - 1),
                     static_cast<node_index>(r.destination - 1), r.flow});
  auto d = demand::build(net, std::move(flows));
  if (!d) return unexpected{load_error{file_name, 0, "", d.error()}};
  return std::move(d).value();
}

expected<tntp_case, load_error> load_tntp_case(const std::filesystem::path& dir,
                                               const std::string& name, cost_weights weights) {
  const auto net_path = dir / (name + "_net.tntp");
  const auto trips_path = dir / (name + "_trips.tntp");
  auto net_file = tntp::load_net(net_path);
  if (!net_file) return unexpected{net_file.error()};
  auto trips_file = tntp::load_trips(trips_path);
  if (!trips_file) return unexpected{trips_file.error()};
  auto net = network_from_tntp(*net_file, net_path.string(), weights);
  if (!net) return unexpected{net.error()};
  auto trips = demand_from_tntp(*trips_file, trips_path.string(), *net);
  if (!trips) return unexpected{trips.error()};
  return tntp_case{std::move(net).value(), std::move(trips).value()};
}

}  // namespace twin::assign
