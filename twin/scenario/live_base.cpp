#include "twin/scenario/live_base.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <unordered_map>

#include "twin/assign/bpr.hpp"
#include "twin/base/check.hpp"
#include "twin/base/text.hpp"

namespace twin {

namespace {

live_base_error failure(live_base_failure f, const live_snapshot& s, std::string what) {
  return {f, "the live state of " + (s.node.empty() ? std::string("the node") : s.node) + ": " +
                 std::move(what)};
}

// NaN stands for "no reading"; anything else must be a finite, non-negative value.
bool valid_or_missing(double v) {
  return std::isnan(v) || (std::isfinite(v) && v >= 0);
}

}  // namespace

expected<bool, live_base_error> check_live_snapshot(const city& bundle, const live_snapshot& s) {
  if (s.city_name != bundle.name)
    return unexpected{failure(live_base_failure::city_mismatch, s,
                              "the node runs city " + text::quoted(s.city_name) +
                                  " but the scenario's bundle is " + text::quoted(bundle.name))};
  std::unordered_map<std::string_view, link_id> link_by_key;
  for (const auto& l : bundle.links) link_by_key.emplace(l.key, l.id);
  for (const auto& l : s.links) {
    if (!link_by_key.count(l.key))
      return unexpected{failure(live_base_failure::unknown_link, s,
                                "link " + text::quoted(l.key) + " is not in the bundle of " +
                                    text::quoted(bundle.name) +
                                    " (is the node running another bundle?)")};
    if (!valid_or_missing(l.speed_kmh))
      return unexpected{failure(live_base_failure::bad_value, s,
                                "link " + text::quoted(l.key) + ": field speed_kmh is " +
                                    std::to_string(l.speed_kmh) + ", not a speed")};
    if (!valid_or_missing(l.flow_veh_h))
      return unexpected{failure(live_base_failure::bad_value, s,
                                "link " + text::quoted(l.key) + ": field flow_veh_h is " +
                                    std::to_string(l.flow_veh_h) + ", not a flow")};
  }
  for (const auto& d : s.districts)
    if (!bundle.find_district(d.key))
      return unexpected{failure(live_base_failure::city_mismatch, s,
                                "district " + text::quoted(d.key) + " is not in the bundle of " +
                                    text::quoted(bundle.name))};
  for (const auto& x : s.sensors) {
    const sensor* known = bundle.find_sensor(x.key);
    if (!known || known->kind != x.kind)
      return unexpected{failure(live_base_failure::city_mismatch, s,
                                "sensor " + text::quoted(x.key) + " (" +
                                    std::string(to_string(x.kind)) + ") is not in the bundle of " +
                                    text::quoted(bundle.name))};
    if (x.reported && !std::isfinite(x.value))
      return unexpected{failure(live_base_failure::bad_value, s,
                                "sensor " + text::quoted(x.key) + ": field value is " +
                                    std::to_string(x.value) + " at time " + std::to_string(x.time) +
                                    ", not a reading")};
  }
  return true;
}

namespace {

// Cuts the capacity of a link that runs slower than the bundle's curve allows at its live flow.
void cut_capacity(live_base_report& r, link& l, link_id id, const live_link& obs,
                  const live_base_options& options) {
  if (std::isnan(obs.speed_kmh) || std::isnan(obs.flow_veh_h)) return;
  auto c_live =
      inferred_capacity_veh_h(l.length_m, l.free_speed_kmh, obs.speed_kmh, obs.flow_veh_h);
  // Below the bundle's capacity exactly when slower than the bundle's curve at this flow.
  if (!c_live || *c_live >= l.capacity_veh_h) return;
  const double observed_ratio = obs.speed_kmh > 0 ? l.free_speed_kmh / obs.speed_kmh
                                                  : std::numeric_limits<double>::infinity();
  if (observed_ratio <=
      (1 + options.capacity_tolerance) * bpr_time_ratio(obs.flow_veh_h, l.capacity_veh_h)) {
    ++r.links_within_tolerance;
    return;
  }
  const double floor = options.capacity_floor_fraction * l.capacity_veh_h;
  live_capacity_cut cut;
  cut.link = id;
  cut.observed_speed_kmh = obs.speed_kmh;
  cut.observed_flow_veh_h = obs.flow_veh_h;
  cut.bundle_capacity_veh_h = l.capacity_veh_h;
  cut.inferred_capacity_veh_h = *c_live;
  cut.at_floor = *c_live < floor;
  cut.capacity_veh_h = std::max(floor, *c_live);
  l.capacity_veh_h = cut.capacity_veh_h;
  r.cuts.push_back(cut);
}

// Scales the demand by the least-squares fit of live to bundle flows, within the options' bounds.
void scale_demand(live_base& out, double cross, double square, const live_base_options& options) {
  auto& r = out.report;
  if (r.demand_links > 0 && square > 0) {
    r.demand_factor_fit = cross / square;
    const double f =
        std::clamp(r.demand_factor_fit, options.demand_factor_min, options.demand_factor_max);
    r.demand_clamped = f != r.demand_factor_fit;
    r.demand_factor = f;
    for (auto& od : out.base.demand) od.trips_veh_h *= f;
  } else {
    r.demand_links = 0;
  }
}

}  // namespace

expected<live_base, live_base_error> apply_live_base(const city& bundle, const live_snapshot& s,
                                                     std::span<const double> bundle_flow_veh_h,
                                                     const live_base_options& options) {
  TWIN_CHECK(bundle_flow_veh_h.empty() || bundle_flow_veh_h.size() == bundle.links.size());
  TWIN_CHECK_OP(options.capacity_floor_fraction, >, 0.0);
  TWIN_CHECK_OP(options.capacity_tolerance, >=, 0.0);
  TWIN_CHECK_OP(options.demand_factor_min, <=, options.demand_factor_max);
  if (auto ok = check_live_snapshot(bundle, s); !ok) return unexpected{ok.error()};

  live_base out{bundle, {}};
  auto& r = out.report;
  r.node = s.node;
  r.snapshot = s.snapshot;
  r.city_name = s.city_name;
  r.as_of = s.as_of;
  r.stale_after_ms = options.stale_after_ms;
  r.capacity_tolerance = options.capacity_tolerance;
  r.demand_factor_min = options.demand_factor_min;
  r.demand_factor_max = options.demand_factor_max;

  r.environment_sensors = s.sensors.size();
  r.pm25_ug_m3 = fresh_mean(s, sensor_kind::pm25, bundle, options.stale_after_ms);
  r.no2_ug_m3 = fresh_mean(s, sensor_kind::no2, bundle, options.stale_after_ms);
  r.wind_speed_m_s = fresh_mean(s, sensor_kind::wind_speed, bundle, options.stale_after_ms);
  r.wind_from_deg = fresh_mean(s, sensor_kind::wind_direction, bundle, options.stale_after_ms);

  std::unordered_map<std::string_view, link_id> link_by_key;
  for (const auto& l : bundle.links) link_by_key.emplace(l.key, l.id);
  const auto stale_after_ms = live_link_stale_after_ms(bundle, options.stale_after_ms);
  double cross = 0, square = 0;
  for (const auto& obs : s.links) {
    ++r.links_observed;
    const link_id id = link_by_key.at(obs.key);
    if (!live_fresh(obs.time, s.as_of, stale_after_ms[id.value])) {
      ++r.links_stale;
      continue;
    }
    if (!bundle_flow_veh_h.empty() && !std::isnan(obs.flow_veh_h) &&
        bundle_flow_veh_h[id.value] > 0) {
      cross += obs.flow_veh_h * bundle_flow_veh_h[id.value];
      square += bundle_flow_veh_h[id.value] * bundle_flow_veh_h[id.value];
      ++r.demand_links;
    }
    cut_capacity(r, out.base.links[id.value], id, obs, options);
  }
  std::sort(r.cuts.begin(), r.cuts.end(), [](const auto& a, const auto& b) {
    const double ra = a.capacity_veh_h / a.bundle_capacity_veh_h;
    const double rb = b.capacity_veh_h / b.bundle_capacity_veh_h;
    return ra != rb ? ra < rb : a.link < b.link;
  });
  scale_demand(out, cross, square, options);
  return out;
}

}  // namespace twin
