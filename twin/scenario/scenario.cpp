#include "twin/scenario/scenario.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <span>
#include <utility>

#include "twin/assign/assignment.hpp"
#include "twin/assign/bpr.hpp"
#include "twin/base/check.hpp"

namespace twin {

namespace {

// A city (and a variant's perturbations) as the engine's network and demand.
struct model {
  std::vector<link> network;       // the city's links, then the variant's added ones
  std::vector<link_result> links;  // capacity, free speed, toll, closed: before solving
  std::vector<assign::link_spec> specs;
  std::vector<double> trips;  // per city.demand entry, perturbed
};

double free_flow_min(double length_m, double speed_kmh) {
  return length_m / 1000.0 / speed_kmh * 60.0;
}

bool matches(const perturbation& p, const city& c, const od_demand& od) {
  auto has = [](const auto& list, auto id) {
    return list.empty() || std::find(list.begin(), list.end(), id) != list.end();
  };
  return has(p.from_zones, od.from) && has(p.to_zones, od.to) &&
         has(p.from_districts, c.zones[od.from.value].district) &&
         has(p.to_districts, c.zones[od.to.value].district);
}

link_result before_solving(const link& l) {
  link_result r;
  r.capacity_veh_h = l.capacity_veh_h;
  r.free_speed_kmh = l.free_speed_kmh;
  return r;
}

void perturb(model& m, const city& c, const perturbation& p) {
  switch (p.kind) {
    case perturbation_kind::close:
      for (auto l : p.links) m.links[l.value].closed = true;
      break;
    case perturbation_kind::capacity:
      for (auto l : p.links) m.links[l.value].capacity_veh_h *= p.factor;
      break;
    case perturbation_kind::speed:
      for (auto l : p.links)
        m.links[l.value].free_speed_kmh =
            p.free_speed_kmh ? *p.free_speed_kmh : m.links[l.value].free_speed_kmh * p.factor;
      break;
    case perturbation_kind::toll:
      for (auto l : p.links) m.links[l.value].toll = p.toll;
      break;
    case perturbation_kind::demand:
      for (std::size_t i = 0; i < c.demand.size(); ++i)
        if (matches(p, c, c.demand[i])) m.trips[i] *= p.factor;
      break;
    case perturbation_kind::add_link: {
      link added = p.added;
      added.id = link_id{static_cast<std::uint32_t>(m.network.size())};
      m.network.push_back(added);
      m.links.push_back(before_solving(added));
      break;
    }
  }
}

model build_model(const city& c, const variant_spec* v) {
  model m;
  m.network = c.links;
  for (const auto& l : c.links) m.links.push_back(before_solving(l));
  m.trips.reserve(c.demand.size());
  for (const auto& od : c.demand) m.trips.push_back(od.trips_veh_h);
  if (v)
    for (const auto& p : v->perturbations) perturb(m, c, p);
  for (std::size_t l = 0; l < m.links.size(); ++l) {
    auto& r = m.links[l];
    if (r.capacity_veh_h <= 0) r.closed = true;
    if (r.closed) r.capacity_veh_h = 0;
    const auto& k = m.network[l];
    assign::link_spec s;
    s.from = k.from.value;
    s.to = k.to.value;
    s.capacity = r.capacity_veh_h;
    s.free_flow_time = free_flow_min(k.length_m, r.free_speed_kmh);
    s.b = bpr_b;
    s.power = bpr_power;
    s.toll = r.toll;
    s.length = k.length_m;
    m.specs.push_back(s);
  }
  return m;
}

// Cheapest paths from one node at the equilibrium's generalized costs, with the travel time along
// them. Ties are broken by node index, so the result is deterministic.
void cheapest_from(const assign::network& net, std::span<const double> cost,
                   std::span<const double> time, assign::node_index origin,
                   std::vector<double>& best, std::vector<double>& time_to) {
  const double inf = std::numeric_limits<double>::infinity();
  best.assign(net.node_count(), inf);
  time_to.assign(net.node_count(), inf);
  using entry = std::pair<double, assign::node_index>;
  std::priority_queue<entry, std::vector<entry>, std::greater<>> queue;
  best[origin] = 0;
  time_to[origin] = 0;
  queue.push({0.0, origin});
  while (!queue.empty()) {
    auto [d, i] = queue.top();
    queue.pop();
    if (d > best[i]) continue;
    for (auto l : net.out_links(i)) {
      if (net.closed(l)) continue;
      const auto j = net.to(l);
      const double nd = d + cost[l];
      if (nd < best[j]) {
        best[j] = nd;
        time_to[j] = time_to[i] + time[l];
        queue.push({nd, j});
      }
    }
  }
}

void add(measures& m, double flow, double length_m, double time_min, double free_min) {
  m.vkt += flow * length_m / 1000.0;
  m.vht += flow * time_min / 60.0;
  m.free_flow_vht += flow * free_min / 60.0;
}

void finish(measures& m) {
  m.mean_speed_kmh = m.vht > 0 ? m.vkt / m.vht : 0;
  m.congestion = m.free_flow_vht > 0 ? m.vht / m.free_flow_vht - 1 : 0;
}

// Travel time per OD pair along the cheapest paths at the equilibrium's costs, and the pairs a
// closure cut off.
void od_times(const city& c, const model& m, const assign::network& net,
              std::span<const double> cost, std::span<const double> time, network_result& r) {
  std::map<std::uint32_t, std::vector<std::size_t>> by_origin;
  for (std::size_t i = 0; i < c.demand.size(); ++i)
    if (m.trips[i] > 0) by_origin[c.zones[c.demand[i].from.value].centroid.value].push_back(i);
  std::vector<od_result> od(c.demand.size());
  std::vector<double> best, time_to;
  for (const auto& [origin, entries] : by_origin) {
    cheapest_from(net, cost, time, origin, best, time_to);
    for (auto i : entries) {
      const auto& d = c.demand[i];
      od[i] = {d.from, d.to, m.trips[i], std::nullopt};
      const auto dest = c.zones[d.to.value].centroid.value;
      if (std::isfinite(best[dest])) od[i].time_min = time_to[dest];
    }
  }
  for (std::size_t i = 0; i < c.demand.size(); ++i) {
    if (!(m.trips[i] > 0)) continue;
    r.demand_veh_h += m.trips[i];
    r.od.push_back(od[i]);
    if (!od[i].time_min) {
      r.disconnected.push_back(od[i]);
      r.unassigned_veh_h += m.trips[i];
    }
  }
  auto by_pair = [&](const od_result& a, const od_result& b) {
    return std::pair(c.zones[a.from.value].number, c.zones[a.to.value].number) <
           std::pair(c.zones[b.from.value].number, c.zones[b.to.value].number);
  };
  std::sort(r.od.begin(), r.od.end(), by_pair);
  std::sort(r.disconnected.begin(), r.disconnected.end(), by_pair);
}

struct solved {
  network_result result;
  assign::solution solution;
};

solved solve_model(const city& c, const model& m, const scenario_spec& spec,
                   const run_options& options, const assign::solution* warm) {
  assign::cost_weights weights;
  if (spec.value_of_time_per_h > 0) weights.toll_factor = 60.0 / spec.value_of_time_per_h;
  // Closed links keep their index with capacity 0, so that the network keeps its shape and a
  // variant with closures can still warm-start from the baseline.
  auto net =
      assign::network::build(static_cast<std::uint32_t>(c.nodes.size()), 0, m.specs, weights);
  std::vector<assign::od_flow> flows;
  for (std::size_t i = 0; i < c.demand.size(); ++i) {
    const auto& od = c.demand[i];
    if (!(m.trips[i] > 0)) continue;
    flows.push_back(
        {c.zones[od.from.value].centroid.value, c.zones[od.to.value].centroid.value, m.trips[i]});
  }
  auto trips = assign::demand::build(*net, flows);

  assign::solver_options so;
  so.relative_gap_target = options.relative_gap ? *options.relative_gap : spec.relative_gap;
  so.iterations_max = spec.iterations_max;
  so.workers = 1;

  solved out;
  const auto start = std::chrono::steady_clock::now();
  if (options.solver) {
    // Zones without a known district share one extra part.
    const auto no_district = static_cast<std::uint32_t>(c.districts.size());
    std::vector<std::uint32_t> district_of_node(c.nodes.size(), no_district);
    for (const auto& z : c.zones)
      if (z.district.value < no_district) district_of_node[z.centroid.value] = z.district.value;
    std::vector<std::uint32_t> part_of_origin(trips->origin_count());
    for (std::uint32_t o = 0; o < trips->origin_count(); ++o)
      part_of_origin[o] = district_of_node[trips->origin(o)];
    out.solution = options.solver(*net, *trips, so, std::move(part_of_origin), warm);
  } else {
    out.solution = assign::solve(*net, *trips, so, warm);
  }
  auto& r = out.result;
  r.solve_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  const auto& sol = out.solution;
  r.iterations = sol.iterations;
  r.relative_gap = sol.relative_gap;
  r.gap_reached = sol.stop == assign::stop_reason::gap_reached;
  r.warm_started = sol.warm_started;
  r.tstt_veh_h = sol.tstt / 60.0;
  r.intrazonal_veh_h = sol.intrazonal_flow;

  r.links = m.links;
  r.districts.assign(c.districts.size(), measures{});
  std::vector<double> time(m.links.size(), 0);
  for (std::size_t l = 0; l < m.links.size(); ++l) {
    auto& lr = r.links[l];
    const double free_min = m.specs[l].free_flow_time;
    lr.flow_veh_h = lr.closed ? 0 : sol.link_flow[l];
    if (lr.closed) {
      lr.time_min = free_min;
      lr.vc = 0;
    } else {
      const double ratio = lr.flow_veh_h / lr.capacity_veh_h;
      lr.time_min = free_min * bpr_time_ratio(lr.flow_veh_h, lr.capacity_veh_h);
      lr.vc = ratio;
    }
    const auto& k = m.network[l];
    lr.speed_kmh = k.length_m / 1000.0 / (lr.time_min / 60.0);
    time[l] = lr.time_min;
    add(r.city, lr.flow_veh_h, k.length_m, lr.time_min, free_min);
    if (k.district.valid() && k.district.value < r.districts.size())
      add(r.districts[k.district.value], lr.flow_veh_h, k.length_m, lr.time_min, free_min);
  }
  finish(r.city);
  for (auto& d : r.districts) finish(d);

  od_times(c, m, *net, sol.link_cost, time, r);
  return out;
}

}  // namespace

namespace {

// The links of a solved network as the environment sees them.
std::vector<env::link_traffic> traffic_of(const city& c, const std::vector<link>& network,
                                          const network_result& n) {
  TWIN_CHECK_OP(network.size(), ==, n.links.size());
  std::vector<env::link_traffic> out;
  out.reserve(n.links.size());
  for (std::size_t l = 0; l < n.links.size(); ++l) {
    const auto& r = n.links[l];
    const auto& k = network[l];
    env::link_traffic t{c.nodes[k.from.value].position, c.nodes[k.to.value].position, k.length_m,
                        k.district};
    t.flow_veh_h = r.closed ? 0 : r.flow_veh_h;
    t.speed_kmh = r.closed ? 0 : r.speed_kmh;
    out.push_back(t);
  }
  return out;
}

// The live base: the bundle's own equilibrium first, whose flows the demand factor is fitted to.
// The snapshot was checked against this bundle when it was attached to the scenario.
std::pair<live_base, solved> fork_live(const scenario& s, const run_options& options) {
  auto bundle = solve_model(s.base, build_model(s.base, nullptr), s.spec, options, nullptr);
  std::vector<double> flows;
  for (const auto& l : bundle.result.links) flows.push_back(l.flow_veh_h);
  auto live = apply_live_base(s.base, *s.live, flows, s.live_options);
  return {std::move(live.value()), std::move(bundle)};
}

// A variant: solved (or the baseline's traffic when it changes the environment only), its
// environment, and its comparison with the baseline.
variant_result run_variant(const variant_spec& v, const city& base_city, const solved& base,
                           const network_result& baseline, const scenario_spec& spec,
                           const run_options& options,
                           const env::scenario_environment* environment) {
  variant_result vr;
  vr.name = v.name;
  vr.title = v.title;
  // Environmental changes alone leave the network and the demand as they are: the baseline's
  // traffic is the variant's, without solving it again.
  const bool reuse = v.perturbations.empty() && !v.environment.empty();
  if (reuse) {
    vr.links = base_city.links;
    vr.result = baseline;
    vr.result.environment.reset();
    vr.result.solve_ms = 0;
  } else {
    auto m = build_model(base_city, &v);
    // New links change the network's shape: the baseline's bushes no longer fit.
    const bool same_shape = m.network.size() == base_city.links.size();
    vr.result =
        solve_model(base_city, m, spec, options, same_shape ? &base.solution : nullptr).result;
    vr.links = std::move(m.network);
  }
  if (environment) {
    vr.result.environment = env::variant_environment(*environment, base_city, v.environment,
                                                     traffic_of(base_city, vr.links, vr.result));
    vr.result.environment->traffic_reused = reuse;
  }
  vr.against_baseline = compare(baseline, vr.result, spec.top);
  return vr;
}

}  // namespace

scenario_result run_scenario(const scenario& s, const run_options& options) {
  scenario_result out;
  // With a live base, the baseline is solved on it, warm-started from the bundle's equilibrium
  // (the engine starts cold by itself when the demand factor changed the demand).
  std::optional<std::pair<live_base, solved>> fork;
  if (s.live) {
    fork = fork_live(s, options);
    out.live_base = fork->first.report;
  }
  const city& base_city = fork ? fork->first.base : s.base;
  const auto base = solve_model(base_city, build_model(base_city, nullptr), s.spec, options,
                                fork ? &fork->second.solution : nullptr);
  out.baseline = base.result;
  std::optional<env::scenario_environment> environment;
  if (s.spec.environment.enabled) {
    environment = env::start_environment(
        base_city, s.spec.environment, s.live ? &*s.live : nullptr, s.live_options.stale_after_ms,
        traffic_of(base_city, base_city.links, out.baseline), options.grid);
    out.grid = environment->grid;
    out.baseline.environment = environment->baseline;
    out.live_environment = environment->live;
  }
  for (const auto& v : s.spec.variants)
    out.variants.push_back(run_variant(v, base_city, base, out.baseline, s.spec, options,
                                       environment ? &*environment : nullptr));
  return out;
}

}  // namespace twin
