#include "twin/scenario/scenario.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <span>

#include "twin/assign/assignment.hpp"
#include "twin/assign/bpr.hpp"
#include "twin/base/check.hpp"

namespace twin {

namespace {

// A city (and a variant's perturbations) as the engine's network and demand.
struct model {
  std::vector<link_result> links;  // capacity, free speed, toll, closed: before solving
  std::vector<double> length_m;
  std::vector<district_id> district;
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

model build_model(const city& c, const variant_spec* v, std::vector<new_link>& added) {
  model m;
  const std::size_t n = c.links.size();
  for (const auto& l : c.links) {
    link_result r;
    r.capacity_veh_h = l.capacity_veh_h;
    r.free_speed_kmh = l.free_speed_kmh;
    m.links.push_back(r);
    m.length_m.push_back(l.length_m);
    m.district.push_back(l.district);
  }
  m.trips.reserve(c.demand.size());
  for (const auto& od : c.demand) m.trips.push_back(od.trips_veh_h);
  if (v) {
    for (const auto& p : v->perturbations) {
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
          link_result r;
          r.capacity_veh_h = p.added.capacity_veh_h;
          r.free_speed_kmh = p.added.free_speed_kmh;
          m.links.push_back(r);
          m.length_m.push_back(p.added.length_m);
          m.district.push_back(p.added.district);
          added.push_back(p.added);
          break;
        }
      }
    }
  }
  for (std::size_t l = 0; l < m.links.size(); ++l) {
    auto& r = m.links[l];
    if (r.capacity_veh_h <= 0) r.closed = true;
    if (r.closed) r.capacity_veh_h = 0;
    assign::link_spec s;
    if (l < n) {
      s.from = c.links[l].from.value;
      s.to = c.links[l].to.value;
    } else {
      s.from = added[l - n].from.value;
      s.to = added[l - n].to.value;
    }
    s.capacity = r.capacity_veh_h;
    s.free_flow_time = free_flow_min(m.length_m[l], r.free_speed_kmh);
    s.b = bpr_b;
    s.power = bpr_power;
    s.toll = r.toll;
    s.length = m.length_m[l];
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
  if (!net) TWIN_CHECK_OP(net.error(), ==, std::string{});
  std::vector<assign::od_flow> flows;
  for (std::size_t i = 0; i < c.demand.size(); ++i) {
    const auto& od = c.demand[i];
    if (!(m.trips[i] > 0)) continue;
    flows.push_back(
        {c.zones[od.from.value].centroid.value, c.zones[od.to.value].centroid.value, m.trips[i]});
  }
  auto trips = assign::demand::build(*net, flows);
  if (!trips) TWIN_CHECK_OP(trips.error(), ==, std::string{});

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
    lr.speed_kmh = m.length_m[l] / 1000.0 / (lr.time_min / 60.0);
    time[l] = lr.time_min;
    add(r.city, lr.flow_veh_h, m.length_m[l], lr.time_min, free_min);
    if (m.district[l].valid() && m.district[l].value < r.districts.size())
      add(r.districts[m.district[l].value], lr.flow_veh_h, m.length_m[l], lr.time_min, free_min);
  }
  finish(r.city);
  for (auto& d : r.districts) finish(d);

  // Travel time per OD pair, and the pairs a closure cut off.
  std::map<std::uint32_t, std::vector<std::size_t>> by_origin;
  for (std::size_t i = 0; i < c.demand.size(); ++i)
    if (m.trips[i] > 0) by_origin[c.zones[c.demand[i].from.value].centroid.value].push_back(i);
  std::vector<od_result> od(c.demand.size());
  std::vector<double> best, time_to;
  for (const auto& [origin, entries] : by_origin) {
    cheapest_from(*net, sol.link_cost, time, origin, best, time_to);
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
  return out;
}

}  // namespace

namespace {

// The links of a solved network as the environment sees them: the city's, then the added ones.
std::vector<env::link_traffic> traffic_of(const city& c, const network_result& n,
                                          const std::vector<new_link>& added) {
  std::vector<env::link_traffic> out;
  out.reserve(n.links.size());
  for (std::size_t l = 0; l < n.links.size(); ++l) {
    const auto& r = n.links[l];
    env::link_traffic t;
    if (l < c.links.size()) {
      const auto& k = c.links[l];
      t = {c.nodes[k.from.value].position, c.nodes[k.to.value].position, k.length_m, k.district};
    } else {
      const auto& a = added[l - c.links.size()];
      t = {c.nodes[a.from.value].position, c.nodes[a.to.value].position, a.length_m, a.district};
    }
    t.flow_veh_h = r.closed ? 0 : r.flow_veh_h;
    t.speed_kmh = r.closed ? 0 : r.speed_kmh;
    out.push_back(t);
  }
  return out;
}

// Replays the first dispersion for the second call: the live coupling runs the baseline twice
// under the same weather and emitters, only the backgrounds differ (added after the dispersion).
env::grid_function once_on_grid(const env::grid_function& on_grid) {
  auto memo = std::make_shared<std::array<std::vector<double>, env::pollutant_count>>();
  auto done = std::make_shared<bool>(false);
  return [on_grid, memo, done](const env::weather& w, const env::dispersion_options& o,
                               std::span<const env::point_emitter> points,
                               std::span<const env::line_emitter> lines,
                               const env::receptor_grid& grid,
                               std::array<std::span<double>, env::pollutant_count> out) {
    if (*done) {
      for (std::size_t p = 0; p < out.size(); ++p) {
        TWIN_CHECK_OP((*memo)[p].size(), ==, out[p].size());
        for (std::size_t i = 0; i < out[p].size(); ++i) out[p][i] += (*memo)[p][i];
      }
      return;
    }
    if (on_grid)
      on_grid(w, o, points, lines, grid, out);
    else
      env::disperse_on_grid(w, o, points, lines, grid, out);
    for (std::size_t p = 0; p < out.size(); ++p) (*memo)[p].assign(out[p].begin(), out[p].end());
    *done = true;
  };
}

}  // namespace

scenario_result run_scenario(const scenario& s, const run_options& options) {
  scenario_result out;
  std::vector<new_link> none;
  // A live base: the bundle's own equilibrium first, whose flows the demand factor is fitted to;
  // then the baseline on the live base, warm-started from it (the engine starts cold by itself
  // when the demand factor changed the demand).
  std::optional<city> live_city;
  std::optional<solved> bundle_solved;
  if (s.live) {
    bundle_solved =
        solve_model(s.base, build_model(s.base, nullptr, none), s.spec, options, nullptr);
    std::vector<double> flows;
    for (const auto& l : bundle_solved->result.links) flows.push_back(l.flow_veh_h);
    auto live = apply_live_base(s.base, *s.live, flows, s.live_options);
    // The snapshot was checked against this bundle when it was attached to the scenario.
    if (!live) TWIN_CHECK_OP(live.error().message, ==, std::string{});
    out.live_base = std::move(live->report);
    live_city = std::move(live->base);
  }
  const city& base_city = live_city ? *live_city : s.base;
  const model base_model = build_model(base_city, nullptr, none);
  auto base = solve_model(base_city, base_model, s.spec, options,
                          bundle_solved ? &bundle_solved->solution : nullptr);
  out.baseline = std::move(base.result);
  const auto& file_settings = s.spec.environment;
  if (file_settings.enabled) {
    auto grid = env::build_receptor_grid(base_city, file_settings.grid);
    // The grid's shape was checked when the scenario was loaded.
    if (!grid) TWIN_CHECK_OP(grid.error(), ==, std::string{});
    out.grid = std::make_shared<const env::receptor_grid>(std::move(*grid));
    const auto traffic = traffic_of(base_city, out.baseline, {});
    if (s.live) {
      // The live twin sets the weather, then the backgrounds from the local contribution at its
      // sensors: two baselines under one weather, whose dispersion is computed once.
      auto lc = env::couple_weather(base_city, file_settings, *s.live,
                                    s.live_options.stale_after_ms, *out.grid);
      const auto once = once_on_grid(options.grid);
      const auto local =
          env::compute_environment(base_city, lc.settings, {}, traffic, *out.grid, once);
      env::fit_background(lc, base_city, *out.grid, local);
      out.baseline.environment =
          env::compute_environment(base_city, lc.settings, {}, traffic, *out.grid, once);
      env::compare_observed(lc, *out.baseline.environment);
      out.live_environment = std::move(lc);
    } else {
      out.baseline.environment =
          env::compute_environment(base_city, file_settings, {}, traffic, *out.grid, options.grid);
    }
  }
  for (const auto& v : s.spec.variants) {
    variant_result vr;
    vr.name = v.name;
    vr.title = v.title;
    // Environmental changes alone leave the network and the demand as they are: the baseline's
    // traffic is the variant's, without solving it again.
    const bool reuse = v.perturbations.empty() && !v.environment.empty();
    if (reuse) {
      vr.result = out.baseline;
      vr.result.environment.reset();
      vr.result.solve_ms = 0;
    } else {
      const model m = build_model(base_city, &v, vr.added);
      // New links change the network's shape: the baseline's bushes no longer fit.
      const assign::solution* warm = vr.added.empty() ? &base.solution : nullptr;
      vr.result = solve_model(base_city, m, s.spec, options, warm).result;
    }
    if (file_settings.enabled) {
      const auto& env_settings =
          out.live_environment ? out.live_environment->settings : file_settings;
      vr.result.environment = env::compute_environment(base_city, env_settings, v.environment,
                                                       traffic_of(base_city, vr.result, vr.added),
                                                       *out.grid, options.grid);
      vr.result.environment->traffic_reused = reuse;
    }
    out.variants.push_back(std::move(vr));
  }
  return out;
}

}  // namespace twin
