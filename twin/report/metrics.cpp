#include "twin/report/metrics.hpp"

#include <optional>
#include <sstream>
#include <utility>

#include "twin/base/text.hpp"
#include "twin/report/common.hpp"

namespace twin {

using text::label_value;
using text::metric_number;

std::string metrics_text(const scenario& s, const scenario_result& r) {
  struct run {
    std::string variant;
    const network_result* result;
  };
  std::vector<run> runs{{"baseline", &r.baseline}};
  for (const auto& v : r.variants) runs.push_back({v.name, &v.result});
  const std::string scenario_label = "scenario=\"" + label_value(s.spec.name) + "\"";

  std::ostringstream os;
  auto family = [&](const char* name, const char* help, auto value) {
    os << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " gauge\n";
    for (const auto& x : runs)
      os << name << '{' << scenario_label << ",variant=\"" << label_value(x.variant) << "\"} "
         << metric_number(value(*x.result)) << '\n';
  };
  family("citytwin_scenario_travel_distance_meters",
         "Vehicle-metres travelled per hour of the period, city-wide.",
         [](const network_result& n) { return n.city.vkt * 1000; });
  family("citytwin_scenario_travel_time_seconds",
         "Vehicle-seconds travelled per hour of the period, city-wide.",
         [](const network_result& n) { return n.city.vht * 3600; });
  family("citytwin_scenario_mean_speed_kmh", "Vehicle-km over vehicle-hours, city-wide.",
         [](const network_result& n) { return n.city.mean_speed_kmh; });
  family("citytwin_scenario_congestion_index",
         "Vehicle-hours over their free-flow value, minus 1, city-wide.",
         [](const network_result& n) { return n.city.congestion; });
  family("citytwin_scenario_unassigned_trips",
         "Trips per hour of the period between OD pairs the network no longer connects.",
         [](const network_result& n) { return n.unassigned_veh_h; });
  family("citytwin_scenario_relative_gap", "Relative gap the equilibrium was solved to.",
         [](const network_result& n) { return n.relative_gap; });

  if (const auto& lb = r.live_base) {
    auto live = [&](const char* name, const char* help, double value) {
      os << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " gauge\n"
         << name << '{' << scenario_label << "} " << metric_number(value) << '\n';
    };
    live("citytwin_scenario_live_links_observed",
         "Links the live node had a traffic state for when the scenario forked it.",
         static_cast<double>(lb->links_observed));
    live("citytwin_scenario_live_links_stale",
         "Live link states ignored as older than the staleness bound.",
         static_cast<double>(lb->links_stale));
    live("citytwin_scenario_live_capacities_cut",
         "Links whose capacity the live speeds and flows lowered.",
         static_cast<double>(lb->cuts.size()));
    live("citytwin_scenario_live_links_within_tolerance",
         "Links slower than the BPR curve at their live flow, within the tolerance: not cut.",
         static_cast<double>(lb->links_within_tolerance));
    live("citytwin_scenario_live_demand_factor",
         "City-wide factor on the bundle's demand fitted to the live flows (1 when not fitted).",
         lb->demand_factor ? *lb->demand_factor : 1.0);
  }

  auto district_family = [&](const char* name, const char* help, auto value) {
    os << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " gauge\n";
    for (const auto& x : runs)
      for (std::size_t d = 0; d < x.result->districts.size() && d < s.base.districts.size(); ++d)
        os << name << '{' << scenario_label << ",variant=\"" << label_value(x.variant)
           << "\",district=\"" << label_value(s.base.districts[d].key) << "\"} "
           << metric_number(value(x.result->districts[d])) << '\n';
  };
  district_family("citytwin_scenario_district_travel_distance_meters",
                  "Vehicle-metres travelled per hour on the district's links.",
                  [](const measures& m) { return m.vkt * 1000; });
  district_family("citytwin_scenario_district_travel_time_seconds",
                  "Vehicle-seconds travelled per hour on the district's links.",
                  [](const measures& m) { return m.vht * 3600; });
  district_family("citytwin_scenario_district_mean_speed_kmh",
                  "Vehicle-km over vehicle-hours on the district's links.",
                  [](const measures& m) { return m.mean_speed_kmh; });
  district_family("citytwin_scenario_district_congestion_index",
                  "Vehicle-hours over their free-flow value, minus 1, on the district's links.",
                  [](const measures& m) { return m.congestion; });
  os << env::environment_metrics(s, r);
  return os.str();
}

}  // namespace twin

namespace twin::env {

using text::label_value;
using text::metric_number;

namespace {

std::string observed_metrics(const scenario& s, const live_coupling& lc,
                             const std::string& scenario_label) {
  const city& c = s.base;
  std::ostringstream os;
  auto family = [&](const char* name, const char* help) {
    os << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " gauge\n";
  };
  const std::pair<pollutant, const char*> air[] = {{pollutant::pm25, "pm25"},
                                                   {pollutant::nox, "no2"}};
  family("citytwin_scenario_observed_sensors",
         "Air-quality sensors of the live base by use: fresh (compared) or ignored.");
  for (const auto& [p, pl] : air) {
    const auto& n = p == pollutant::pm25 ? lc.pm25_sensors : lc.no2_sensors;
    const std::pair<const char*, std::size_t> rows[] = {{"fresh", n.fresh},
                                                        {"stale", n.stale},
                                                        {"silent", n.silent},
                                                        {"outside_grid", n.outside_grid}};
    for (const auto& [state, v] : rows)
      os << "citytwin_scenario_observed_sensors{" << scenario_label << ",pollutant=\"" << pl
         << "\",state=\"" << state << "\"} " << v << '\n';
  }
  auto summary = [&](const char* name, const char* help, auto value) {
    family(name, help);
    for (const auto& [p, pl] : air) {
      const auto& x = p == pollutant::pm25 ? lc.pm25 : lc.no2;
      const auto v = value(x);
      if (x.sensors == 0 || !v) continue;
      os << name << '{' << scenario_label << ",pollutant=\"" << pl << "\"} " << metric_number(*v)
         << '\n';
    }
  };
  summary("citytwin_scenario_observed_bias_ug_m3",
          "Mean of modelled baseline minus observed concentration at the live sensors.",
          [](const observed_summary& x) { return std::optional<double>(x.mean_bias_ug_m3); });
  summary("citytwin_scenario_observed_rmse_ug_m3",
          "Root mean square of modelled baseline minus observed at the live sensors.",
          [](const observed_summary& x) { return std::optional<double>(x.rmse_ug_m3); });
  summary("citytwin_scenario_observed_correlation",
          "Pearson correlation of modelled baseline and observed concentrations (3 sensors or "
          "more).",
          [](const observed_summary& x) { return x.correlation; });
  family("citytwin_scenario_sensor_concentration_ug_m3",
         "Concentration at a live sensor: its reading, and the modelled baseline at its cell.");
  for (const auto& o : lc.sensors) {
    if (!o.cell) continue;
    const std::string labels = scenario_label + ",sensor=\"" + label_value(o.key) +
                               "\",pollutant=\"" + std::string(name_of(o.p)) + "\",value=\"";
    os << "citytwin_scenario_sensor_concentration_ug_m3{" << labels << "observed\"} "
       << metric_number(o.observed_ug_m3) << '\n';
    os << "citytwin_scenario_sensor_concentration_ug_m3{" << labels << "modelled\"} "
       << metric_number(o.modelled_ug_m3) << '\n';
  }
  family("citytwin_scenario_live_background_ug_m3",
         "Background concentration of the district set from the live sensors or the file.");
  for (const auto& [p, pl] : air) {
    const auto& f = p == pollutant::pm25 ? lc.pm25_background : lc.no2_background;
    for (std::size_t d = 0; d < c.districts.size() && d < f.district_ug_m3.size(); ++d)
      os << "citytwin_scenario_live_background_ug_m3{" << scenario_label << ",district=\""
         << label_value(c.districts[d].key) << "\",pollutant=\"" << pl << "\",source=\""
         << to_string(f.district_source[d]) << "\"} " << metric_number(f.district_ug_m3[d]) << '\n';
  }
  return os.str();
}

// Concentration and exposure of each run, per district and city-wide.
std::string air_metrics(const scenario& s, const scenario_result& r,
                        const std::string& scenario_label) {
  const city& c = s.base;
  std::ostringstream os;
  const pollutant air[] = {pollutant::pm25, pollutant::nox};
  auto air_family = [&](const char* name, const char* help, bool city_wide, auto value) {
    os << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " gauge\n";
    for (std::size_t run = 0; run < run_count(r); ++run) {
      const auto& e = run_environment(r, run);
      const std::string variant = ",variant=\"" + label_value(run_name(r, run)) + "\"";
      for (auto p : air) {
        const std::string pl = ",pollutant=\"" + std::string(name_of(p)) + "\"";
        if (city_wide) {
          os << name << '{' << scenario_label << variant << pl << "} "
             << metric_number(value(e.city, p)) << '\n';
          continue;
        }
        for (std::size_t d = 0; d < c.districts.size(); ++d)
          os << name << '{' << scenario_label << variant << ",district=\""
             << label_value(c.districts[d].key) << '"' << pl << "} "
             << metric_number(value(e.districts[d], p)) << '\n';
      }
    }
  };
  auto indicators = [](const district_environment& d, pollutant p) -> const air_indicators& {
    return p == pollutant::pm25 ? d.pm25 : d.no2;
  };
  air_family(
      "citytwin_scenario_concentration_ug_m3",
      "Mean modelled ground-level concentration over the district's cells.", false,
      [&](const district_environment& d, pollutant p) { return indicators(d, p).mean_ug_m3; });
  air_family(
      "citytwin_scenario_exposure_ug_m3", "Population-weighted mean concentration of the district.",
      false,
      [&](const district_environment& d, pollutant p) { return indicators(d, p).exposure_ug_m3; });
  air_family("citytwin_scenario_above_guideline_ratio",
             "Share of the district's population above the 24-hour guideline.", false,
             [&](const district_environment& d, pollutant p) {
               return indicators(d, p).share_above_short_term;
             });
  air_family(
      "citytwin_scenario_city_exposure_ug_m3", "Population-weighted mean concentration, city-wide.",
      true,
      [&](const district_environment& d, pollutant p) { return indicators(d, p).exposure_ug_m3; });
  air_family("citytwin_scenario_city_above_guideline_ratio",
             "Share of the city's population above the 24-hour guideline.", true,
             [&](const district_environment& d, pollutant p) {
               return indicators(d, p).share_above_short_term;
             });
  return os.str();
}

// Emission rate of each run's districts, roads and stacks together.
std::string emission_metrics(const scenario& s, const scenario_result& r,
                             const std::string& scenario_label) {
  const city& c = s.base;
  std::ostringstream os;
  const char* emissions = "citytwin_scenario_emissions_grams_per_second";
  os << "# HELP " << emissions << " Emission rate of the district's roads and stacks.\n# TYPE "
     << emissions << " gauge\n";
  for (std::size_t run = 0; run < run_count(r); ++run) {
    const auto& e = run_environment(r, run);
    for (std::size_t d = 0; d < c.districts.size(); ++d) {
      const auto& de = e.districts[d];
      const std::pair<const char*, double> rows[] = {
          {"nox", de.nox_kg_h / 3.6}, {"pm25", de.pm25_kg_h / 3.6}, {"co2", de.co2_t_h / 3.6e-3}};
      for (const auto& [pl, v] : rows)
        os << emissions << '{' << scenario_label << ",variant=\"" << label_value(run_name(r, run))
           << "\",district=\"" << label_value(c.districts[d].key) << "\",pollutant=\"" << pl
           << "\"} " << metric_number(v) << '\n';
    }
  }
  return os.str();
}

// Road noise of each run's districts.
std::string lden_metrics(const scenario& s, const scenario_result& r,
                         const std::string& scenario_label) {
  const city& c = s.base;
  std::ostringstream os;
  const char* lden = "citytwin_scenario_lden_db";
  os << "# HELP " << lden
     << " Population-weighted mean day-evening-night road noise level of the district.\n# TYPE "
     << lden << " gauge\n";
  for (std::size_t run = 0; run < run_count(r); ++run) {
    const auto& e = run_environment(r, run);
    for (std::size_t d = 0; d < c.districts.size(); ++d)
      os << lden << '{' << scenario_label << ",variant=\"" << label_value(run_name(r, run))
         << "\",district=\"" << label_value(c.districts[d].key) << "\"} "
         << metric_number(e.districts[d].lden_db) << '\n';
  }
  return os.str();
}

}  // namespace

std::string environment_metrics(const scenario& s, const scenario_result& r) {
  if (!r.grid) return {};
  const std::string scenario_label = "scenario=\"" + label_value(s.spec.name) + "\"";
  std::string out = air_metrics(s, r, scenario_label);
  out += emission_metrics(s, r, scenario_label);
  if (r.live_environment) out += observed_metrics(s, *r.live_environment, scenario_label);
  out += lden_metrics(s, r, scenario_label);
  return out;
}

}  // namespace twin::env
