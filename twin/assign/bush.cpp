#include "twin/assign/bush.hpp"

#include <algorithm>
#include <bit>
#include <functional>
#include <limits>

#include "twin/base/check.hpp"

namespace twin::assign {

namespace {

constexpr double infinity = std::numeric_limits<double>::infinity();
constexpr std::uint32_t not_queued = UINT32_MAX;
constexpr std::uint32_t no_slot = UINT32_MAX;
// in_bush_ values. A link update() removes may qualify to join again in the same update: it is
// only marked until the additions are known.
constexpr std::uint8_t in_bush = 1;
constexpr std::uint8_t removed_now = 2;
// A repaired bush splits the flow of a closed link in this many parts over the remaining ways.
constexpr std::uint32_t repair_parts = 8;

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
  min_slot_.assign(n, no_slot);
  max_slot_.assign(n, no_slot);
  position_.assign(n, 0);
  target_stamp_.assign(n, 0);
  stamp_ = 0;
  in_degree_.assign(n, 0);
  settled_.clear();
  settled_.reserve(n);
  queue_.clear();
  queue_.reserve(n);
  heap_entries_.assign(n, {});
  heap_position_.assign(n, not_queued);
  min_segment_.assign(n, no_slot);
  max_segment_.assign(n, no_slot);
  candidates_.assign(n, 0);
  closed_inflow_.assign(n, 0.0);
}

namespace {

// A 4-ary min-heap of nodes keyed by their label, with decrease-key: it never holds more than one
// entry per node, which keeps it small and shallow. Each entry carries its key, so that sifting
// compares without a second indirection.
class node_heap {
 public:
  node_heap(std::vector<heap_entry>& entries, std::vector<std::uint32_t>& position)
      : entries_(entries.data()), position_(position.data()) {}

  bool empty() const { return size_ == 0; }
  double top_key() const { return entries_[0].key; }

  void push_or_decrease(node_index v, double kv) {
    std::uint32_t i = position_[v] == not_queued ? size_++ : position_[v];
    while (i > 0) {
      const std::uint32_t parent = (i - 1) / 4;
      const heap_entry up = entries_[parent];
      if (up.key <= kv) break;
      entries_[i] = up;
      position_[up.node] = i;
      i = parent;
    }
    entries_[i] = {kv, v};
    position_[v] = i;
  }

  node_index pop() {
    const node_index top = entries_[0].node;
    position_[top] = not_queued;
    if (--size_ == 0) return top;
    const heap_entry last = entries_[size_];
    std::uint32_t i = 0;
    for (;;) {
      const std::uint32_t first = 4 * i + 1;
      if (first >= size_) break;
      const std::uint32_t end = std::min(first + 4, size_);
      std::uint32_t best = first;
      double kb = entries_[first].key;
      for (std::uint32_t c = first + 1; c < end; ++c) {
        if (entries_[c].key < kb) {
          kb = entries_[c].key;
          best = c;
        }
      }
      if (kb >= last.key) break;
      entries_[i] = entries_[best];
      position_[entries_[i].node] = i;
      i = best;
    }
    entries_[i] = last;
    position_[last.node] = i;
    return top;
  }

  // Leaves every node unqueued, for the next search.
  void clear() {
    for (std::uint32_t k = 0; k < size_; ++k) position_[entries_[k].node] = not_queued;
    size_ = 0;
  }

 private:
  heap_entry* entries_;
  std::uint32_t* position_;
  std::uint32_t size_ = 0;
};

// Dijkstra from `origin` into label and pred, recording the settled order.
void dijkstra(const network& net, node_index origin, std::span<const double> cost,
              std::vector<double>& label, std::vector<link_index>& pred,
              std::vector<node_index>& settled, std::vector<heap_entry>& heap_entries,
              std::vector<std::uint32_t>& heap_position) {
  std::fill(label.begin(), label.end(), infinity);
  std::fill(pred.begin(), pred.end(), no_link);
  settled.clear();
  node_heap heap(heap_entries, heap_position);
  double* const d_label = label.data();
  link_index* const d_pred = pred.data();
  d_label[origin] = 0;
  heap.push_or_decrease(origin, 0.0);
  const double* const c = cost.data();
  while (!heap.empty()) {
    const node_index u = heap.pop();
    settled.push_back(u);
    if (!net.may_leave(u, origin)) continue;
    const double d = d_label[u];
    for (const network::arc a : net.open_out_arcs(u)) {
      const double dv = d + c[a.link];
      if (dv < d_label[a.to]) {
        d_label[a.to] = dv;
        d_pred[a.to] = a.link;
        heap.push_or_decrease(a.to, dv);
      }
    }
  }
  heap.clear();
}

// Shortest-path labels from `origin` into `label`, exact at least at the nodes marked with
// `stamp` in `targets` (the others may be left as upper bounds). Nodes that paths may not pass
// through (zones other than the origin) never enter the heap: nothing leaves them, so a label
// there is final once no queued node is shorter. Zones are often half of the nodes, and most of
// the destinations: the heap stays smaller and shallower.
void search_targets(const network& net, node_index origin, std::span<const double> cost,
                    std::span<const destination_flow> destinations, const std::uint32_t* targets,
                    std::uint32_t stamp, std::vector<double>& label,
                    std::vector<heap_entry>& heap_entries,
                    std::vector<std::uint32_t>& heap_position) {
  std::fill(label.begin(), label.end(), infinity);
  // Targets that paths may pass through are final once settled, the others once the heap holds
  // nothing shorter than the longest of them.
  std::uint32_t through_remaining = 0;
  for (const destination_flow& d : destinations)
    if (targets[d.destination] == stamp && net.may_leave(d.destination, origin))
      ++through_remaining;
  double zone_bound = -1;  // the longest zone target's label, once every through one is settled
  node_heap heap(heap_entries, heap_position);
  double* const d_label = label.data();
  d_label[origin] = 0;
  heap.push_or_decrease(origin, 0.0);
  const double* const c = cost.data();
  while (!heap.empty()) {
    if (through_remaining == 0) {
      if (zone_bound < 0) {
        // Labels only fall from here on: the bound stays safe.
        zone_bound = 0;
        for (const destination_flow& d : destinations)
          zone_bound = std::max(zone_bound, d_label[d.destination]);
      }
      if (heap.top_key() >= zone_bound) break;
    }
    const node_index u = heap.pop();
    if (targets[u] == stamp) --through_remaining;
    const double d = d_label[u];
    for (const network::arc a : net.open_out_arcs(u)) {
      const double dv = d + c[a.link];
      if (dv < d_label[a.to]) {
        d_label[a.to] = dv;
        if (net.may_leave(a.to, origin)) heap.push_or_decrease(a.to, dv);
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
  for (const destination_flow& d : destinations) ws.target_stamp_[d.destination] = stamp;
  if (destinations.empty()) return 0;
  search_targets(net, origin, link_cost, destinations, ws.target_stamp_.data(), stamp,
                 ws.min_label_, ws.heap_entries_, ws.heap_position_);
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
  dijkstra(net, origin, links.cost, label, pred, ws.settled_, ws.heap_entries_, ws.heap_position_);

  // The shortest-path tree, plus every usable link that leads to a farther node; counted as
  // order_bush() wants them.
  auto& in_degree = ws.in_degree_;
  std::fill(in_degree.begin(), in_degree.end(), 0u);
  auto& members = ws.next_links_;
  members.clear();
  for (link_index l = 0; l < m; ++l) {
    const node_index i = net.from(l);
    const node_index j = net.to(l);
    if (net.closed(l) || j == origin_ || !net.may_leave(i, origin_)) continue;
    if (label[i] == infinity) continue;
    if (pred[j] == l || label[i] < label[j]) {
      in_bush_[l] = 1;
      ++in_degree[j];
      members.push_back(l);
    }
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
  order_bush(net, ws);
}

// Kahn's algorithm over the bush; also regroups the bush links by head node in that order.
void origin_bush::rebuild_order(const network& net, bush_workspace& ws) {
  auto& in_degree = ws.in_degree_;
  std::fill(in_degree.begin(), in_degree.end(), 0u);
  auto& members = ws.next_links_;
  members.clear();
  for (link_index l = 0; l < net.link_count(); ++l) {
    if (in_bush_[l]) {
      ++in_degree[net.to(l)];
      members.push_back(l);
    }
  }
  order_bush(net, ws);
}

// Kahn's algorithm from the bush's links (ws.next_links_, ascending) and the in-degree they give
// each node (ws.in_degree_).
void origin_bush::order_bush(const network& net, bush_workspace& ws) {
  auto& in_degree = ws.in_degree_;
  const auto& members = ws.next_links_;
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
  regroup(net, ws);
  // A link left out means a cycle or a link from a node the origin cannot reach: both are bugs.
  TWIN_CHECK_OP(bush_links_.size(), ==, members.size());
}

namespace {

// Sorts the positions of `order` by label[order[position]], equal labels in position order, into
// `sorted`. A comparison sort of labels in nearly random order mispredicts about every other
// comparison; an LSD radix sort has no data-dependent branch, and being stable it keeps ties in
// order without comparing. It sorts by the labels rounded to float (monotone: it never inverts
// two labels, only merges close ones), on 32 bits instead of 64, and a final insertion pass puts
// the rare merged labels in their exact order.
void sort_by_label(const double* label, std::span<const node_index> order,
                   std::vector<label_key>& keyed, std::vector<label_key>& other,
                   std::vector<std::uint32_t>& sorted) {
  constexpr std::uint32_t digits = 4;
  const std::uint32_t count = static_cast<std::uint32_t>(order.size());
  keyed.resize(count);
  other.resize(count);
  std::uint32_t histogram[digits][256] = {};
  for (std::uint32_t k = 0; k < count; ++k) {
    const double u = label[order[k]];
    TWIN_CHECK(u >= 0);  // so that the bits of the key order as the values do
    const float rounded = static_cast<float>(u);
    // +0 and -0 are equal: one key for both.
    const std::uint32_t key = rounded == 0 ? 0 : std::bit_cast<std::uint32_t>(rounded);
    keyed[k] = {key, k};
    for (std::uint32_t d = 0; d < digits; ++d) ++histogram[d][(key >> (8 * d)) & 0xff];
  }
  for (std::uint32_t d = 0; d < digits; ++d) {
    const std::uint32_t shift = 8 * d;
    std::uint32_t* const h = histogram[d];
    // A digit that every key shares moves nothing.
    if (h[(keyed[0].key >> shift) & 0xff] == count) continue;
    std::uint32_t sum = 0;
    for (std::uint32_t v = 0; v < 256; ++v) {
      const std::uint32_t n = h[v];
      h[v] = sum;
      sum += n;
    }
    for (const label_key& e : keyed) other[h[(e.key >> shift) & 0xff]++] = e;
    keyed.swap(other);
  }
  const auto before = [&](const label_key& a, const label_key& b) {
    const double ua = label[order[a.position]];
    const double ub = label[order[b.position]];
    return ua < ub || (ua == ub && a.position < b.position);
  };
  for (std::uint32_t k = 1; k < count; ++k) {
    const label_key e = keyed[k];
    std::uint32_t j = k;
    for (; j > 0 && keyed[j - 1].key == e.key && before(e, keyed[j - 1]); --j)
      keyed[j] = keyed[j - 1];
    keyed[j] = e;
  }
  for (std::uint32_t k = 0; k < count; ++k) sorted[k] = keyed[k].position;
}

}  // namespace

// After links were added by update(): every bush link (i, j) has U_i <= U_j, with equality only
// where i already came before j, and every added one has U_i < U_j. A stable sort by U is thus a
// topological order again, found without a pass over the whole network. The current order stays
// one, unsorted, when every added link goes forward in it. The link groups then move with their
// head nodes and the added links join them.
void origin_bush::reorder_by_longest(const network& net, bush_workspace& ws) {
  const double* const U = ws.max_label_.data();
  const std::uint32_t count = static_cast<std::uint32_t>(order_.size());
  // Old group of each node, by its old position.
  std::uint32_t* const position = ws.position_.data();
  for (std::uint32_t k = 0; k < count; ++k) position[order_[k]] = k;
  const auto& added = ws.added_;
  // Most updates add only links that go forward in the current order already: it stays
  // topological and needs no sorting.
  bool order_holds = true;
  for (const link_index l : added) {
    if (position[net.from(l)] > position[net.to(l)]) {
      order_holds = false;
      break;
    }
  }
  // Old positions in the new order: sorted by U, ties in their old order (the origin stays
  // first: U = 0 is the least label, and a tie keeps its old position 0 first).
  auto& sorted = ws.sorted_;
  sorted.resize(count);
  for (std::uint32_t k = 0; k < count; ++k) sorted[k] = k;
  if (!order_holds) sort_by_label(U, order_, ws.keyed_, ws.keyed_other_, sorted);

  // Added links grouped by head: counted per head node in in_degree_ (free here), then placed
  // right after the links their head keeps.
  std::uint32_t* const added_next = ws.in_degree_.data();
  for (std::uint32_t k = 0; k < count; ++k) added_next[order_[k]] = 0;
  for (const link_index l : added) ++added_next[net.to(l)];

  auto& start = ws.next_start_;
  auto& links = ws.next_links_;
  auto& tails = ws.next_tails_;
  auto& flow = ws.next_flow_;
  const std::size_t size_max = bush_links_.size() + added.size();
  start.resize(count + 1);
  links.resize(size_max);
  tails.resize(size_max);
  flow.resize(size_max);
  auto& next_order = ws.next_order_;
  next_order.resize(count);
  std::uint32_t out = 0;
  for (std::uint32_t k = 0; k < count; ++k) {
    const std::uint32_t old = sorted[k];
    const node_index v = order_[old];
    next_order[k] = v;
    start[k] = out;
    for (std::uint32_t b = bush_start_[old]; b < bush_start_[old + 1]; ++b) {
      if (in_bush_[bush_links_[b]] != in_bush) continue;  // removed by this update
      links[out] = bush_links_[b];
      tails[out] = bush_tails_[b];
      flow[out++] = bush_flow_[b];
    }
    const std::uint32_t added_count = added_next[v];
    added_next[v] = out;
    out += added_count;
  }
  start[count] = out;
  for (const link_index l : added) {
    const std::uint32_t slot = added_next[net.to(l)]++;
    links[slot] = l;
    tails[slot] = net.from(l);
    flow[slot] = flow_[l];
  }
  order_.swap(next_order);
  bush_start_.swap(start);
  bush_links_.swap(links);
  bush_tails_.swap(tails);
  bush_flow_.swap(flow);
  bush_links_.resize(out);
  bush_tails_.resize(out);
  bush_flow_.resize(out);

  for (std::uint32_t k = 0; k < count; ++k) position[order_[k]] = k;
  for (std::uint32_t b = 0; b < out; ++b)
    TWIN_CHECK_OP(position[bush_tails_[b]], <, position[net.to(bush_links_[b])]);
}

// Groups the bush links (ws.next_links_, ascending) by head node in the order of order_, each
// group in ascending link order: a counting sort by the head's position, which reads only the
// bush's links. Links whose head is not in order_ are left out.
void origin_bush::regroup(const network& net, bush_workspace& ws) {
  const auto& members = ws.next_links_;
  const std::uint32_t count = static_cast<std::uint32_t>(order_.size());
  std::uint32_t* const position = ws.position_.data();
  std::fill(ws.position_.begin(), ws.position_.end(), no_slot);
  for (std::uint32_t k = 0; k < count; ++k) position[order_[k]] = k;
  bush_start_.assign(count + 1, 0);
  for (const link_index l : members) {
    const std::uint32_t p = position[net.to(l)];
    if (p != no_slot) ++bush_start_[p + 1];
  }
  for (std::uint32_t k = 0; k < count; ++k) bush_start_[k + 1] += bush_start_[k];
  auto& next = ws.next_start_;
  next.assign(bush_start_.begin(), bush_start_.end() - 1);
  const std::uint32_t size = bush_start_[count];
  bush_links_.resize(size);
  bush_tails_.resize(size);
  bush_flow_.resize(size);
  for (const link_index l : members) {
    const std::uint32_t p = position[net.to(l)];
    if (p == no_slot) continue;
    const std::uint32_t slot = next[p]++;
    bush_links_[slot] = l;
    bush_tails_[slot] = net.from(l);
    bush_flow_[slot] = flow_[l];
  }
}

// Shortest (L) and longest (U) path labels over the bush in topological order. With used_only,
// U follows only links that carry flow (the longest *used* path) and a node without inflow gets
// no max predecessor and U = -infinity; otherwise U is over every bush link.
template <bool used_only>
origin_bush::label_summary origin_bush::compute_labels(const network& /*net*/,
                                                       std::span<const double> cost,
                                                       bush_workspace& ws,
                                                       double shift_difference_min) const {
  double* const L = ws.min_label_.data();
  double* const U = ws.max_label_.data();
  std::uint32_t* const min_slot = ws.min_slot_.data();
  std::uint32_t* const max_slot = ws.max_slot_.data();
  std::uint32_t* const candidates = ws.candidates_.data();
  std::uint32_t candidate_count = 0;
  const double* const c = cost.data();
  const double* const flow = bush_flow_.data();
  const link_index* const links = bush_links_.data();
  const node_index* const tails = bush_tails_.data();
  // Local copies: the label stores could alias the members as far as the compiler knows.
  const std::uint32_t* const start = bush_start_.data();
  const node_index* const order = order_.data();
  const node_index origin = origin_;
  L[origin] = 0;
  U[origin] = 0;
  min_slot[origin] = no_slot;
  max_slot[origin] = no_slot;
  double difference_max = 0;
  double excess = 0;
  const std::size_t count = order_.size();
  std::uint32_t b = start[1];
  for (std::size_t k = 1; k < count; ++k) {
    const node_index j = order[k];
    const std::uint32_t end = start[k + 1];
    if (end - b == 1) {
      // Most nodes have a single in-link: both labels follow it, the node adds no excess (its
      // inflow is all on its shortest path) and it is no candidate. The general loop below gives
      // the same values, with more work.
      const node_index i = tails[b];
      const double cl = c[links[b]];
      const double lmin = L[i] + cl;
      const double via_max = U[i] + cl;
      L[j] = lmin;
      min_slot[j] = b;
      if ((!used_only || flow[b] > 0) && via_max > -infinity) {
        U[j] = via_max;
        max_slot[j] = b;
        difference_max = std::max(difference_max, via_max - lmin);
      } else {
        U[j] = used_only ? -infinity : lmin;
        max_slot[j] = no_slot;
      }
      ++b;
      continue;
    }
    double lmin = infinity;
    double umax = -infinity;
    std::uint32_t lp = no_slot;
    std::uint32_t up = no_slot;
    double inflow = 0;
    double inflow_cost = 0;
    for (; b < end; ++b) {
      const node_index i = tails[b];
      const double cl = c[links[b]];
      const double f = flow[b];
      const double via_min = L[i] + cl;
      inflow += f;
      inflow_cost += f * via_min;
      if (via_min < lmin) {
        lmin = via_min;
        lp = b;
      }
      // A used link counts only if flow reaches its tail: rounding can leave a trace of flow
      // on a link whose tail lost all its inflow, and such a path cannot be shifted. Such tails
      // have U = -infinity (below), which no via_max passes.
      if (!used_only || f > 0) {
        const double via_max = U[i] + cl;
        if (via_max > umax) {
          umax = via_max;
          up = b;
        }
      }
    }
    L[j] = lmin;
    min_slot[j] = lp;
    excess += inflow_cost - lmin * inflow;
    if (up == no_slot) {
      // Without used inflow there is no longest used path; unused labels want the shortest.
      U[j] = used_only ? -infinity : lmin;
      max_slot[j] = no_slot;
    } else {
      U[j] = umax;
      max_slot[j] = up;
      const double difference = umax - lmin;
      difference_max = std::max(difference_max, difference);
      // Where a shift pass has work to do, listed as the labels are set (they do not change
      // during the pass), so that the pass need not scan every node again.
      if (used_only && up != lp && difference > shift_difference_min)
        candidates[candidate_count++] = static_cast<std::uint32_t>(k);
    }
  }
  return {difference_max, excess, candidate_count};
}

bush_update_result origin_bush::update(const network& net, const link_state& links,
                                       bush_workspace& ws) {
  ws.prepare(net);
  compute_labels<false>(net, links.cost, ws, 0);
  const auto& L = ws.min_label_;
  const auto& U = ws.max_label_;
  bush_update_result result;
  // An unused link that still lies on a shortest path stays: near equilibrium such ties are
  // common, and dropping them only to add them back makes flow oscillate between origins.
  auto& inflow = ws.node_flow_;
  inflow[origin_] = 1;
  const double* const c = links.cost.data();
  for (std::size_t k = 1; k < order_.size(); ++k) {
    const node_index j = order_[k];
    const std::uint32_t min_slot = ws.min_slot_[j];
    double sum = 0;
    for (std::uint32_t b = bush_start_[k]; b < bush_start_[k + 1]; ++b) {
      const link_index l = bush_links_[b];
      const node_index i = bush_tails_[b];
      // Rounding can leave a trace of flow on a link whose tail lost all inflow: drop it.
      if (inflow[i] == 0) {
        bush_flow_[b] = 0;
        flow_[l] = 0;
      }
      sum += bush_flow_[b];
      if (bush_flow_[b] <= 0 && min_slot != b && L[i] + c[l] > L[j]) {
        in_bush_[l] = removed_now;
        flow_[l] = 0;
        ++result.links_removed;
      }
    }
    inflow[j] = sum;
  }
  // Nodes off the bush are unreachable from the origin (see below for the exception): mark the
  // rest.
  auto& reachable = ws.in_degree_;
  std::fill(reachable.begin(), reachable.end(), 0u);
  for (const node_index n : order_) reachable[n] = 1;
  ws.added_.clear();
  bool reaches_new_node = false;
  for (link_index l = 0; l < net.link_count(); ++l) {
    if (in_bush_[l] == in_bush || net.closed(l)) continue;
    const node_index i = net.from(l);
    const node_index j = net.to(l);
    if (j == origin_ || !reachable[i] || !net.may_leave(i, origin_)) continue;
    if (!reachable[j]) {
      // Only after a warm start that opened a link: j has no labels yet.
      TWIN_CHECK_OP(in_bush_[l], ==, 0);
      in_bush_[l] = 1;
      ++result.links_added;
      reaches_new_node = true;
      continue;
    }
    const bool shorter_longest = clearly_less(U[i] + c[l], U[j]);
    const bool shorter_shortest = clearly_less(L[i] + c[l], L[j]) && U[i] < U[j];
    if (shorter_longest || shorter_shortest) {
      if (in_bush_[l] == removed_now) {
        --result.links_removed;  // still in the grouped arrays
      } else {
        ws.added_.push_back(l);
        ++result.links_added;
      }
      in_bush_[l] = in_bush;
    }
  }
  if (result.links_removed > 0)
    for (const link_index l : bush_links_)
      if (in_bush_[l] == removed_now) in_bush_[l] = 0;
  if (reaches_new_node) {
    rebuild_order(net, ws);
  } else if (result.links_added > 0) {
    reorder_by_longest(net, ws);
  } else if (result.links_removed > 0) {
    // Removing links keeps the order topological: only drop them from the grouped list.
    std::uint32_t kept = 0;
    for (std::size_t k = 0; k < order_.size(); ++k) {
      const std::uint32_t begin = bush_start_[k];
      const std::uint32_t end = bush_start_[k + 1];
      bush_start_[k] = kept;
      for (std::uint32_t b = begin; b < end; ++b)
        if (in_bush_[bush_links_[b]] == in_bush) {
          bush_links_[kept] = bush_links_[b];
          bush_tails_[kept] = bush_tails_[b];
          bush_flow_[kept++] = bush_flow_[b];
        }
    }
    bush_start_[order_.size()] = kept;
    bush_links_.resize(kept);
    bush_tails_.resize(kept);
    bush_flow_.resize(kept);
  }
  return result;
}

equilibrate_result origin_bush::equilibrate(const network& net, link_state& links,
                                            bush_workspace& ws,
                                            const equilibrate_options& options) {
  ws.prepare(net);
  bool positioned = false;
  equilibrate_result result;
  do {
    const label_summary labels =
        compute_labels<true>(net, links.cost, ws, options.cost_difference_min);
    result.cost_difference_max = labels.difference_max;
    result.excess_cost = labels.excess_cost;
    if (result.passes >= options.passes_max) break;
    if (result.cost_difference_max <= options.cost_difference_min) break;
    ++result.passes;
    if (labels.candidate_count == 0) break;  // nothing moves: the next labelling is the same
    // Only the segment walks need positions, and most labellings find nothing to shift.
    if (!positioned) {
      for (std::uint32_t k = 0; k < order_.size(); ++k) ws.position_[order_[k]] = k;
      positioned = true;
    }
    // Farthest node first: a shift at j also evens out the nodes its segments pass through.
    for (std::uint32_t c = labels.candidate_count; c-- > 0;) {
      if (shift_at(net, order_[ws.candidates_[c]], links, ws)) ++result.shifts;
    }
  } while (result.passes < options.passes_max);
  return result;
}

// Moves flow at node j from its longest used path segment to its shortest one, back to the node
// where they part. The step is Newton's on the cost difference, capped by the flow available.
bool origin_bush::shift_at(const network& net, node_index j, link_state& links,
                           bush_workspace& ws) {
  const std::uint32_t* const min_slot = ws.min_slot_.data();
  const std::uint32_t* const max_slot = ws.max_slot_.data();
  const std::uint32_t* const position = ws.position_.data();
  const double* const cost = links.cost.data();
  const double* const derivative = links.derivative.data();
  std::uint32_t* const min_segment = ws.min_segment_.data();
  std::uint32_t* const max_segment = ws.max_segment_.data();
  std::uint32_t min_count = 0;
  std::uint32_t max_count = 0;
  double min_cost = 0, max_cost = 0, slope = 0;
  double available = infinity;
  std::uint32_t max_bottleneck = no_slot;

  node_index a = j;  // walks the shortest path back
  node_index b = j;  // walks the longest used path back
  do {
    if (position[a] >= position[b]) {
      const std::uint32_t s = min_slot[a];
      const link_index l = bush_links_[s];
      min_segment[min_count++] = s;
      min_cost += cost[l];
      slope += derivative[l];
      a = bush_tails_[s];
    } else {
      const std::uint32_t s = max_slot[b];
      if (s == no_slot) return false;  // inflow vanished in an earlier shift of this pass
      const link_index l = bush_links_[s];
      max_segment[max_count++] = s;
      max_cost += cost[l];
      slope += derivative[l];
      if (bush_flow_[s] < available) {
        available = bush_flow_[s];
        max_bottleneck = s;
      }
      b = bush_tails_[s];
    }
  } while (a != b || max_count == 0);
  // The loop stops only once both walks met again; an empty shortest segment cannot happen since
  // min_slot != max_slot at j.
  const double difference = max_cost - min_cost;
  if (!(difference > 0) || !(available > 0)) return false;
  double step = slope > 0 ? difference / slope : available;
  if (step >= available) step = available;
  for (std::uint32_t k = 0; k < max_count; ++k) {
    const std::uint32_t s = max_segment[k];
    const link_index l = bush_links_[s];
    const double f = (s == max_bottleneck && step == available) ? 0.0 : bush_flow_[s] - step;
    bush_flow_[s] = flow_[l] = f > 0 ? f : 0.0;
    const double x = links.flow[l] - step;
    links.set_flow(net, l, x > 0 ? x : 0.0);
  }
  for (std::uint32_t k = 0; k < min_count; ++k) {
    const std::uint32_t s = min_segment[k];
    const link_index l = bush_links_[s];
    bush_flow_[s] = flow_[l] += step;
    links.set_flow(net, l, links.flow[l] + step);
  }
  return true;
}

void origin_bush::blend(std::span<const double> previous, double step) {
  TWIN_REQUIRE_OP(previous.size(), ==, flow_.size());
  TWIN_REQUIRE(step >= 0 && step <= 1);
  for (link_index l = 0; l < flow_.size(); ++l) {
    if (!in_bush_[l]) {
      flow_[l] = 0;
      continue;
    }
    const double f = previous[l] + step * (flow_[l] - previous[l]);
    flow_[l] = f > 0 ? f : 0.0;
  }
  for (std::uint32_t b = 0; b < bush_links_.size(); ++b) bush_flow_[b] = flow_[bush_links_[b]];
}

bool origin_bush::repair(const network& net, std::span<const destination_flow> destinations,
                         link_state& links, bush_workspace& ws) {
  ws.prepare(net);
  const std::span<const double> cost = links.cost;
  // Demand that could not be loaded before is not tracked per destination: start over.
  if (unassigned_flow_ > 0) return false;
  const std::uint32_t count = static_cast<std::uint32_t>(order_.size());
  std::uint32_t* const position = ws.position_.data();
  auto& in_order = ws.in_degree_;
  std::fill(in_order.begin(), in_order.end(), 0u);
  for (std::uint32_t k = 0; k < count; ++k) {
    position[order_[k]] = k;
    in_order[order_[k]] = 1;
  }
  for (const destination_flow& d : destinations)
    if (d.destination != origin_ && !in_order[d.destination]) return false;
  double* const closed_inflow = ws.closed_inflow_.data();
  for (const node_index n : order_) closed_inflow[n] = 0;
  // Every node keeps an in-link, so that every bush node stays reachable. A node that lost its
  // only ones gets every network in-link from an earlier node in the current order, which thus
  // stays topological. Without one, the node can only be reached through nodes that come after
  // it, which it may feed: the bush's shape no longer fits, and building it anew at the current
  // costs (all or nothing) converges sooner than turning it around by shifts.
  for (const link_index l : bush_links_) {
    if (net.closed(l)) {
      closed_inflow[net.to(l)] += flow_[l];
      links.set_flow(net, l, std::max(links.flow[l] - flow_[l], 0.0));
      in_bush_[l] = 0;
      flow_[l] = 0;
    }
  }
  for (std::uint32_t k = 1; k < count; ++k) {
    const node_index j = order_[k];
    bool reached = false;
    for (const link_index l : net.in_links(j)) reached = reached || in_bush_[l] == in_bush;
    if (reached) continue;
    for (const link_index l : net.in_links(j)) {
      const node_index i = net.from(l);
      if (net.closed(l) || !in_order[i] || position[i] >= k || !net.may_leave(i, origin_)) continue;
      in_bush_[l] = in_bush;
      flow_[l] = 0;
      reached = true;
    }
    if (!reached) return false;
  }
  rebuild_order(net, ws);

  // Reload the origin's demand, farthest node first: each node sends what it needs over its
  // in-links. What the remaining ones carried keeps its share; the closed links' share (or all of
  // it where no in-link carried any) goes in parts, each over the in-link cheapest once loaded
  // with it (path to the tail plus the link's cost at its new total flow), so that a small road
  // next to a closed arterial does not take all of the arterial's traffic. Flow that never passed
  // a closed link stays where it was.
  compute_labels<false>(net, cost, ws, 0);
  const double* const L = ws.min_label_.data();
  auto& need = ws.node_flow_;
  std::fill(need.begin(), need.end(), 0.0);
  for (const destination_flow& d : destinations)
    if (d.destination != origin_) need[d.destination] += d.flow;
  for (std::size_t k = order_.size() - 1; k > 0; --k) {
    const node_index j = order_[k];
    const double f = need[j];
    const std::uint32_t first = bush_start_[k];
    const std::uint32_t end = bush_start_[k + 1];
    double before = 0;
    for (std::uint32_t b = first; b < end; ++b) before += bush_flow_[b];
    const double inflow_before = before + closed_inflow[j];
    const double scale = f > 0 && inflow_before > 0 ? f / inflow_before : 0.0;
    double rest = f;
    for (std::uint32_t b = first; b < end; ++b) {
      const double x = bush_flow_[b] * scale;
      rest -= x;
      const link_index l = bush_links_[b];
      if (x != bush_flow_[b])
        links.set_flow(net, l, std::max(links.flow[l] + (x - bush_flow_[b]), 0.0));
      bush_flow_[b] = x;
    }
    if (rest > 0 && (closed_inflow[j] > 0 || !(inflow_before > 0))) {
      const double part = rest / repair_parts;
      for (std::uint32_t p = 0; p < repair_parts; ++p) {
        double best = infinity;
        std::uint32_t chosen = first;
        for (std::uint32_t b = first; b < end; ++b) {
          const link_index l = bush_links_[b];
          const double via = L[bush_tails_[b]] + net.cost(l, links.flow[l] + part);
          if (via < best) {
            best = via;
            chosen = b;
          }
        }
        const link_index l = bush_links_[chosen];
        bush_flow_[chosen] += part;
        links.set_flow(net, l, links.flow[l] + part);
      }
    }
    for (std::uint32_t b = first; b < end; ++b) {
      flow_[bush_links_[b]] = bush_flow_[b];
      need[bush_tails_[b]] += bush_flow_[b];
    }
  }
  return true;
}

bool origin_bush::uses_closed_link(const network& net) const {
  for (const link_index l : bush_links_)
    if (net.closed(l)) return true;
  return false;
}

}  // namespace twin::assign
