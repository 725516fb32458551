#include "twin/assign_bush.hpp"

#include <algorithm>
#include <functional>
#include <limits>

#include "twin/check.hpp"

namespace twin::assign {

namespace {

constexpr double infinity = std::numeric_limits<double>::infinity();
constexpr std::uint32_t not_queued = UINT32_MAX;

// A strict "a is shorter than b" that ignores differences at the last bits of b, so that rounding
// noise never adds a link or moves flow.
bool clearly_less(double a, double b) {
  return a < b - 1e-14 * b;
}

}  // namespace

void link_state::reset(const network& net) {
  flow.assign(net.link_count(), 0.0);
  cost.assign(net.link_count(), 0.0);
  derivative.assign(net.link_count(), 0.0);
  refresh_costs(net);
}

void link_state::refresh_costs(const network& net) {
  for (link_index l = 0; l < net.link_count(); ++l)
    net.cost_and_derivative(l, flow[l], cost[l], derivative[l]);
}

void bush_workspace::prepare(const network& net) {
  const std::uint32_t n = net.node_count();
  if (node_count_ == n && min_label_.size() == n) return;
  node_count_ = n;
  min_label_.assign(n, infinity);
  max_label_.assign(n, 0.0);
  node_flow_.assign(n, 0.0);
  min_pred_.assign(n, no_link);
  max_pred_.assign(n, no_link);
  position_.assign(n, 0);
  target_stamp_.assign(n, 0);
  stamp_ = 0;
  in_degree_.assign(n, 0);
  settled_.clear();
  settled_.reserve(n);
  queue_.clear();
  queue_.reserve(n);
  heap_nodes_.assign(n, 0);
  heap_position_.assign(n, not_queued);
  min_segment_.assign(n, no_link);
  max_segment_.assign(n, no_link);
}

namespace {

// A 4-ary min-heap of nodes keyed by their label, with decrease-key: it never holds more than one
// entry per node, which keeps it small and shallow.
class node_heap {
 public:
  node_heap(std::vector<node_index>& nodes, std::vector<std::uint32_t>& position, const double* key)
      : nodes_(nodes.data()), position_(position.data()), key_(key) {}

  bool empty() const { return size_ == 0; }

  void push_or_decrease(node_index v) {
    std::uint32_t i = position_[v] == not_queued ? size_++ : position_[v];
    const double kv = key_[v];
    while (i > 0) {
      const std::uint32_t parent = (i - 1) / 4;
      const node_index u = nodes_[parent];
      if (key_[u] <= kv) break;
      nodes_[i] = u;
      position_[u] = i;
      i = parent;
    }
    nodes_[i] = v;
    position_[v] = i;
  }

  node_index pop() {
    const node_index top = nodes_[0];
    position_[top] = not_queued;
    if (--size_ == 0) return top;
    const node_index last = nodes_[size_];
    const double kl = key_[last];
    std::uint32_t i = 0;
    for (;;) {
      const std::uint32_t first = 4 * i + 1;
      if (first >= size_) break;
      const std::uint32_t end = std::min(first + 4, size_);
      std::uint32_t best = first;
      double kb = key_[nodes_[first]];
      for (std::uint32_t c = first + 1; c < end; ++c) {
        const double kc = key_[nodes_[c]];
        if (kc < kb) {
          kb = kc;
          best = c;
        }
      }
      if (kb >= kl) break;
      nodes_[i] = nodes_[best];
      position_[nodes_[i]] = i;
      i = best;
    }
    nodes_[i] = last;
    position_[last] = i;
    return top;
  }

  // Leaves every node unqueued, for the next search.
  void clear() {
    for (std::uint32_t k = 0; k < size_; ++k) position_[nodes_[k]] = not_queued;
    size_ = 0;
  }

 private:
  node_index* nodes_;
  std::uint32_t* position_;
  const double* key_;
  std::uint32_t size_ = 0;
};

// Dijkstra from `origin` into label/pred, recording the settled order. With `targets`, stops once
// every node whose targets entry equals `stamp` is settled (`remaining` of them); labels of
// unsettled nodes are then only upper bounds.
void dijkstra(const network& net, node_index origin, std::span<const double> cost,
              std::vector<double>& label, std::vector<link_index>& pred,
              std::vector<node_index>& settled, std::vector<node_index>& heap_nodes,
              std::vector<std::uint32_t>& heap_position, const std::uint32_t* targets = nullptr,
              std::uint32_t stamp = 0, std::uint32_t remaining = 0) {
  std::fill(label.begin(), label.end(), infinity);
  std::fill(pred.begin(), pred.end(), no_link);
  settled.clear();
  node_heap heap(heap_nodes, heap_position, label.data());
  label[origin] = 0;
  heap.push_or_decrease(origin);
  const double* const c = cost.data();
  while (!heap.empty()) {
    const node_index u = heap.pop();
    settled.push_back(u);
    if (targets != nullptr && targets[u] == stamp && --remaining == 0) break;
    if (!net.may_leave(u, origin)) continue;
    const double d = label[u];
    for (const link_index l : net.out_links(u)) {
      if (net.closed(l)) continue;
      const node_index v = net.to(l);
      const double dv = d + c[l];
      if (dv < label[v]) {
        label[v] = dv;
        pred[v] = l;
        heap.push_or_decrease(v);
      }
    }
  }
  heap.clear();
}

}  // namespace

double shortest_path_cost(const network& net, node_index origin,
                          std::span<const destination_flow> destinations,
                          std::span<const double> link_cost, bush_workspace& ws,
                          double* unreachable_flow) {
  ws.prepare(net);
  if (++ws.stamp_ == 0) {  // wrapped: old marks could match again
    std::fill(ws.target_stamp_.begin(), ws.target_stamp_.end(), 0u);
    ws.stamp_ = 1;
  }
  const std::uint32_t stamp = ws.stamp_;
  std::uint32_t remaining = 0;
  for (const destination_flow& d : destinations) {
    if (ws.target_stamp_[d.destination] != stamp) {
      ws.target_stamp_[d.destination] = stamp;
      ++remaining;
    }
  }
  if (remaining == 0) return 0;
  dijkstra(net, origin, link_cost, ws.min_label_, ws.min_pred_, ws.settled_, ws.heap_nodes_,
           ws.heap_position_, ws.target_stamp_.data(), stamp, remaining);
  double sum = 0;
  for (const destination_flow& d : destinations) {
    const double c = ws.min_label_[d.destination];
    if (c == infinity) {
      if (unreachable_flow) *unreachable_flow += d.flow;
      continue;
    }
    sum += d.flow * c;
  }
  return sum;
}

void origin_bush::initialize(const network& net, node_index origin,
                             std::span<const destination_flow> destinations, link_state& links,
                             bush_workspace& ws) {
  ws.prepare(net);
  origin_ = origin;
  const std::uint32_t m = net.link_count();
  flow_.assign(m, 0.0);
  in_bush_.assign(m, 0);
  unassigned_flow_ = 0;

  auto& label = ws.min_label_;
  auto& pred = ws.min_pred_;
  dijkstra(net, origin, links.cost, label, pred, ws.settled_, ws.heap_nodes_, ws.heap_position_);

  // The shortest-path tree, plus every usable link that leads to a farther node.
  for (link_index l = 0; l < m; ++l) {
    const node_index i = net.from(l);
    const node_index j = net.to(l);
    if (net.closed(l) || j == origin_ || !net.may_leave(i, origin_)) continue;
    if (label[i] == infinity) continue;
    if (pred[j] == l || label[i] < label[j]) in_bush_[l] = 1;
  }

  // All or nothing on the tree, farthest node first.
  std::fill(ws.node_flow_.begin(), ws.node_flow_.end(), 0.0);
  for (const destination_flow& d : destinations) {
    if (label[d.destination] == infinity) {
      unassigned_flow_ += d.flow;
      continue;
    }
    ws.node_flow_[d.destination] += d.flow;
  }
  for (auto it = ws.settled_.rbegin(); it != ws.settled_.rend(); ++it) {
    const node_index j = *it;
    const double f = ws.node_flow_[j];
    if (j == origin_ || f == 0) continue;
    const link_index l = pred[j];
    flow_[l] += f;
    ws.node_flow_[net.from(l)] += f;
    links.set_flow(net, l, links.flow[l] + f);
  }
  rebuild_order(net, ws);
}

// Kahn's algorithm over the bush; also regroups the bush links by head node in that order.
void origin_bush::rebuild_order(const network& net, bush_workspace& ws) {
  auto& in_degree = ws.in_degree_;
  std::fill(in_degree.begin(), in_degree.end(), 0u);
  std::uint32_t bush_size = 0;
  for (link_index l = 0; l < net.link_count(); ++l) {
    if (in_bush_[l]) {
      ++in_degree[net.to(l)];
      ++bush_size;
    }
  }
  order_.clear();
  order_.push_back(origin_);
  for (std::size_t k = 0; k < order_.size(); ++k) {
    const node_index u = order_[k];
    for (const link_index l : net.out_links(u)) {
      if (!in_bush_[l]) continue;
      const node_index v = net.to(l);
      if (--in_degree[v] == 0) order_.push_back(v);
    }
  }
  bush_start_.resize(order_.size() + 1);
  bush_links_.clear();
  bush_links_.reserve(bush_size);
  bush_tails_.clear();
  bush_tails_.reserve(bush_size);
  for (std::size_t k = 0; k < order_.size(); ++k) {
    bush_start_[k] = static_cast<std::uint32_t>(bush_links_.size());
    for (const link_index l : net.in_links(order_[k]))
      if (in_bush_[l]) {
        bush_links_.push_back(l);
        bush_tails_.push_back(net.from(l));
      }
  }
  bush_start_[order_.size()] = static_cast<std::uint32_t>(bush_links_.size());
  // A link left out means a cycle or a link from a node the origin cannot reach: both are bugs.
  TWIN_CHECK_OP(bush_links_.size(), ==, bush_size);
}

// Shortest (L) and longest (U) path labels over the bush in topological order. With used_only,
// U follows only links that carry flow (the longest *used* path) and a node without inflow gets
// no max predecessor; otherwise U is over every bush link.
template <bool used_only>
origin_bush::label_summary origin_bush::compute_labels(const network& /*net*/,
                                                       std::span<const double> cost,
                                                       bush_workspace& ws) const {
  double* const L = ws.min_label_.data();
  double* const U = ws.max_label_.data();
  link_index* const min_pred = ws.min_pred_.data();
  link_index* const max_pred = ws.max_pred_.data();
  const double* const c = cost.data();
  const double* const flow = flow_.data();
  L[origin_] = 0;
  U[origin_] = 0;
  min_pred[origin_] = no_link;
  max_pred[origin_] = no_link;
  double difference_max = 0;
  double excess = 0;
  const std::size_t count = order_.size();
  for (std::size_t k = 1; k < count; ++k) {
    const node_index j = order_[k];
    double lmin = infinity;
    double umax = -infinity;
    link_index lp = no_link;
    link_index up = no_link;
    double inflow = 0;
    double inflow_cost = 0;
    for (std::uint32_t b = bush_start_[k]; b < bush_start_[k + 1]; ++b) {
      const link_index l = bush_links_[b];
      const node_index i = bush_tails_[b];
      const double cl = c[l];
      const double via_min = L[i] + cl;
      inflow += flow[l];
      inflow_cost += flow[l] * via_min;
      if (via_min < lmin) {
        lmin = via_min;
        lp = l;
      }
      // A used link counts only if flow reaches its tail: rounding can leave a trace of flow
      // on a link whose tail lost all its inflow, and such a path cannot be shifted.
      if (!used_only || (flow[l] > 0 && (i == origin_ || max_pred[i] != no_link))) {
        const double via_max = U[i] + cl;
        if (via_max > umax) {
          umax = via_max;
          up = l;
        }
      }
    }
    L[j] = lmin;
    min_pred[j] = lp;
    excess += inflow_cost - lmin * inflow;
    if (up == no_link) {
      U[j] = lmin;
      max_pred[j] = no_link;
    } else {
      U[j] = umax;
      max_pred[j] = up;
      difference_max = std::max(difference_max, umax - lmin);
    }
  }
  return {difference_max, excess};
}

bush_update_result origin_bush::update(const network& net, const link_state& links,
                                       bush_workspace& ws) {
  ws.prepare(net);
  compute_labels<false>(net, links.cost, ws);
  const auto& L = ws.min_label_;
  const auto& U = ws.max_label_;
  bush_update_result result;
  // An unused link that still lies on a shortest path stays: near equilibrium such ties are
  // common, and dropping them only to add them back makes flow oscillate between origins.
  auto& inflow = ws.node_flow_;
  inflow[origin_] = 1;
  for (std::size_t k = 1; k < order_.size(); ++k) {
    double sum = 0;
    for (std::uint32_t b = bush_start_[k]; b < bush_start_[k + 1]; ++b) {
      const link_index l = bush_links_[b];
      // Rounding can leave a trace of flow on a link whose tail lost all inflow: drop it.
      if (inflow[net.from(l)] == 0) flow_[l] = 0;
      sum += flow_[l];
    }
    inflow[order_[k]] = sum;
  }
  for (const link_index l : bush_links_) {
    if (flow_[l] <= 0 && ws.min_pred_[net.to(l)] != l &&
        L[net.from(l)] + links.cost[l] > L[net.to(l)]) {
      in_bush_[l] = 0;
      flow_[l] = 0;
      ++result.links_removed;
    }
  }
  // Nodes off the bush are unreachable from the origin: position_ marks the reachable ones.
  auto& reachable = ws.in_degree_;
  std::fill(reachable.begin(), reachable.end(), 0u);
  for (const node_index n : order_) reachable[n] = 1;
  const double* const c = links.cost.data();
  for (link_index l = 0; l < net.link_count(); ++l) {
    if (in_bush_[l] || net.closed(l)) continue;
    const node_index i = net.from(l);
    const node_index j = net.to(l);
    if (j == origin_ || !reachable[i] || !net.may_leave(i, origin_)) continue;
    const bool shorter_longest = clearly_less(U[i] + c[l], U[j]);
    const bool shorter_shortest = clearly_less(L[i] + c[l], L[j]) && U[i] < U[j];
    if (shorter_longest || shorter_shortest) {
      in_bush_[l] = 1;
      ++result.links_added;
    }
  }
  if (result.links_added > 0) {
    rebuild_order(net, ws);
  } else if (result.links_removed > 0) {
    // Removing links keeps the order topological: only drop them from the grouped list.
    std::uint32_t kept = 0;
    for (std::size_t k = 0; k < order_.size(); ++k) {
      const std::uint32_t begin = bush_start_[k];
      const std::uint32_t end = bush_start_[k + 1];
      bush_start_[k] = kept;
      for (std::uint32_t b = begin; b < end; ++b)
        if (in_bush_[bush_links_[b]]) {
          bush_links_[kept] = bush_links_[b];
          bush_tails_[kept++] = bush_tails_[b];
        }
    }
    bush_start_[order_.size()] = kept;
    bush_links_.resize(kept);
    bush_tails_.resize(kept);
  }
  return result;
}

equilibrate_result origin_bush::equilibrate(const network& net, link_state& links,
                                            bush_workspace& ws,
                                            const equilibrate_options& options) {
  ws.prepare(net);
  for (std::uint32_t k = 0; k < order_.size(); ++k) ws.position_[order_[k]] = k;
  equilibrate_result result;
  do {
    const label_summary labels = compute_labels<true>(net, links.cost, ws);
    result.cost_difference_max = labels.difference_max;
    result.excess_cost = labels.excess_cost;
    if (result.passes >= options.passes_max) break;
    if (result.cost_difference_max <= options.cost_difference_min) break;
    ++result.passes;
    // Farthest node first: a shift at j also evens out the nodes its segments pass through.
    for (std::size_t k = order_.size() - 1; k > 0; --k) {
      const node_index j = order_[k];
      if (ws.max_pred_[j] == no_link || ws.max_pred_[j] == ws.min_pred_[j]) continue;
      if (ws.max_label_[j] - ws.min_label_[j] <= options.cost_difference_min) continue;
      if (shift_at(net, j, links, ws)) ++result.shifts;
    }
  } while (result.passes < options.passes_max);
  return result;
}

// Moves flow at node j from its longest used path segment to its shortest one, back to the node
// where they part. The step is Newton's on the cost difference, capped by the flow available.
bool origin_bush::shift_at(const network& net, node_index j, link_state& links,
                           bush_workspace& ws) {
  const link_index* const min_pred = ws.min_pred_.data();
  const link_index* const max_pred = ws.max_pred_.data();
  const std::uint32_t* const position = ws.position_.data();
  const double* const cost = links.cost.data();
  const double* const derivative = links.derivative.data();
  link_index* const min_segment = ws.min_segment_.data();
  link_index* const max_segment = ws.max_segment_.data();
  std::uint32_t min_count = 0;
  std::uint32_t max_count = 0;
  double min_cost = 0, max_cost = 0, slope = 0;
  double available = infinity;
  link_index max_bottleneck = no_link;

  node_index a = j;  // walks the shortest path back
  node_index b = j;  // walks the longest used path back
  do {
    if (position[a] >= position[b]) {
      const link_index l = min_pred[a];
      min_segment[min_count++] = l;
      min_cost += cost[l];
      slope += derivative[l];
      a = net.from(l);
    } else {
      const link_index l = max_pred[b];
      if (l == no_link) return false;  // inflow vanished in an earlier shift of this pass
      max_segment[max_count++] = l;
      max_cost += cost[l];
      slope += derivative[l];
      if (flow_[l] < available) {
        available = flow_[l];
        max_bottleneck = l;
      }
      b = net.from(l);
    }
  } while (a != b || max_count == 0);
  // The loop stops only once both walks met again; an empty shortest segment cannot happen since
  // min_pred != max_pred at j.
  const double difference = max_cost - min_cost;
  if (!(difference > 0) || !(available > 0)) return false;
  double step = slope > 0 ? difference / slope : available;
  if (step >= available) step = available;
  for (std::uint32_t s = 0; s < max_count; ++s) {
    const link_index l = max_segment[s];
    const double f = (l == max_bottleneck && step == available) ? 0.0 : flow_[l] - step;
    flow_[l] = f > 0 ? f : 0.0;
    const double x = links.flow[l] - step;
    links.set_flow(net, l, x > 0 ? x : 0.0);
  }
  for (std::uint32_t s = 0; s < min_count; ++s) {
    const link_index l = min_segment[s];
    flow_[l] += step;
    links.set_flow(net, l, links.flow[l] + step);
  }
  return true;
}

void origin_bush::blend(std::span<const double> previous, double step) {
  TWIN_CHECK_OP(previous.size(), ==, flow_.size());
  TWIN_CHECK(step >= 0 && step <= 1);
  for (link_index l = 0; l < flow_.size(); ++l) {
    if (!in_bush_[l]) {
      flow_[l] = 0;
      continue;
    }
    const double f = previous[l] + step * (flow_[l] - previous[l]);
    flow_[l] = f > 0 ? f : 0.0;
  }
}

bool origin_bush::uses_closed_link(const network& net) const {
  for (const link_index l : bush_links_)
    if (net.closed(l)) return true;
  return false;
}

}  // namespace twin::assign
