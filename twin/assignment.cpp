#include "twin/assignment.hpp"

#include <algorithm>
#include <chrono>

namespace twin::assign {

double beckmann_objective(const network& net, std::span<const double> link_flow) {
  double sum = 0;
  for (link_index l = 0; l < net.link_count(); ++l) sum += net.cost_integral(l, link_flow[l]);
  return sum;
}

gap_measure measure_gap(const network& net, const demand& trips, const link_state& links,
                        bush_workspace& ws) {
  gap_measure g;
  for (link_index l = 0; l < net.link_count(); ++l) g.tstt += links.flow[l] * links.cost[l];
  for (std::uint32_t o = 0; o < trips.origin_count(); ++o)
    g.sptt += shortest_path_cost(net, trips.origin(o), trips.destinations(o), links.cost, ws,
                                 &g.unreachable_flow);
  g.relative_gap = g.tstt > 0 ? (g.tstt - g.sptt) / g.tstt : 0.0;
  return g;
}

namespace {

// Total link flows as the sum of every bush's flows, in origin order: the incremental updates
// made while shifting drift by rounding, this does not.
void sum_bush_flows(const network& net, const std::vector<origin_bush>& bushes, link_state& links) {
  std::fill(links.flow.begin(), links.flow.end(), 0.0);
  for (const origin_bush& b : bushes) {
    const auto f = b.link_flows();
    for (link_index l = 0; l < net.link_count(); ++l) links.flow[l] += f[l];
  }
  links.refresh_costs(net);
}

bool warm_start_fits(const network& net, const demand& trips, const solution* warm) {
  if (warm == nullptr || warm->demand_fingerprint != trips.fingerprint()) return false;
  if (warm->bushes.size() != trips.origin_count()) return false;
  for (std::uint32_t o = 0; o < trips.origin_count(); ++o) {
    if (warm->bushes[o].origin() != trips.origin(o) ||
        warm->bushes[o].link_flows().size() != net.link_count())
      return false;
  }
  return true;
}

}  // namespace

solution solve(const network& net, const demand& trips, const solver_options& options,
               const solution* warm_start) {
  const auto start = std::chrono::steady_clock::now();
  const auto elapsed_ms = [&start] {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
  };
  solution out;
  out.demand_fingerprint = trips.fingerprint();
  out.intrazonal_flow = trips.intrazonal_flow();
  bush_workspace ws;
  ws.prepare(net);
  link_state links;
  links.reset(net);

  std::vector<std::uint32_t> to_build;
  if (warm_start_fits(net, trips, warm_start)) {
    out.warm_started = true;
    out.bushes = warm_start->bushes;
    for (std::uint32_t o = 0; o < trips.origin_count(); ++o) {
      if (out.bushes[o].uses_closed_link(net)) {
        out.bushes[o] = origin_bush{};
        to_build.push_back(o);
      }
    }
    out.origins_rebuilt = static_cast<std::uint32_t>(to_build.size());
    for (const origin_bush& b : out.bushes) {
      if (b.link_flows().empty()) continue;
      for (link_index l = 0; l < net.link_count(); ++l) links.flow[l] += b.link_flows()[l];
    }
    links.refresh_costs(net);
  } else {
    out.bushes.resize(trips.origin_count());
    for (std::uint32_t o = 0; o < trips.origin_count(); ++o) to_build.push_back(o);
  }
  // Each new bush loads its origin at the costs left by the ones before it.
  for (const std::uint32_t o : to_build)
    out.bushes[o].initialize(net, trips.origin(o), trips.destinations(o), links, ws);

  const double assigned_demand = [&] {
    double unassigned = 0;
    for (const origin_bush& b : out.bushes) unassigned += b.unassigned_flow();
    out.unassigned_flow = unassigned;
    return trips.total_flow() - unassigned;
  }();
  out.assigned_flow = assigned_demand;

  equilibrate_options inner;
  inner.passes_max = options.inner_passes_max;
  std::uint32_t iteration = 0;
  gap_measure gap;
  for (;;) {
    sum_bush_flows(net, out.bushes, links);
    gap = measure_gap(net, trips, links, ws);
    const double objective = beckmann_objective(net, links.flow);
    out.trace.push_back({iteration, gap.relative_gap, objective, gap.tstt, elapsed_ms()});
    if (gap.relative_gap <= options.relative_gap_target) {
      out.stop = stop_reason::gap_reached;
      break;
    }
    if (iteration >= options.iterations_max) {
      out.stop = stop_reason::iterations_max;
      break;
    }
    if (options.time_limit_ms > 0 && elapsed_ms() >= static_cast<double>(options.time_limit_ms)) {
      out.stop = stop_reason::time_limit;
      break;
    }
    ++iteration;
    const double mean_cost = assigned_demand > 0 ? gap.tstt / assigned_demand : 0.0;
    inner.cost_difference_min = options.inner_gap_fraction *
                                std::max(gap.relative_gap, options.relative_gap_target) * mean_cost;
    for (origin_bush& b : out.bushes) {
      // Equilibrating a bush can open shortcuts that were not shortcuts before it: look again.
      for (std::uint32_t round = 0; round < options.bush_rounds_max; ++round) {
        const auto changed = b.update(net, links, ws);
        if (round > 0 && changed.links_added == 0) break;
        b.equilibrate(net, links, ws, inner);
      }
    }
  }
  out.iterations = iteration;
  out.link_flow = links.flow;
  out.link_cost = links.cost;
  out.tstt = gap.tstt;
  out.sptt = gap.sptt;
  out.relative_gap = gap.relative_gap;
  out.objective = out.trace.back().objective;
  return out;
}

}  // namespace twin::assign
