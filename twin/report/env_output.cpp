#include "twin/report/env_output.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "twin/base/text.hpp"

namespace twin::env {

namespace {

using nlohmann::json;

using text::clip;
using text::csv_field;
using text::fixed;
using text::label_value;
using text::metric_number;
using text::pad;
using text::signed_fixed;
using text::xml;

// A round number at or above v, for a colour scale's end.
double nice_ceiling(double v) {
  if (!(v > 0)) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0})
    if (m * p >= v * (1 - 1e-12)) return m * p;
  return 10 * p;
}

struct rgb {
  double r, g, b;
};

std::string hex(rgb c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", static_cast<int>(std::lround(c.r)),
                static_cast<int>(std::lround(c.g)), static_cast<int>(std::lround(c.b)));
  return buf;
}

rgb mix(rgb a, rgb b, double t) {
  return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}

// ColorBrewer YlOrRd, 9 classes; t in [0, 1].
std::string sequential(double t) {
  static constexpr std::array<rgb, 9> stops{{{255, 255, 204},
                                             {255, 237, 160},
                                             {254, 217, 118},
                                             {254, 178, 76},
                                             {253, 141, 60},
                                             {252, 78, 42},
                                             {227, 26, 28},
                                             {189, 0, 38},
                                             {128, 0, 38}}};
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * (stops.size() - 1);
  const auto i = std::min(static_cast<std::size_t>(t), stops.size() - 2);
  return hex(mix(stops[i], stops[i + 1], t - static_cast<double>(i)));
}

// Blue - white - red; t in [-1, 1].
std::string diverging(double t) {
  t = std::clamp(std::isfinite(t) ? t : 0.0, -1.0, 1.0);
  const rgb blue{33, 102, 172}, white{247, 247, 247}, red{178, 24, 43};
  return hex(mix(white, t < 0 ? blue : red, std::abs(t)));
}

const std::vector<double>& values_of(const environment_result& e, pollutant p) {
  TWIN_CHECK(p == pollutant::pm25 || p == pollutant::nox);
  return p == pollutant::pm25 ? e.pm25_ug_m3 : e.no2_ug_m3;
}

std::string_view name_of(pollutant p) {
  return p == pollutant::pm25 ? "pm25" : "no2";
}

std::string_view title_of(pollutant p) {
  return p == pollutant::pm25 ? "PM2.5" : "NO2";
}

std::string district_key(const city& c, const receptor_cell& cell) {
  return cell.district ? c.districts[cell.district->value].key : std::string();
}

json air_json(const air_indicators& a) {
  return {{"mean_ug_m3", a.mean_ug_m3},
          {"exposure_ug_m3", a.exposure_ug_m3},
          {"max_ug_m3", a.max_ug_m3},
          {"people_above_24h", a.people_above_short_term},
          {"share_above_24h", a.share_above_short_term},
          {"people_above_annual", a.people_above_annual},
          {"share_above_annual", a.share_above_annual}};
}

json district_json(const district_environment& d) {
  return {{"cells", d.cells},         {"population", d.population},
          {"pm25", air_json(d.pm25)}, {"no2", air_json(d.no2)},
          {"co2_t_h", d.co2_t_h},     {"nox_kg_h", d.nox_kg_h},
          {"pm25_kg_h", d.pm25_kg_h}, {"road_nox_kg_h", d.road_nox_kg_h},
          {"lden_db", d.lden_db}};
}

json delta_json(const district_environment& now, const district_environment& before) {
  return {
      {"pm25_mean_ug_m3", now.pm25.mean_ug_m3 - before.pm25.mean_ug_m3},
      {"pm25_exposure_ug_m3", now.pm25.exposure_ug_m3 - before.pm25.exposure_ug_m3},
      {"pm25_share_above_24h",
       now.pm25.share_above_short_term - before.pm25.share_above_short_term},
      {"no2_mean_ug_m3", now.no2.mean_ug_m3 - before.no2.mean_ug_m3},
      {"no2_exposure_ug_m3", now.no2.exposure_ug_m3 - before.no2.exposure_ug_m3},
      {"no2_share_above_24h", now.no2.share_above_short_term - before.no2.share_above_short_term},
      {"co2_t_h", now.co2_t_h - before.co2_t_h},
      {"nox_kg_h", now.nox_kg_h - before.nox_kg_h},
      {"pm25_kg_h", now.pm25_kg_h - before.pm25_kg_h},
      {"lden_db", now.lden_db - before.lden_db}};
}

json weather_json(const weather& w) {
  return {{"wind_speed_m_s", w.wind_speed_m_s},
          {"wind_from_deg", w.wind_from_deg},
          {"stability", std::string(1, to_char(w.stability_class))},
          {"mixing_height_m", w.mixing_height_m},
          {"air_temperature_k", w.air_temperature_k}};
}

}  // namespace

std::size_t run_count(const scenario_result& r) {
  return r.variants.size() + 1;
}

std::string run_name(const scenario_result& r, std::size_t run) {
  TWIN_CHECK_OP(run, <, run_count(r));
  return run == 0 ? std::string("baseline") : r.variants[run - 1].name;
}

const environment_result& run_environment(const scenario_result& r, std::size_t run) {
  TWIN_CHECK_OP(run, <, run_count(r));
  const auto& e = run == 0 ? r.baseline.environment : r.variants[run - 1].result.environment;
  TWIN_CHECK(e.has_value());
  return *e;
}

std::string grid_csv(const scenario& s, const scenario_result& r, std::size_t run) {
  TWIN_CHECK(r.grid != nullptr);
  const auto& g = *r.grid;
  const auto& e = run_environment(r, run);
  const auto* b = run > 0 ? &run_environment(r, 0) : nullptr;
  std::ostringstream os;
  os << "cell,row,column,lon,lat,district,population,pm25_ug_m3,no2_ug_m3,lden_db";
  if (b) os << ",delta_pm25_ug_m3,delta_no2_ug_m3,delta_lden_db";
  os << '\n';
  for (std::size_t i = 0; i < g.size(); ++i) {
    const auto& cell = g.cells[i];
    os << i << ',' << i / g.columns << ',' << i % g.columns << ',' << fixed(cell.position.lon, 6)
       << ',' << fixed(cell.position.lat, 6) << ',' << csv_field(district_key(s.base, cell)) << ','
       << fixed(cell.population, 2) << ',' << fixed(e.pm25_ug_m3[i], 4) << ','
       << fixed(e.no2_ug_m3[i], 4) << ',' << fixed(e.lden_db[i], 2);
    if (b)
      os << ',' << fixed(e.pm25_ug_m3[i] - b->pm25_ug_m3[i], 4) << ','
         << fixed(e.no2_ug_m3[i] - b->no2_ug_m3[i], 4) << ','
         << fixed(e.lden_db[i] - b->lden_db[i], 2);
    os << '\n';
  }
  return os.str();
}

std::string grid_geojson(const scenario& s, const scenario_result& r, std::size_t run) {
  TWIN_CHECK(r.grid != nullptr);
  const auto& g = *r.grid;
  const auto& e = run_environment(r, run);
  const auto* b = run > 0 ? &run_environment(r, 0) : nullptr;
  json features = json::array();
  for (std::size_t i = 0; i < g.size(); ++i) {
    const auto& cell = g.cells[i];
    const auto k = g.corners(i);
    json ring = json::array();
    for (int j : {0, 1, 2, 3, 0}) ring.push_back(json::array({k[j].lon, k[j].lat}));
    json p{{"cell", i},
           {"district", cell.district ? json(district_key(s.base, cell)) : json(nullptr)},
           {"population", cell.population},
           {"pm25_ug_m3", e.pm25_ug_m3[i]},
           {"no2_ug_m3", e.no2_ug_m3[i]},
           {"lden_db", e.lden_db[i]}};
    if (b) {
      p["delta_pm25_ug_m3"] = e.pm25_ug_m3[i] - b->pm25_ug_m3[i];
      p["delta_no2_ug_m3"] = e.no2_ug_m3[i] - b->no2_ug_m3[i];
      p["delta_lden_db"] = e.lden_db[i] - b->lden_db[i];
    }
    features.push_back({{"type", "Feature"},
                        {"properties", std::move(p)},
                        {"geometry", {{"type", "Polygon"}, {"coordinates", json::array({ring})}}}});
  }
  json fc{{"type", "FeatureCollection"},
          {"name", s.spec.name + " " + run_name(r, run)},
          {"features", std::move(features)}};
  return fc.dump() + "\n";
}

std::string heat_map_svg(const scenario& s, const scenario_result& r, std::size_t run, pollutant p,
                         bool delta) {
  TWIN_CHECK(r.grid != nullptr);
  TWIN_CHECK(!delta || run > 0);
  const auto& g = *r.grid;
  const city& c = s.base;
  const auto& values = values_of(run_environment(r, run), p);
  const std::vector<double>* base = delta ? &values_of(run_environment(r, 0), p) : nullptr;
  auto value = [&](std::size_t i) { return base ? values[i] - (*base)[i] : values[i]; };

  // The scale's end: the 99th percentile of every run's cells for concentrations (one scale per
  // scenario), of the run's |delta| for deltas; the few cells beside a busy road or under a plume
  // above it take the darkest colour, so that they do not wash out the rest of the map.
  std::vector<double> seen;
  if (delta) {
    for (std::size_t i = 0; i < g.size(); ++i) seen.push_back(std::abs(value(i)));
  } else {
    for (std::size_t k = 0; k < run_count(r); ++k)
      for (double v : values_of(run_environment(r, k), p)) seen.push_back(v);
  }
  double top = 0;
  if (!seen.empty()) {
    const auto at = seen.begin() + static_cast<std::ptrdiff_t>(0.99 * (seen.size() - 1));
    std::nth_element(seen.begin(), at, seen.end());
    top = *at;
  }
  const double scale = nice_ceiling(top);
  auto colour = [&](double v) { return delta ? diverging(v / scale) : sequential(v / scale); };

  const double width = 1000, map_top = 70, legend_height = 90;
  const double extent_x = g.columns * g.resolution_m, extent_y = g.rows * g.resolution_m;
  const double px = std::min((width - 40) / extent_x, 760 / extent_y);
  const double map_height = extent_y * px;
  const double x0 = (width - extent_x * px) / 2;
  auto sx = [&](double x) { return x0 + (x - g.south_west.x) * px; };
  auto sy = [&](double y) { return map_top + map_height - (y - g.south_west.y) * px; };
  const double height = map_top + map_height + legend_height;

  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\""
     << fixed(height, 0) << "\" viewBox=\"0 0 " << width << ' ' << fixed(height, 0)
     << "\" font-family=\"DejaVu Sans, Arial, sans-serif\">\n";
  os << "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  os << "<text x=\"20\" y=\"32\" font-size=\"22\" font-weight=\"bold\">" << xml(s.spec.title)
     << "</text>\n";
  std::string subtitle = c.name + ", " + run_name(r, run) + ": " + (delta ? "change in " : "") +
                         std::string(title_of(p)) + " at ground level (ug/m3)" +
                         (delta ? " against the baseline" : "");
  os << "<text x=\"20\" y=\"56\" font-size=\"14\" fill=\"#444\">" << xml(subtitle) << "</text>\n";
  const double cell_px = g.resolution_m * px;
  os << "<g shape-rendering=\"crispEdges\">\n";
  for (std::size_t i = 0; i < g.size(); ++i) {
    const auto& cell = g.cells[i];
    os << "<rect x=\"" << fixed(sx(cell.centre.x - g.resolution_m / 2), 2) << "\" y=\""
       << fixed(sy(cell.centre.y + g.resolution_m / 2), 2) << "\" width=\"" << fixed(cell_px, 2)
       << "\" height=\"" << fixed(cell_px, 2) << "\" fill=\"" << colour(value(i)) << "\""
       << (cell.district ? "" : " fill-opacity=\"0.45\"") << "/>\n";
  }
  os << "</g>\n<g fill=\"none\" stroke=\"#333333\" stroke-width=\"1.2\">\n";
  for (const auto& d : c.districts) {
    os << "<path fill-rule=\"evenodd\" d=\"";
    for (const auto& poly : d.area)
      for (const auto& ring : poly.rings) {
        for (std::size_t i = 0; i < ring.size(); ++i) {
          const xy q = g.frame.to_xy(ring[i]);
          os << (i == 0 ? 'M' : 'L') << fixed(sx(q.x), 1) << ' ' << fixed(sy(q.y), 1);
        }
        os << 'Z';
      }
    os << "\"><title>" << xml(d.name) << "</title></path>\n";
  }
  os << "</g>\n";

  // Legend: the scale in 10 steps; for concentrations, the guideline marked.
  const double ly = map_top + map_height + 20;
  os << "<text x=\"20\" y=\"" << fixed(ly, 0) << "\" font-size=\"13\">"
     << (delta ? "Change in " : "") << title_of(p) << " (ug/m3)"
     << (delta ? ": blue cleaner, red dirtier" : "") << "</text>\n";
  for (int i = 0; i < 10; ++i) {
    const double t = delta ? -1 + (i + 0.5) / 5 : (i + 0.5) / 10;
    os << "<rect x=\"" << 40 + i * 30 << "\" y=\"" << fixed(ly + 8, 0)
       << "\" width=\"30\" height=\"14\" fill=\"" << (delta ? diverging(t) : sequential(t))
       << "\"/>\n";
  }
  for (int i = 0; i <= 2; ++i) {
    const double v = delta ? -scale + i * scale : i * scale / 2;
    // The ends are open: the cells beyond the scale take its end colours.
    const char* open_end = i == 2 ? "&#8805; " : (delta && i == 0 ? "&#8804; " : "");
    os << "<text x=\"" << 40 + i * 150 << "\" y=\"" << fixed(ly + 38, 0)
       << "\" font-size=\"11\" text-anchor=\"middle\">" << open_end
       << (delta ? signed_fixed(v, 2) : fixed(v, 1)) << "</text>\n";
  }
  if (!delta) {
    const auto& settings = s.spec.environment;
    const double guide =
        p == pollutant::pm25 ? settings.short_term.pm25_ug_m3 : settings.short_term.no2_ug_m3;
    if (guide <= scale) {
      const double x = 40 + 300 * guide / scale;
      os << "<line x1=\"" << fixed(x, 1) << "\" y1=\"" << fixed(ly + 4, 0) << "\" x2=\""
         << fixed(x, 1) << "\" y2=\"" << fixed(ly + 26, 0)
         << "\" stroke=\"#000\" stroke-width=\"2\"/>\n";
    }
    os << "<text x=\"360\" y=\"" << fixed(ly + 20, 0) << "\" font-size=\"12\">black mark: "
       << "24-hour guideline " << fixed(guide, 0) << " ug/m3 (WHO 2021 by default)</text>\n";
  }
  os << "<text x=\"20\" y=\"" << fixed(ly + 60, 0) << "\" font-size=\"11\" fill=\"#555\">Cells of "
     << fixed(g.resolution_m, 0)
     << " m; faded cells lie in no district (sea). Lines: district boundaries.</text>\n";
  os << "</svg>\n";
  return os.str();
}

namespace {

json sensor_count_json(const live_sensor_count& n) {
  return {{"fresh", n.fresh},
          {"stale", n.stale},
          {"silent", n.silent},
          {"outside_grid", n.outside_grid}};
}

json summary_json(const observed_summary& x, const live_sensor_count& n) {
  json j{{"sensors", x.sensors},
         {"count", sensor_count_json(n)},
         {"mean_observed_ug_m3", x.mean_observed_ug_m3},
         {"mean_modelled_ug_m3", x.mean_modelled_ug_m3},
         {"mean_bias_ug_m3", x.mean_bias_ug_m3},
         {"rmse_ug_m3", x.rmse_ug_m3},
         {"correlation", nullptr}};
  if (x.correlation) j["correlation"] = *x.correlation;
  return j;
}

json background_fit_json(const city& c, const background_fit& f) {
  json districts = json::object();
  for (std::size_t d = 0; d < c.districts.size() && d < f.district_ug_m3.size(); ++d)
    districts[c.districts[d].key] = {{"ug_m3", f.district_ug_m3[d]},
                                     {"source", to_string(f.district_source[d])}};
  return {{"source", to_string(f.city)},
          {"city_ug_m3", f.city_ug_m3},
          {"districts", std::move(districts)}};
}

// summary.json's environment -> observed: where the weather and the backgrounds came from, and the
// modelled baseline against every fresh air-quality sensor.
json observed_json(const city& c, const live_coupling& lc) {
  json sensors = json::array();
  for (const auto& o : lc.sensors) {
    json j{{"key", o.key},
           {"pollutant", name_of(o.p)},
           {"district", o.district.valid() && o.district.value < c.districts.size()
                            ? json(c.districts[o.district.value].key)
                            : json(nullptr)},
           {"time_ms", o.time},
           {"observed_ug_m3", o.observed_ug_m3},
           {"cell", nullptr}};
    if (o.cell) {
      j["cell"] = *o.cell;
      j["local_ug_m3"] = o.local_ug_m3;
      j["modelled_ug_m3"] = o.modelled_ug_m3;
      j["bias_ug_m3"] = o.modelled_ug_m3 - o.observed_ug_m3;
    }
    sensors.push_back(std::move(j));
  }
  return {{"node", lc.node},
          {"as_of_ms", lc.as_of},
          {"stale_after_ms", lc.stale_after_ms},
          {"weather",
           {{"wind_speed", to_string(lc.wind_speed)},
            {"wind_from", to_string(lc.wind_from)},
            {"wind_speed_sensors", sensor_count_json(lc.wind_speed_sensors)},
            {"wind_direction_sensors", sensor_count_json(lc.wind_direction_sensors)}}},
          {"background",
           {{"pm25", background_fit_json(c, lc.pm25_background)},
            {"no2", background_fit_json(c, lc.no2_background)}}},
          {"sensors", std::move(sensors)},
          {"summary",
           {{"pm25", summary_json(lc.pm25, lc.pm25_sensors)},
            {"no2", summary_json(lc.no2, lc.no2_sensors)}}}};
}

}  // namespace

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

json environment_json(const scenario& s, const scenario_result& r) {
  // With a live base, the settings the runs used: the file's with the live weather and backgrounds.
  const auto& e = r.live_environment ? r.live_environment->settings : s.spec.environment;
  const city& c = s.base;
  json settings{{"weather", weather_json(e.w)},
                {"background",
                 {{"pm25_ug_m3", e.background.pm25_ug_m3}, {"no2_ug_m3", e.background.no2_ug_m3}}},
                {"grid",
                 {{"resolution_m", r.grid ? r.grid->resolution_m : e.grid.resolution_m},
                  {"columns", r.grid ? r.grid->columns : 0},
                  {"rows", r.grid ? r.grid->rows : 0},
                  {"origin_lon", r.grid ? r.grid->frame.origin().lon : 0.0},
                  {"origin_lat", r.grid ? r.grid->frame.origin().lat : 0.0}}},
                {"sigmas", to_string(e.scheme)},
                {"no2_from_nox", e.no2_from_nox},
                {"receptor_height_m", e.receptor_height_m},
                {"guidelines",
                 {{"pm25_24h_ug_m3", e.short_term.pm25_ug_m3},
                  {"no2_24h_ug_m3", e.short_term.no2_ug_m3},
                  {"pm25_annual_ug_m3", e.annual.pm25_ug_m3},
                  {"no2_annual_ug_m3", e.annual.no2_ug_m3}}},
                {"noise_periods",
                 {{"day", e.noise_periods.day},
                  {"evening", e.noise_periods.evening},
                  {"night", e.noise_periods.night}}}};
  json bg = json::object();
  for (std::size_t d = 0; d < e.district_background.size() && d < c.districts.size(); ++d)
    if (const auto& b = e.district_background[d])
      bg[c.districts[d].key] = {{"pm25_ug_m3", b->pm25_ug_m3}, {"no2_ug_m3", b->no2_ug_m3}};
  if (!bg.empty()) settings["background"]["districts"] = std::move(bg);

  auto run_json = [&](std::size_t run) {
    const auto& now = run_environment(r, run);
    const auto* before = run > 0 ? &run_environment(r, 0) : nullptr;
    json j{{"name", run_name(r, run)},
           {"traffic_reused", now.traffic_reused},
           {"weather", weather_json(now.w)},
           {"sources", now.sources},
           {"city", district_json(now.city)}};
    if (run > 0) {
      json changes = json::array();
      for (const auto& p : s.spec.variants[run - 1].environment)
        changes.push_back({{"kind", to_string(p.kind)}, {"target", p.target}, {"line", p.line}});
      j["perturbations"] = std::move(changes);
    }
    if (before) j["delta"] = delta_json(now.city, before->city);
    json districts = json::array();
    for (std::size_t d = 0; d < c.districts.size(); ++d) {
      json dj = district_json(now.districts[d]);
      dj["key"] = c.districts[d].key;
      dj["name"] = c.districts[d].name;
      if (before) dj["delta"] = delta_json(now.districts[d], before->districts[d]);
      districts.push_back(std::move(dj));
    }
    j["districts"] = std::move(districts);
    return j;
  };
  json variants = json::array();
  for (std::size_t v = 0; v < r.variants.size(); ++v) variants.push_back(run_json(v + 1));
  json out{{"settings", std::move(settings)},
           {"baseline", run_json(0)},
           {"variants", std::move(variants)}};
  if (r.live_environment) out["observed"] = observed_json(c, *r.live_environment);
  return out;
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

}  // namespace

std::string environment_metrics(const scenario& s, const scenario_result& r) {
  if (!r.grid) return {};
  const city& c = s.base;
  const std::string scenario_label = "scenario=\"" + label_value(s.spec.name) + "\"";
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
  if (r.live_environment) os << observed_metrics(s, *r.live_environment, scenario_label);

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

std::vector<std::pair<std::string, std::string>> environment_files(const scenario& s,
                                                                   const scenario_result& r) {
  std::vector<std::pair<std::string, std::string>> files;
  if (!r.grid) return files;
  for (std::size_t run = 0; run < run_count(r); ++run) {
    const auto name = run_name(r, run);
    files.emplace_back("grid_" + name + ".csv", grid_csv(s, r, run));
    files.emplace_back("grid_" + name + ".geojson", grid_geojson(s, r, run));
    for (auto p : {pollutant::pm25, pollutant::nox}) {
      files.emplace_back("heatmap_" + name + "_" + std::string(name_of(p)) + ".svg",
                         heat_map_svg(s, r, run, p, false));
      if (run > 0)
        files.emplace_back("heatmap_" + name + "_" + std::string(name_of(p)) + "_delta.svg",
                           heat_map_svg(s, r, run, p, true));
    }
  }
  return files;
}

}  // namespace twin::env
