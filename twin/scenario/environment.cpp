#include "twin/scenario/environment.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <utility>

#include "twin/env/weather.hpp"

namespace twin::env {

std::string_view to_string(env_change_kind k) {
  switch (k) {
    case env_change_kind::weather:
      return "weather";
    case env_change_kind::background:
      return "background";
    case env_change_kind::ban:
      return "ban";
    case env_change_kind::electrify:
      return "electrify";
    case env_change_kind::low_emission_zone:
      return "low_emission_zone";
    case env_change_kind::add_source:
      return "add_source";
    case env_change_kind::remove_source:
      return "remove_source";
    case env_change_kind::source:
      return "source";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// Coupling to the live twin.

std::string_view to_string(value_source s) {
  switch (s) {
    case value_source::file:
      return "file";
    case value_source::live:
      return "live";
    case value_source::none:
      return "none";
  }
  return "?";
}

std::optional<std::uint32_t> cell_holding(const receptor_grid& grid, lon_lat position) {
  if (!(grid.resolution_m > 0)) return std::nullopt;
  const xy p = grid.frame.to_xy(position);
  const double column = std::floor((p.x - grid.south_west.x) / grid.resolution_m);
  const double row = std::floor((p.y - grid.south_west.y) / grid.resolution_m);
  if (!(column >= 0) || !(row >= 0) || column >= grid.columns || row >= grid.rows)
    return std::nullopt;
  return static_cast<std::uint32_t>(row) * grid.columns + static_cast<std::uint32_t>(column);
}

observed_summary summarise_observed(std::span<const observed_sensor> sensors, pollutant p) {
  observed_summary s;
  double sum_o = 0, sum_m = 0, sum_d2 = 0;
  for (const auto& x : sensors) {
    if (x.p != p || !x.cell) continue;
    ++s.sensors;
    sum_o += x.observed_ug_m3;
    sum_m += x.modelled_ug_m3;
    const double d = x.modelled_ug_m3 - x.observed_ug_m3;
    sum_d2 += d * d;
  }
  if (s.sensors == 0) return s;
  const double n = static_cast<double>(s.sensors);
  s.mean_observed_ug_m3 = sum_o / n;
  s.mean_modelled_ug_m3 = sum_m / n;
  s.mean_bias_ug_m3 = s.mean_modelled_ug_m3 - s.mean_observed_ug_m3;
  s.rmse_ug_m3 = std::sqrt(sum_d2 / n);
  if (s.sensors < 3) return s;
  double so = 0, sm = 0, som = 0;
  for (const auto& x : sensors) {
    if (x.p != p || !x.cell) continue;
    const double a = x.observed_ug_m3 - s.mean_observed_ug_m3;
    const double b = x.modelled_ug_m3 - s.mean_modelled_ug_m3;
    so += a * a;
    sm += b * b;
    som += a * b;
  }
  // Without spread on either side the correlation is undefined, not 0.
  if (so > 0 && sm > 0) s.correlation = som / std::sqrt(so * sm);
  return s;
}

namespace {

double& background_of(air_background& b, pollutant p) {
  return p == pollutant::pm25 ? b.pm25_ug_m3 : b.no2_ug_m3;
}

bool given(const background_given& g, pollutant p) {
  return p == pollutant::pm25 ? g.pm25 : g.no2;
}

double background_at(const environment_settings& e, const receptor_cell& cell, pollutant p) {
  if (cell.district && cell.district->value < e.district_background.size())
    if (auto b = e.district_background[cell.district->value]) return background_of(*b, p);
  auto b = e.background;
  return background_of(b, p);
}

double median(std::vector<double> v) {
  TWIN_CHECK(!v.empty());
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

namespace {

// Counts the live sensors of each kind and keeps the fresh air-quality readings, PM2.5 first.
void take_live_sensors(live_coupling& lc, const city& c, const live_snapshot& s,
                       std::optional<time_ms> stale_after_ms, const receptor_grid& grid) {
  std::unordered_map<std::string_view, const sensor*> by_key;
  for (const auto& x : c.sensors) by_key.emplace(x.key, &x);
  for (const auto& x : s.sensors) {
    live_sensor_count* count = nullptr;
    switch (x.kind) {
      case sensor_kind::pm25:
        count = &lc.pm25_sensors;
        break;
      case sensor_kind::no2:
        count = &lc.no2_sensors;
        break;
      case sensor_kind::wind_speed:
        count = &lc.wind_speed_sensors;
        break;
      case sensor_kind::wind_direction:
        count = &lc.wind_direction_sensors;
        break;
      default:
        continue;
    }
    if (!x.reported || !std::isfinite(x.value)) {
      ++count->silent;
      continue;
    }
    if (!live_fresh(x.time, s.as_of, live_stale_after_ms(c, x, stale_after_ms))) {
      ++count->stale;
      continue;
    }
    ++count->fresh;
    if (x.kind != sensor_kind::pm25 && x.kind != sensor_kind::no2) continue;
    auto it = by_key.find(x.key);
    // The snapshot was checked against the city: every sensor key is the city's.
    TWIN_CHECK(it != by_key.end());
    observed_sensor o;
    o.key = x.key;
    o.p = x.kind == sensor_kind::pm25 ? pollutant::pm25 : pollutant::nox;
    o.district = it->second->district;
    o.position = it->second->position;
    o.cell = cell_holding(grid, o.position);
    o.observed_ug_m3 = x.value;
    o.time = x.time;
    if (!o.cell) ++count->outside_grid;
    lc.sensors.push_back(std::move(o));
  }
  std::stable_partition(lc.sensors.begin(), lc.sensors.end(),
                        [](const observed_sensor& o) { return o.p == pollutant::pm25; });
}

// Wind the file does not give comes from the fresh live readings, over the file's station.
void take_live_wind(live_coupling& lc, const city& c, const environment_settings& settings,
                    const live_snapshot& s, std::optional<time_ms> stale_after_ms,
                    const receptor_grid& grid) {
  const auto speed = fresh_mean(s, sensor_kind::wind_speed, c, stale_after_ms);
  const auto from = fresh_mean(s, sensor_kind::wind_direction, c, stale_after_ms);
  lc.wind_speed = settings.wind_speed_given ? value_source::file
                  : speed                   ? value_source::live
                                            : value_source::none;
  lc.wind_from = settings.wind_from_given ? value_source::file
                 : from                   ? value_source::live
                                          : value_source::none;
  if (lc.wind_speed != value_source::live && lc.wind_from != value_source::live) return;
  station_report report;
  if (settings.station) {
    report = *settings.station;
  } else {
    report.wind_speed_m_s = settings.w.wind_speed_m_s;
    report.wind_from_deg = settings.w.wind_from_deg;
    report.air_temperature_k = settings.w.air_temperature_k;
    report.stability_class = settings.w.stability_class;
    if (settings.mixing_height_given) report.mixing_height_m = settings.w.mixing_height_m;
  }
  if (lc.wind_speed == value_source::live) report.wind_speed_m_s = *speed;
  if (lc.wind_from == value_source::live) report.wind_from_deg = *from;
  lc.settings.w = make_weather(report, settings.station_time, grid.frame.origin());
}

// The backgrounds to fit start at 0: a run with these settings is the local contribution.
void clear_backgrounds_to_fit(live_coupling& lc, const city& c,
                              const environment_settings& settings) {
  auto& e = lc.settings;
  for (auto p : {pollutant::pm25, pollutant::nox}) {
    auto& fit = p == pollutant::pm25 ? lc.pm25_background : lc.no2_background;
    fit.district_ug_m3.assign(c.districts.size(), 0);
    fit.district_source.assign(c.districts.size(), value_source::none);
    if (given(settings.background_set, p)) {
      fit.city = value_source::file;
      fit.city_ug_m3 = background_of(e.background, p);
      continue;
    }
    background_of(e.background, p) = 0;
    for (std::size_t d = 0; d < c.districts.size(); ++d) {
      auto& b = e.district_background[d];
      if (b && given(e.district_background_set[d], p)) continue;
      if (!b) b = e.background;
      background_of(*b, p) = 0;
    }
  }
}

}  // namespace

live_coupling couple_weather(const city& c, const environment_settings& settings,
                             const live_snapshot& s, std::optional<time_ms> stale_after_ms,
                             const receptor_grid& grid) {
  live_coupling lc;
  lc.node = s.node;
  lc.snapshot = s.snapshot;
  lc.as_of = s.as_of;
  lc.stale_after_ms = stale_after_ms;
  lc.settings = settings;
  lc.settings.district_background.resize(c.districts.size());
  lc.settings.district_background_set.resize(c.districts.size());
  take_live_sensors(lc, c, s, stale_after_ms, grid);
  take_live_wind(lc, c, settings, s, stale_after_ms, grid);
  clear_backgrounds_to_fit(lc, c, settings);
  return lc;
}

void fit_background(live_coupling& lc, const city& c, const receptor_grid& grid,
                    const environment_result& local) {
  auto& e = lc.settings;
  for (auto& o : lc.sensors) {
    if (!o.cell) continue;
    const auto& values = o.p == pollutant::pm25 ? local.pm25_ug_m3 : local.no2_ug_m3;
    o.local_ug_m3 = values[*o.cell] - background_at(e, grid.cells[*o.cell], o.p);
  }
  for (auto p : {pollutant::pm25, pollutant::nox}) {
    auto& fit = p == pollutant::pm25 ? lc.pm25_background : lc.no2_background;
    for (std::size_t d = 0; d < c.districts.size(); ++d) {
      const auto& b = e.district_background[d];
      if (b && given(e.district_background_set[d], p)) {
        fit.district_source[d] = value_source::file;
        fit.district_ug_m3[d] = background_of(*e.district_background[d], p);
      }
    }
    if (fit.city == value_source::file) {
      for (std::size_t d = 0; d < c.districts.size(); ++d) {
        if (fit.district_source[d] == value_source::file) continue;
        fit.district_source[d] = value_source::file;
        fit.district_ug_m3[d] = fit.city_ug_m3;
      }
      continue;
    }
    std::vector<double> residuals;
    std::vector<double> observed(c.districts.size(), 0), modelled(c.districts.size(), 0);
    std::vector<std::size_t> count(c.districts.size(), 0);
    for (const auto& o : lc.sensors) {
      if (o.p != p || !o.cell) continue;
      residuals.push_back(o.observed_ug_m3 - o.local_ug_m3);
      if (!o.district.valid() || o.district.value >= c.districts.size()) continue;
      observed[o.district.value] += o.observed_ug_m3;
      modelled[o.district.value] += o.local_ug_m3;
      ++count[o.district.value];
    }
    if (!residuals.empty()) {
      fit.city = value_source::live;
      fit.city_ug_m3 = std::max(0.0, median(residuals));
    }
    for (std::size_t d = 0; d < c.districts.size(); ++d) {
      if (fit.district_source[d] == value_source::file) continue;
      if (count[d] > 0) {
        const double n = static_cast<double>(count[d]);
        fit.district_source[d] = value_source::live;
        fit.district_ug_m3[d] = std::max(0.0, observed[d] / n - modelled[d] / n);
      } else {
        fit.district_source[d] = fit.city;
        fit.district_ug_m3[d] = fit.city_ug_m3;
      }
    }
    background_of(e.background, p) = fit.city_ug_m3;
    for (std::size_t d = 0; d < c.districts.size(); ++d) {
      if (fit.district_source[d] == value_source::file) continue;
      auto& b = e.district_background[d];
      if (!b) b = e.background;
      background_of(*b, p) = fit.district_ug_m3[d];
    }
  }
}

void compare_observed(live_coupling& lc, const environment_result& baseline) {
  for (auto& o : lc.sensors) {
    if (!o.cell) continue;
    const auto& values = o.p == pollutant::pm25 ? baseline.pm25_ug_m3 : baseline.no2_ug_m3;
    o.modelled_ug_m3 = values[*o.cell];
  }
  lc.pm25 = summarise_observed(lc.sensors, pollutant::pm25);
  lc.no2 = summarise_observed(lc.sensors, pollutant::nox);
}

weather apply_weather(const environment_settings& settings,
                      std::span<const env_perturbation> changes) {
  weather w = settings.w;
  bool mixing_given = settings.mixing_height_given;
  bool changed = false;
  for (const auto& p : changes) {
    if (p.kind != env_change_kind::weather) continue;
    const auto& c = p.weather;
    if (c.wind_speed_m_s) w.wind_speed_m_s = *c.wind_speed_m_s;
    if (c.wind_from_deg) w.wind_from_deg = *c.wind_from_deg;
    if (c.stability_class) w.stability_class = *c.stability_class;
    if (c.air_temperature_k) w.air_temperature_k = *c.air_temperature_k;
    if (c.mixing_height_m) {
      w.mixing_height_m = *c.mixing_height_m;
      mixing_given = true;
    }
    changed = true;
  }
  // A default mixing height follows the wind and the class it was derived from.
  if (changed && !mixing_given)
    w.mixing_height_m = default_mixing_height_m(w.stability_class, w.wind_speed_m_s);
  return w;
}

void disperse_on_grid(const weather& w, const dispersion_options& o,
                      std::span<const point_emitter> points, std::span<const line_emitter> lines,
                      const receptor_grid& grid,
                      std::array<std::span<double>, pollutant_count> out) {
  const auto receptors = grid.centres();
  disperse(w, o, points, lines, receptors, out);
}

namespace {

bool applies_to(const env_perturbation& p, district_id d) {
  return p.districts.empty() ||
         std::find(p.districts.begin(), p.districts.end(), d) != p.districts.end();
}

// Distance from p to the segment a-b.
double distance_to_segment(xy p, xy a, xy b) {
  const double dx = b.x - a.x, dy = b.y - a.y;
  const double len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2 : 0;
  t = std::clamp(t, 0.0, 1.0);
  return std::hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}

// A cell where no road is heard: a quiet residential night, so that district means stay finite.
constexpr double noise_floor_db = 30;

air_indicators air_over(std::span<const std::uint32_t> cells, const receptor_grid& grid,
                        const std::vector<double>& value, double short_term, double annual) {
  air_indicators a;
  if (cells.empty()) return a;
  double sum = 0, weighted = 0, population = 0;
  a.max_ug_m3 = -std::numeric_limits<double>::infinity();
  for (auto i : cells) {
    const double v = value[i];
    const double pop = grid.cells[i].population;
    sum += v;
    weighted += pop * v;
    population += pop;
    a.max_ug_m3 = std::max(a.max_ug_m3, v);
    if (v > short_term) a.people_above_short_term += pop;
    if (v > annual) a.people_above_annual += pop;
  }
  a.mean_ug_m3 = sum / static_cast<double>(cells.size());
  a.exposure_ug_m3 = population > 0 ? weighted / population : a.mean_ug_m3;
  a.share_above_short_term = population > 0 ? a.people_above_short_term / population : 0;
  a.share_above_annual = population > 0 ? a.people_above_annual / population : 0;
  return a;
}

double lden_over(std::span<const std::uint32_t> cells, const receptor_grid& grid,
                 const std::vector<double>& lden_db) {
  if (cells.empty()) return 0;
  double sum = 0, weighted = 0, population = 0;
  for (auto i : cells) {
    sum += lden_db[i];
    weighted += grid.cells[i].population * lden_db[i];
    population += grid.cells[i].population;
  }
  return population > 0 ? weighted / population : sum / static_cast<double>(cells.size());
}

void add_emissions(district_environment& d, const per_pollutant& g_s, bool road) {
  // g/s to kg/h: x 3600 / 1000; CO2 to t/h: x 3600 / 1e6.
  d.nox_kg_h += g_s[index(pollutant::nox)] * 3.6;
  d.pm25_kg_h += g_s[index(pollutant::pm25)] * 3.6;
  d.co2_t_h += g_s[index(pollutant::co2)] * 3.6e-3;
  if (road) d.road_nox_kg_h += g_s[index(pollutant::nox)] * 3.6;
}

}  // namespace

std::vector<district_fleet> district_fleets(const city& c,
                                            std::span<const env_perturbation> changes) {
  const fleet_mix base = c.fleet.shares.empty() ? default_fleet_mix() : c.fleet;
  std::vector<district_fleet> out(c.districts.size(), district_fleet{base, 1.0});
  for (std::size_t d = 0; d < c.districts.size(); ++d) {
    auto& f = out[d];
    const district_id id = c.districts[d].id;
    for (const auto& p : changes) {
      if (!applies_to(p, id)) continue;
      switch (p.kind) {
        case env_change_kind::ban: {
          auto r = ban(f.mix, p.vehicles);
          f.mix = std::move(r.mix);
          f.flow_factor *= r.flow_factor;
          break;
        }
        case env_change_kind::electrify:
          f.mix = electrify(f.mix, p.vehicles.category, p.share);
          break;
        case env_change_kind::low_emission_zone: {
          auto r = low_emission_zone(f.mix, p.minimum, p.replacement);
          f.mix = std::move(r.mix);
          f.flow_factor *= r.flow_factor;
          break;
        }
        default:
          break;
      }
    }
  }
  return out;
}

std::vector<emission_source> perturbed_sources(const city& c,
                                               std::span<const env_perturbation> changes) {
  std::vector<emission_source> out = c.sources;
  for (const auto& p : changes) {
    switch (p.kind) {
      case env_change_kind::add_source:
        out.push_back(p.source);
        break;
      case env_change_kind::remove_source:
        std::erase_if(out, [&](const emission_source& s) { return s.key == p.key; });
        break;
      case env_change_kind::source:
        for (auto& s : out) {
          if (s.key != p.key) continue;
          s.nox_g_s *= p.factor;
          s.pm25_g_s *= p.factor;
          s.co2_g_s *= p.factor;
        }
        break;
      default:
        break;
    }
  }
  return out;
}

namespace {

// The air background, city-wide and per district, after the background changes in order.
struct changed_backgrounds {
  air_background city;
  std::vector<std::optional<air_background>> district;
};

changed_backgrounds change_backgrounds(const environment_settings& settings,
                                       std::span<const env_perturbation> changes,
                                       std::size_t district_count) {
  air_background city_bg = settings.background;
  std::vector<std::optional<air_background>> district_bg = settings.district_background;
  district_bg.resize(district_count);
  for (const auto& p : changes) {
    if (p.kind != env_change_kind::background) continue;
    auto change = [&](air_background& b) {
      if (p.pm25_ug_m3) b.pm25_ug_m3 = *p.pm25_ug_m3;
      if (p.no2_ug_m3) b.no2_ug_m3 = *p.no2_ug_m3;
    };
    if (p.districts.empty()) {
      change(city_bg);
      for (auto& b : district_bg)
        if (b) change(*b);
    } else {
      for (auto d : p.districts) {
        if (!district_bg[d.value]) district_bg[d.value] = city_bg;
        change(*district_bg[d.value]);
      }
    }
  }
  return {city_bg, std::move(district_bg)};
}

// The roads as line emitters and noise segments; their emissions are added to their districts.
void road_emitters(const city& c, std::span<const env_perturbation> changes,
                   std::span<const link_traffic> links, const receptor_grid& grid,
                   std::vector<district_environment>& districts, std::vector<line_emitter>& lines,
                   std::vector<noise_segment>& noise) {
  const std::size_t district_count = districts.size();
  const auto fleets = district_fleets(c, changes);
  lines.reserve(links.size());
  for (const auto& l : links) {
    if (!(l.flow_veh_h > 0) || !(l.length_m > 0) || !l.district.valid() ||
        l.district.value >= district_count)
      continue;
    const auto& f = fleets[l.district.value];
    const double flow = l.flow_veh_h * f.flow_factor;
    if (!(flow > 0) || f.mix.shares.empty()) continue;
    const auto e = link_emissions(f.mix, flow, l.speed_kmh, l.length_m);
    add_emissions(districts[l.district.value], e.g_s, true);
    const xy a = grid.frame.to_xy(l.from), b = grid.frame.to_xy(l.to);
    const double straight_m = std::hypot(b.x - a.x, b.y - a.y);
    if (!(straight_m > 0)) continue;
    line_emitter le;
    le.a = a;
    le.b = b;
    le.release_height_m = 0;
    le.initial_sigma_z_m = road_initial_sigma_z_m;
    for (std::size_t p = 0; p < pollutant_count; ++p) le.g_m_s[p] = e.g_s[p] / straight_m;
    lines.push_back(le);
    // The sound power of the road's length on the straight segment: energy kept, as for mass.
    noise_segment ns{a, b, line_sound_power_db_per_m(f.mix, flow, l.speed_kmh)};
    const double stretch_db = 10 * std::log10(l.length_m / straight_m);
    for (auto& band : ns.power_db_per_m) band += stretch_db;
    noise.push_back(ns);
  }
}

// The (changed) point sources as emitters; their emissions are added to their districts.
std::vector<point_emitter> source_emitters(const city& c, std::span<const env_perturbation> changes,
                                           const receptor_grid& grid,
                                           std::vector<district_environment>& districts) {
  const std::size_t district_count = districts.size();
  std::vector<point_emitter> points;
  for (const auto& s : perturbed_sources(c, changes)) {
    point_emitter pe;
    pe.at = grid.frame.to_xy(s.position);
    pe.s = {s.stack_height_m, s.stack_diameter_m, s.exit_velocity_m_s, s.exit_temperature_k};
    pe.g_s[index(pollutant::nox)] = s.nox_g_s;
    pe.g_s[index(pollutant::pm25)] = s.pm25_g_s;
    pe.g_s[index(pollutant::co2)] = s.co2_g_s;
    if (s.district.valid() && s.district.value < district_count)
      add_emissions(districts[s.district.value], pe.g_s, false);
    points.push_back(pe);
  }
  return points;
}

// Disperses the emitters over the grid and adds each cell's background.
void air_on_grid(environment_result& r, const environment_settings& settings,
                 std::span<const point_emitter> points, std::span<const line_emitter> lines,
                 const changed_backgrounds& bg_of, const receptor_grid& grid,
                 const grid_function& on_grid) {
  dispersion_options o;
  o.scheme = settings.scheme;
  o.receptor_height_m = settings.receptor_height_m;
  o.urban = settings.scheme != sigma_scheme::briggs_rural;
  const std::size_t n = grid.size();
  std::vector<double> nox(n, 0.0), pm25(n, 0.0);
  std::array<std::span<double>, pollutant_count> out{};
  out[index(pollutant::nox)] = nox;
  out[index(pollutant::pm25)] = pm25;
  if (on_grid)
    on_grid(r.w, o, points, lines, grid, out);
  else
    disperse_on_grid(r.w, o, points, lines, grid, out);
  r.pairs = static_cast<std::uint64_t>(n) * (points.size() + lines.size());

  r.pm25_ug_m3.resize(n);
  r.no2_ug_m3.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& d = grid.cells[i].district;
    const air_background& bg =
        d && bg_of.district[d->value] ? *bg_of.district[d->value] : bg_of.city;
    r.pm25_ug_m3[i] = pm25[i] * 1e6 + bg.pm25_ug_m3;
    r.no2_ug_m3[i] = settings.no2_from_nox * nox[i] * 1e6 + bg.no2_ug_m3;
  }
}

// Noise: the modelled hour's level, shifted to each period by its flow factor (same speed).
std::vector<double> lden_on_grid(const environment_settings& settings,
                                 std::span<const noise_segment> noise, const receptor_grid& grid) {
  const std::size_t n = grid.size();
  std::vector<double> lden_db(n, noise_floor_db);
  const auto& pf = settings.noise_periods;
  const double day_db = 10 * std::log10(pf.day), evening_db = 10 * std::log10(pf.evening),
               night_db = 10 * std::log10(pf.night);
  propagation_options po;
  po.angle_steps = 16;
  std::vector<noise_segment> near;
  for (std::size_t i = 0; i < n; ++i) {
    const xy p = grid.cells[i].centre;
    near.clear();
    for (const auto& s : noise)
      if (distance_to_segment(p, s.a, s.b) <= noise_distance_max_m) near.push_back(s);
    if (near.empty()) continue;
    const double hour_db = level_at(near, p, po);
    if (!std::isfinite(hour_db)) continue;
    const double l = lden(hour_db + day_db, hour_db + evening_db, hour_db + night_db);
    lden_db[i] = std::max(l, noise_floor_db);
  }
  return lden_db;
}

// The indicators of each district, then of the city over the cells of all districts.
void summarise_districts(environment_result& r, const environment_settings& settings,
                         const receptor_grid& grid) {
  std::vector<std::uint32_t> all;
  for (std::size_t d = 0; d < r.districts.size(); ++d) {
    const auto& cells = grid.cells_of_district[d];
    auto& de = r.districts[d];
    de.cells = cells.size();
    for (auto i : cells) de.population += grid.cells[i].population;
    de.pm25 = air_over(cells, grid, r.pm25_ug_m3, settings.short_term.pm25_ug_m3,
                       settings.annual.pm25_ug_m3);
    de.no2 = air_over(cells, grid, r.no2_ug_m3, settings.short_term.no2_ug_m3,
                      settings.annual.no2_ug_m3);
    de.lden_db = lden_over(cells, grid, r.lden_db);
    all.insert(all.end(), cells.begin(), cells.end());
    r.city.co2_t_h += de.co2_t_h;
    r.city.nox_kg_h += de.nox_kg_h;
    r.city.pm25_kg_h += de.pm25_kg_h;
    r.city.road_nox_kg_h += de.road_nox_kg_h;
  }
  std::sort(all.begin(), all.end());
  r.city.cells = all.size();
  for (auto i : all) r.city.population += grid.cells[i].population;
  r.city.pm25 =
      air_over(all, grid, r.pm25_ug_m3, settings.short_term.pm25_ug_m3, settings.annual.pm25_ug_m3);
  r.city.no2 =
      air_over(all, grid, r.no2_ug_m3, settings.short_term.no2_ug_m3, settings.annual.no2_ug_m3);
  r.city.lden_db = lden_over(all, grid, r.lden_db);
}

}  // namespace

environment_result compute_environment(const city& c, const environment_settings& settings,
                                       std::span<const env_perturbation> changes,
                                       std::span<const link_traffic> links,
                                       const receptor_grid& grid, const grid_function& on_grid) {
  environment_result r;
  r.w = apply_weather(settings, changes);
  const std::size_t district_count = c.districts.size();
  TWIN_CHECK_OP(grid.cells_of_district.size(), ==, district_count);
  const auto backgrounds = change_backgrounds(settings, changes, district_count);
  r.districts.assign(district_count, {});
  std::vector<line_emitter> lines;
  std::vector<noise_segment> noise;
  road_emitters(c, changes, links, grid, r.districts, lines, noise);
  const auto points = source_emitters(c, changes, grid, r.districts);
  r.sources = points.size();
  air_on_grid(r, settings, points, lines, backgrounds, grid, on_grid);
  r.lden_db = lden_on_grid(settings, noise, grid);
  summarise_districts(r, settings, grid);
  return r;
}

namespace {

// Replays the first dispersion for the second call: the live coupling runs the baseline twice
// under the same weather and emitters, only the backgrounds differ (added after the dispersion).
grid_function once_on_grid(const grid_function& on_grid) {
  auto memo = std::make_shared<std::array<std::vector<double>, pollutant_count>>();
  auto done = std::make_shared<bool>(false);
  return [on_grid, memo, done](const weather& w, const dispersion_options& o,
                               std::span<const point_emitter> points,
                               std::span<const line_emitter> lines, const receptor_grid& grid,
                               std::array<std::span<double>, pollutant_count> out) {
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
      disperse_on_grid(w, o, points, lines, grid, out);
    for (std::size_t p = 0; p < out.size(); ++p) (*memo)[p].assign(out[p].begin(), out[p].end());
    *done = true;
  };
}

}  // namespace

scenario_environment start_environment(const city& c, const environment_settings& settings,
                                       const live_snapshot* live,
                                       std::optional<time_ms> stale_after_ms,
                                       std::span<const link_traffic> traffic,
                                       const grid_function& on_grid) {
  scenario_environment e;
  auto grid = build_receptor_grid(c, settings.grid);  // its shape was checked on loading
  e.grid = std::make_shared<const receptor_grid>(std::move(grid.value()));
  e.on_grid = on_grid;
  if (!live) {
    e.settings = settings;
    e.baseline = compute_environment(c, settings, {}, traffic, *e.grid, on_grid);
    return e;
  }
  auto lc = couple_weather(c, settings, *live, stale_after_ms, *e.grid);
  const auto once = once_on_grid(on_grid);
  const auto local = compute_environment(c, lc.settings, {}, traffic, *e.grid, once);
  fit_background(lc, c, *e.grid, local);
  e.baseline = compute_environment(c, lc.settings, {}, traffic, *e.grid, once);
  compare_observed(lc, e.baseline);
  e.settings = lc.settings;
  e.live = std::move(lc);
  return e;
}

environment_result variant_environment(const scenario_environment& e, const city& c,
                                       std::span<const env_perturbation> changes,
                                       std::span<const link_traffic> traffic) {
  TWIN_CHECK(e.grid != nullptr);
  return compute_environment(c, e.settings, changes, traffic, *e.grid, e.on_grid);
}

}  // namespace twin::env
