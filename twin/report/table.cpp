#include "twin/report/table.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "twin/base/text.hpp"
#include "twin/base/time_text.hpp"
#include "twin/report/common.hpp"

namespace twin {

namespace {

using text::clip;
using text::fixed;
using text::pad;
using text::signed_fixed;

}  // namespace

namespace {

// A live base: what the live state changed in the bundle, and where the environment came from.
void live_base_lines(std::ostream& os, const scenario& s, const scenario_result& r,
                     const live_base_report& lb_ref) {
  const city& c = s.base;
  const auto* lb = &lb_ref;
  os << "Live base: ";
  if (lb->snapshot)
    os << "snapshot " << lb->snapshot->file << " (LSN " << lb->snapshot->lsn << ")";
  else
    os << lb->node;
  os << " as of " << iso8601_utc(lb->as_of) << ": " << lb->links_observed << " links observed, "
     << lb->links_stale << " stale (older than ";
  if (lb->stale_after_ms)
    os << *lb->stale_after_ms / 60000.0 << " min";
  else
    os << stale_after_cadences << " cadences";
  os << "), " << lb->cuts.size() << " capacities cut, " << lb->links_within_tolerance
     << " slower than the BPR curve within the " << fixed(100 * lb->capacity_tolerance, 0)
     << " % tolerance\n";
  if (lb->demand_factor)
    os << "  demand factor " << fixed(*lb->demand_factor, 4) << " on " << lb->demand_links
       << " links"
       << (lb->demand_clamped
               ? " (least-squares fit " + fixed(lb->demand_factor_fit, 4) + " clamped to [" +
                     fixed(lb->demand_factor_min, 2) + ", " + fixed(lb->demand_factor_max, 2) + "])"
               : "")
       << "\n";
  else
    os << "  demand unchanged: no fresh flow observation on a link the bundle loads\n";
  if (lb->environment_sensors > 0) {
    auto value = [](const std::optional<double>& v, const char* unit) {
      return v ? fixed(*v, 1) + unit : std::string("-");
    };
    os << "  air and wind (" << lb->environment_sensors << " sensors, fresh means): PM2.5 "
       << value(lb->pm25_ug_m3, " ug/m3") << ", NO2 " << value(lb->no2_ug_m3, " ug/m3") << ", wind "
       << value(lb->wind_speed_m_s, " m/s") << " from " << value(lb->wind_from_deg, " deg") << "\n";
  }
  os << env::observed_table(s, r);
  if (!lb->cuts.empty())
    os << "  " << pad("link", 10, false) << pad("name", 32, false) << pad("km/h", 8)
       << pad("veh/h", 8) << pad("capacity", 10) << pad("->", 10) << "\n";
  for (std::size_t i = 0; i < lb->cuts.size() && i < s.spec.top; ++i) {
    const auto& cut = lb->cuts[i];
    const auto& l = c.links[cut.link.value];
    os << "  " << pad(clip(l.key, 9), 10, false) << pad(clip(l.name, 31), 32, false)
       << pad(fixed(cut.observed_speed_kmh, 1), 8) << pad(fixed(cut.observed_flow_veh_h, 0), 8)
       << pad(fixed(cut.bundle_capacity_veh_h, 0), 10)
       << pad(fixed(cut.capacity_veh_h, 0) + (cut.at_floor ? " (floor)" : ""), 10) << "\n";
  }
}

// One line per run: iterations, gap, start and time.
void solver_lines(std::ostream& os, const scenario_result& r) {
  std::size_t name_width = 24;
  for (const auto& v : r.variants) name_width = std::max(name_width, v.name.size() + 2);
  auto solver_line = [&](const std::string& name, const network_result& n, bool reused) {
    os << "  " << pad(name, name_width, false);
    if (reused) {
      os << "traffic of the baseline (not solved again)\n";
      return;
    }
    os << n.iterations << " iterations, gap " <<
        [&] {
          char b[32];
          std::snprintf(b, sizeof b, "%.2e", n.relative_gap);
          return std::string(b);
        }()
       << (n.gap_reached ? "" : " (target NOT reached)")
       << (n.warm_started ? ", warm start" : ", cold start") << ", " << fixed(n.solve_ms, 1)
       << " ms\n";
  };
  os << "Solver:\n";
  solver_line("baseline", r.baseline, false);
  for (const auto& v : r.variants) solver_line(v.name, v.result, traffic_reused(v));
}

// The comparison's most affected links and OD pairs.
void most_affected_lines(std::ostream& os, const city& c, const variant_result& v) {
  os << "\nmost affected links (by |delta flow|)\n"
     << pad("link", 10, false) << pad("name", 42, false) << pad("flow", 9) << pad("->", 9)
     << pad("delta", 9) << pad("dtime min", 10) << "\n";
  for (const auto& ch : v.against_baseline.links) {
    const auto& k = v.links[ch.link.value];
    os << pad(clip(k.key, 9), 10, false) << pad(clip(k.name, 41), 42, false)
       << pad(fixed(ch.baseline_flow_veh_h, 0), 9) << pad(fixed(ch.flow_veh_h, 0), 9)
       << pad(signed_fixed(ch.delta_flow_veh_h, 0), 9)
       << pad(ch.closed ? "closed" : signed_fixed(ch.delta_time_min, 2), 10) << "\n";
  }

  os << "\nmost affected OD pairs (by |delta travel time per trip|)\n"
     << pad("from", 6) << pad("to", 6) << pad("trips/h", 10) << pad("time min", 10) << pad("->", 8)
     << pad("delta", 8) << "\n";
  for (const auto& ch : v.against_baseline.od)
    os << pad(zone_label(c, ch.from), 6) << pad(zone_label(c, ch.to), 6)
       << pad(fixed(ch.trips_veh_h, 1), 10) << pad(fixed(ch.baseline_time_min, 2), 10)
       << pad(fixed(ch.time_min, 2), 8) << pad(signed_fixed(ch.delta_time_min, 2), 8) << "\n";
}

// Variant v against the baseline: the city, its districts, its environment, the most affected
// links and OD pairs.
void variant_section(std::ostream& os, const scenario& s, const scenario_result& r,
                     const variant_result& v) {
  const city& c = s.base;
  const auto& b = r.baseline;
  const auto& n = v.result;
  os << "\n== " << v.name << (v.title != v.name ? ": " + v.title : "") << " ==\n";
  if (!n.disconnected.empty()) {
    os << "!! WARNING: " << warning_text(n) << "\n";
    std::size_t shown = 0;
    for (const auto& od : n.disconnected) {
      if (shown++ == s.spec.top) {
        os << "!!   ... and " << n.disconnected.size() - s.spec.top << " more\n";
        break;
      }
      os << "!!   zone " << zone_label(c, od.from) << " -> zone " << zone_label(c, od.to) << ": "
         << fixed(od.trips_veh_h, 1) << " veh/h unassigned\n";
    }
  }
  if (traffic_reused(v)) {
    // Every transport delta would be zero: one line says so instead of tables of zeros.
    os << "traffic: the baseline's (environmental changes only; network and demand unchanged)\n";
    if (r.grid)
      os << env::environment_table(s, r, static_cast<std::size_t>(&v - r.variants.data()));
    return;
  }
  os << pad("city", 26, false) << pad("baseline", 12) << pad("variant", 12) << pad("delta", 12)
     << pad("%", 9) << "\n";
  auto row = [&](const char* name, double x, double y, int d) {
    os << pad(name, 26, false) << pad(fixed(x, d), 12) << pad(fixed(y, d), 12)
       << pad(signed_fixed(y - x, d), 12) << pad(percent(x, y), 9) << "\n";
  };
  row("VKT (veh-km)", b.city.vkt, n.city.vkt, 0);
  row("VHT (veh-h)", b.city.vht, n.city.vht, 1);
  row("mean speed (km/h)", b.city.mean_speed_kmh, n.city.mean_speed_kmh, 2);
  row("congestion (VHT/ff - 1)", b.city.congestion, n.city.congestion, 3);
  row("TSTT (veh-h)", b.tstt_veh_h, n.tstt_veh_h, 1);
  row("demand (veh/h)", b.demand_veh_h, n.demand_veh_h, 0);
  row("unassigned (veh/h)", b.unassigned_veh_h, n.unassigned_veh_h, 1);

  os << "\n"
     << pad("district", 30, false) << pad("VKT", 10) << pad("dVKT%", 8) << pad("speed", 8)
     << pad("->", 8) << pad("congestion", 12) << pad("->", 8) << "\n";
  for (std::size_t d = 0; d < c.districts.size(); ++d) {
    const auto& x = b.districts[d];
    const auto& y = n.districts[d];
    os << pad(clip(c.districts[d].name, 29), 30, false) << pad(fixed(y.vkt, 0), 10)
       << pad(percent(x.vkt, y.vkt), 8) << pad(fixed(x.mean_speed_kmh, 1), 8)
       << pad(fixed(y.mean_speed_kmh, 1), 8) << pad(fixed(x.congestion, 3), 12)
       << pad(fixed(y.congestion, 3), 8) << "\n";
  }
  if (r.grid) os << env::environment_table(s, r, static_cast<std::size_t>(&v - r.variants.data()));

  most_affected_lines(os, c, v);
}

}  // namespace

std::string comparison_table(const scenario& s, const scenario_result& r) {
  const city& c = s.base;
  std::ostringstream os;
  os << "Scenario " << s.spec.name << ": " << s.spec.title << "\n";
  os << "Base: " << c.name << " (" << c.links.size() << " links, " << c.zones.size() << " zones, "
     << fixed(r.baseline.demand_veh_h, 0) << " veh/h)\n";
  if (r.live_base) live_base_lines(os, s, r, *r.live_base);
  solver_lines(os, r);
  for (const auto& v : r.variants) variant_section(os, s, r, v);
  return os.str();
}

}  // namespace twin

namespace twin::env {

using text::clip;
using text::fixed;
using text::pad;
using text::signed_fixed;

std::string observed_table(const scenario& s, const scenario_result& r) {
  if (!r.live_environment) return {};
  const auto& lc = *r.live_environment;
  const city& c = s.base;
  const auto& w = lc.settings.w;
  std::ostringstream os;
  os << "  environment: wind " << fixed(w.wind_speed_m_s, 1) << " m/s (" << to_string(lc.wind_speed)
     << ") from " << fixed(w.wind_from_deg, 0) << " deg (" << to_string(lc.wind_from) << "), class "
     << to_char(w.stability_class) << "; background PM2.5 "
     << fixed(lc.settings.background.pm25_ug_m3, 1) << " (" << to_string(lc.pm25_background.city)
     << "), NO2 " << fixed(lc.settings.background.no2_ug_m3, 1) << " ("
     << to_string(lc.no2_background.city) << ") ug/m3 city-wide\n";
  auto count = [](const live_sensor_count& n) {
    return std::to_string(n.fresh) + " fresh, " + std::to_string(n.stale) + " stale, " +
           std::to_string(n.silent) + " silent, " + std::to_string(n.outside_grid) +
           " outside the grid";
  };
  os << "  wind sensors: speed " << count(lc.wind_speed_sensors) << "; direction "
     << count(lc.wind_direction_sensors) << "\n";
  for (auto p : {pollutant::pm25, pollutant::nox}) {
    const auto& x = p == pollutant::pm25 ? lc.pm25 : lc.no2;
    const auto& n = p == pollutant::pm25 ? lc.pm25_sensors : lc.no2_sensors;
    os << "  modelled vs observed " << title_of(p) << " (" << count(n) << ")";
    if (x.sensors == 0) {
      os << ": no sensor to compare\n";
      continue;
    }
    os << ": mean " << fixed(x.mean_modelled_ug_m3, 2) << " vs " << fixed(x.mean_observed_ug_m3, 2)
       << " ug/m3, bias " << signed_fixed(x.mean_bias_ug_m3, 2) << ", RMSE "
       << fixed(x.rmse_ug_m3, 2) << ", r " << (x.correlation ? fixed(*x.correlation, 3) : "-")
       << "\n";
  }
  if (lc.sensors.empty()) return os.str();
  os << "  " << pad("sensor", 22, false) << pad("kind", 6, false) << pad("district", 16, false)
     << pad("cell", 8) << pad("modelled", 10) << pad("observed", 10) << pad("bias", 9) << "\n";
  for (const auto& o : lc.sensors) {
    const std::string district = o.district.valid() && o.district.value < c.districts.size()
                                     ? c.districts[o.district.value].key
                                     : "-";
    os << "  " << pad(clip(o.key, 21), 22, false) << pad(std::string(name_of(o.p)), 6, false)
       << pad(clip(district, 15), 16, false) << pad(o.cell ? std::to_string(*o.cell) : "-", 8)
       << pad(o.cell ? fixed(o.modelled_ug_m3, 2) : "-", 10) << pad(fixed(o.observed_ug_m3, 2), 10)
       << pad(o.cell ? signed_fixed(o.modelled_ug_m3 - o.observed_ug_m3, 2) : "-", 9) << "\n";
  }
  return os.str();
}

std::string environment_table(const scenario& s, const scenario_result& r, std::size_t v) {
  const city& c = s.base;
  const auto& b = run_environment(r, 0);
  const auto& n = run_environment(r, v + 1);
  std::ostringstream os;
  os << "\nenvironment" << (n.traffic_reused ? " (the baseline's traffic, not solved again)" : "")
     << ": wind from " << fixed(n.w.wind_from_deg, 0) << " deg at " << fixed(n.w.wind_speed_m_s, 1)
     << " m/s, class " << to_char(n.w.stability_class) << ", mixing height "
     << fixed(n.w.mixing_height_m, 0) << " m\n";
  auto row = [&](const std::string& name, double x, double y, int d) {
    os << pad(name, 34, false) << pad(fixed(x, d), 12) << pad(fixed(y, d), 12)
       << pad(signed_fixed(y - x, d), 12) << "\n";
  };
  const auto& e = s.spec.environment;
  row("CO2 emitted (t/h)", b.city.co2_t_h, n.city.co2_t_h, 2);
  row("NOx emitted (kg/h)", b.city.nox_kg_h, n.city.nox_kg_h, 2);
  row("PM2.5 emitted (kg/h)", b.city.pm25_kg_h, n.city.pm25_kg_h, 3);
  row("PM2.5 exposure (ug/m3)", b.city.pm25.exposure_ug_m3, n.city.pm25.exposure_ug_m3, 3);
  row("NO2 exposure (ug/m3)", b.city.no2.exposure_ug_m3, n.city.no2.exposure_ug_m3, 3);
  row("% people > PM2.5 " + fixed(e.short_term.pm25_ug_m3, 0) + " ug/m3",
      100 * b.city.pm25.share_above_short_term, 100 * n.city.pm25.share_above_short_term, 1);
  row("% people > NO2 " + fixed(e.short_term.no2_ug_m3, 0) + " ug/m3",
      100 * b.city.no2.share_above_short_term, 100 * n.city.no2.share_above_short_term, 1);
  row("Lden (dB, population mean)", b.city.lden_db, n.city.lden_db, 1);
  os << "\n"
     << pad("district", 24, false) << pad("PM2.5", 8) << pad("->", 8) << pad("expo", 8)
     << pad("NO2", 8) << pad("->", 8) << pad("expo", 8) << pad("Lden", 7) << pad("->", 7) << "\n";
  for (std::size_t d = 0; d < c.districts.size(); ++d) {
    const auto& x = b.districts[d];
    const auto& y = n.districts[d];
    os << pad(clip(c.districts[d].name, 23), 24, false) << pad(fixed(x.pm25.mean_ug_m3, 2), 8)
       << pad(fixed(y.pm25.mean_ug_m3, 2), 8) << pad(fixed(y.pm25.exposure_ug_m3, 2), 8)
       << pad(fixed(x.no2.mean_ug_m3, 2), 8) << pad(fixed(y.no2.mean_ug_m3, 2), 8)
       << pad(fixed(y.no2.exposure_ug_m3, 2), 8) << pad(fixed(x.lden_db, 1), 7)
       << pad(fixed(y.lden_db, 1), 7) << "\n";
  }
  return os.str();
}

}  // namespace twin::env
