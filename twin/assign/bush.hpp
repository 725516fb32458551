#pragma once

// The per-origin unit of Algorithm B (Dial 2006): an acyclic "bush" of links rooted at one origin
// that carries all of that origin's flow, and the two operations on it:
//   - update: drop links without flow, add links that shorten paths (keeps the bush acyclic);
//   - equilibrate: shift flow from the longest used path to the shortest path of each node, with a
//     Newton step, until every used path to a node costs the same.
//
// State, and who owns it:
//   - per origin (origin_bush): which links are in the bush, the origin's flow on each link, a
//     topological order of the bush. Nothing else writes it.
//   - shared (link_state): the total flow on each link and the cost and cost derivative at that
//     flow. equilibrate() reads it and writes the links whose flow it moves.
//   - per thread (bush_workspace): scratch memory (labels, heaps, segment buffers) reused from one
//     origin to the next so that the hot loops never allocate.
// solve() runs the origins one after the other against one link_state (Gauss-Seidel). Workers
// that each fully equilibrate their origins against a private snapshot of the link state
// overshoot (they all move flow onto the same cheap links) and may not converge as such:
// block_solver (assignment.hpp) combines their moves with steps chosen by a line search, using
// origin_bush::blend.

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "twin/assign/network.hpp"

namespace twin::assign {

// Total flow on each link with its cost and cost derivative at that flow.
struct link_state {
  std::vector<double> flow;
  std::vector<double> cost;
  std::vector<double> derivative;

  // Zero flow on every link.
  void reset(const network& net);
  // Costs and derivatives from the current flows.
  void refresh_costs(const network& net);
  void set_flow(const network& net, link_index l, double x) {
    flow[l] = x;
    net.cost_and_derivative(l, x, cost[l], derivative[l]);
  }
};

// An entry of the shortest-path searches' heap.
struct heap_entry {
  double key = 0;
  node_index node = 0;
};

// A node's longest-path label, rounded to float and taken as bits, beside its position in a bush's
// order: what reordering a bush sorts.
struct label_key {
  std::uint32_t key = 0;
  std::uint32_t position = 0;
};

// Scratch memory for one thread. Sized for a network on first use; the contents mean nothing
// between calls.
class bush_workspace {
 public:
  void prepare(const network& net);

 private:
  friend class origin_bush;
  friend double shortest_path_cost(const network&, node_index, std::span<const destination_flow>,
                                   std::span<const double>, bush_workspace&, double*);
  std::uint32_t node_count_ = 0;
  std::vector<double> min_label_, max_label_, node_flow_;
  std::vector<link_index> min_pred_;  // shortest-path searches: the link into each node
  // Bush labelling: the slot (index into the bush's grouped link arrays) of the link into each
  // node on its shortest and its longest used path.
  std::vector<std::uint32_t> min_slot_, max_slot_;
  std::vector<std::uint32_t> position_, in_degree_;
  // Marks the destinations of one shortest-path search, so that it can stop once their labels are
  // final.
  std::vector<std::uint32_t> target_stamp_;
  std::uint32_t stamp_ = 0;
  std::vector<node_index> settled_, queue_;
  std::vector<heap_entry> heap_entries_;
  std::vector<std::uint32_t> heap_position_;
  std::vector<std::uint32_t> min_segment_, max_segment_;  // slots
  std::vector<std::uint32_t> candidates_;                 // nodes a shift pass visits
  std::vector<double> closed_inflow_;                     // repair(): per node
  // Reordering a bush after update(): links added, nodes keyed by longest-path label (and the
  // radix sort's second buffer), the new order as old positions and as nodes, and the new grouped
  // arrays before they are swapped in. rebuild_order() lists the bush's links in next_links_.
  std::vector<link_index> added_;
  std::vector<label_key> keyed_, keyed_other_;
  std::vector<std::uint32_t> sorted_;
  std::vector<node_index> next_order_;
  std::vector<std::uint32_t> next_start_;
  std::vector<link_index> next_links_;
  std::vector<node_index> next_tails_;
  std::vector<double> next_flow_;
};

// Demand-weighted sum of shortest-path costs from `origin` at the given link costs (closed links
// and the no-through-traffic rule respected). Demand to unreachable destinations is skipped and
// added to *unreachable_flow when given.
double shortest_path_cost(const network& net, node_index origin,
                          std::span<const destination_flow> destinations,
                          std::span<const double> link_cost, bush_workspace& ws,
                          double* unreachable_flow = nullptr);

struct bush_update_result {
  std::uint32_t links_added = 0;
  std::uint32_t links_removed = 0;
};

struct equilibrate_options {
  // Nodes whose longest used path exceeds the shortest by at most this much are left alone, and
  // the passes stop once no node exceeds it. In the units of the generalized cost.
  double cost_difference_min = 0;
  // 0: labels only, which still reports cost_difference_max and excess_cost.
  std::uint32_t passes_max = 8;
};

struct equilibrate_result {
  std::uint32_t passes = 0;
  std::uint32_t shifts = 0;
  // Largest (longest used - shortest) path cost difference seen at the last labelling.
  double cost_difference_max = 0;
  // The origin's flow-weighted excess cost over its shortest paths within the bush at the last
  // labelling: sum over bush links of flow * (L_tail + cost - L_head). Its sum over origins,
  // divided by TSTT, is the relative gap restricted to the bushes: a lower bound of the true gap
  // (the bush may lack a shorter path) and a cheap one, needing no shortest-path search.
  double excess_cost = 0;
};

class origin_bush {
 public:
  origin_bush() = default;

  // Builds the bush from shortest paths at `links.cost` and loads the origin's demand on them
  // (all or nothing); the flow is added to `links`. Links that lead away from the origin at these
  // costs join the bush too, which gives the first flow shifts room to work. Demand to
  // unreachable destinations is not loaded and is reported by unassigned_flow().
  void initialize(const network& net, node_index origin,
                  std::span<const destination_flow> destinations, link_state& links,
                  bush_workspace& ws);

  // Removes bush links without flow (except those on the bush's shortest-path tree) and adds
  // network links that shorten a path: (i, j) joins when U_i + c_ij < U_j, or when
  // L_i + c_ij < L_j and U_i < U_j, with L and U the shortest and longest path labels over the
  // bush. Every link then goes from a lower U to a higher one, so the bush stays acyclic.
  bush_update_result update(const network& net, const link_state& links, bush_workspace& ws);

  // Passes of flow shifting at the current costs, updating `links` as flow moves.
  equilibrate_result equilibrate(const network& net, link_state& links, bush_workspace& ws,
                                 const equilibrate_options& options);

  // Sets this origin's flows to previous + step * (current - previous) on bush links, 0 elsewhere:
  // a convex combination of two feasible loadings, for coordinators that damp a round of
  // shifts. `previous` holds link_flows() as they were before the round (the bush then was a
  // subset of the current one on every link with flow).
  void blend(std::span<const double> previous, double step);

  node_index origin() const { return origin_; }
  // This origin's flow on every link (0 off the bush).
  std::span<const double> link_flows() const { return flow_; }
  bool contains(link_index l) const { return in_bush_[l] != 0; }
  std::uint32_t link_count() const { return static_cast<std::uint32_t>(bush_links_.size()); }
  // Demand that could not be loaded because its destination is unreachable from the origin.
  double unassigned_flow() const { return unassigned_flow_; }
  // Whether the bush includes a link that the network now has closed (warm starts check it).
  bool uses_closed_link(const network& net) const;
  // For a warm start on a network that closed some of the bush's links: drops them, gives every
  // node left without an in-link the network links from nodes before it in the bush's order (the
  // bush stays acyclic), and reloads the origin's demand (`destinations`, as given to
  // initialize()) farthest node first: the remaining in-links keep their share of each node's
  // flow, the closed links' share is split by cost. Only the flow that used a closed link moves;
  // `links` follows it (to rounding: rebuild the totals from the bushes afterwards), so that bushes
  // repaired one after the other see each other's moves. The solver's iterations then
  // re-equilibrate. False, the bush left unusable and to be built anew, when a node can then only
  // be reached through nodes after it, a destination left the bush, or demand was left unassigned
  // before.
  bool repair(const network& net, std::span<const destination_flow> destinations, link_state& links,
              bush_workspace& ws);

 private:
  struct label_summary {
    double difference_max = 0;
    double excess_cost = 0;
    std::uint32_t candidate_count = 0;  // entries of bush_workspace::candidates_
  };
  // With used_only, also lists in ws.candidates_ (positions in order_, ascending) the nodes where
  // a shift pass has work: a longest used path other than the shortest, costlier by more than
  // shift_difference_min.
  template <bool used_only>
  label_summary compute_labels(const network& net, std::span<const double> cost, bush_workspace& ws,
                               double shift_difference_min) const;
  void rebuild_order(const network& net, bush_workspace& ws);
  void order_bush(const network& net, bush_workspace& ws);
  void reorder_by_longest(const network& net, bush_workspace& ws);
  void regroup(const network& net, bush_workspace& ws);
  bool shift_at(const network& net, node_index j, link_state& links, bush_workspace& ws);

  node_index origin_ = 0;
  std::vector<double> flow_;           // per link
  std::vector<std::uint8_t> in_bush_;  // per link
  std::vector<node_index> order_;      // reachable nodes, topological (origin first)
  // Bush links grouped by head node in topological order: the links entering order_[k] are
  // bush_links_[bush_start_[k] .. bush_start_[k + 1]).
  std::vector<std::uint32_t> bush_start_;
  std::vector<link_index> bush_links_;
  std::vector<node_index> bush_tails_;  // net.from() of each bush_links_ entry, kept beside it
  // flow_ of each bush_links_ entry: the labelling reads flows in slot order, contiguously.
  std::vector<double> bush_flow_;
  double unassigned_flow_ = 0;
};

}  // namespace twin::assign
