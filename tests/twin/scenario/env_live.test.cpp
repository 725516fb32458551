// The live twin as the weather and the background of an environmental scenario (env_scenario.hpp).

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "env_fixture.hpp"
#include "twin/env/weather.hpp"
#include "twin/scenario/environment.hpp"
#include "twin/scenario/live_base.hpp"

using namespace twin::env;
using env_fixture::frame;
using env_fixture::rectangle;
using twin::sensor_kind;

namespace {

constexpr twin::time_ms now = 1'700'000'000'000;
constexpr twin::time_ms window = 15 * twin::ms_per_minute;
constexpr twin::time_ms old = now - 20 * twin::ms_per_minute;

twin::sensor sensor_at(std::uint32_t id, std::string key, sensor_kind kind, std::uint32_t district,
                       xy at) {
  twin::sensor s;
  s.id = twin::sensor_id{id};
  s.key = std::move(key);
  s.kind = kind;
  s.district = twin::district_id{district};
  s.position = frame.to_lon_lat(at);
  return s;
}

// West and east halves of a 1 km square and a district north of both; air-quality sensors at cell
// centres (100 m cells from x = -500, y = -500), one far outside the grid, wind sensors.
twin::city three_districts() {
  twin::city c;
  c.name = "three";
  c.districts.push_back(rectangle(0, "west", -500, -500, 0, 500));
  c.districts.push_back(rectangle(1, "east", 0, -500, 500, 500));
  c.districts.push_back(rectangle(2, "north", -500, 500, 500, 1000));
  std::uint32_t id = 1;
  c.sensors.push_back(sensor_at(id++, "pa", sensor_kind::pm25, 0, {-250, -250}));
  c.sensors.push_back(sensor_at(id++, "pb", sensor_kind::pm25, 0, {-150, 250}));
  c.sensors.push_back(sensor_at(id++, "pc", sensor_kind::pm25, 1, {250, -50}));
  c.sensors.push_back(sensor_at(id++, "pd", sensor_kind::pm25, 1, {350, 150}));
  c.sensors.push_back(sensor_at(id++, "pe", sensor_kind::pm25, 2, {3000, 3000}));
  c.sensors.push_back(sensor_at(id++, "pf", sensor_kind::pm25, 2, {50, 750}));
  c.sensors.push_back(sensor_at(id++, "nc", sensor_kind::no2, 1, {250, -50}));
  c.sensors.push_back(sensor_at(id++, "wd1", sensor_kind::wind_direction, 0, {-50, -50}));
  c.sensors.push_back(sensor_at(id++, "wd2", sensor_kind::wind_direction, 1, {50, -50}));
  c.sensors.push_back(sensor_at(id++, "wd3", sensor_kind::wind_direction, 2, {50, 850}));
  c.sensors.push_back(sensor_at(id++, "ws1", sensor_kind::wind_speed, 0, {-50, 50}));
  c.sensors.push_back(sensor_at(id++, "ws2", sensor_kind::wind_speed, 1, {50, 50}));
  c.sensors.push_back(sensor_at(id++, "ws3", sensor_kind::wind_speed, 2, {50, 950}));
  c.index();
  return c;
}

twin::live_snapshot snapshot() {
  twin::live_snapshot s;
  s.node = "tcp://node:5556";
  s.city_name = "three";
  s.as_of = now;
  s.sensors = {{"pa", sensor_kind::pm25, "west", true, 20, now - 60'000},
               {"pb", sensor_kind::pm25, "west", true, 14, now},
               {"pc", sensor_kind::pm25, "east", true, 8, now},
               {"pd", sensor_kind::pm25, "east", true, 100, old},
               {"pe", sensor_kind::pm25, "north", true, 50, now},
               {"pf", sensor_kind::pm25, "north", false, twin::no_value, 0},
               {"nc", sensor_kind::no2, "east", true, 30, now},
               {"wd1", sensor_kind::wind_direction, "west", true, 0, now},
               {"wd2", sensor_kind::wind_direction, "east", true, 90, now},
               {"wd3", sensor_kind::wind_direction, "north", true, 270, old},
               {"ws1", sensor_kind::wind_speed, "west", true, 2, now},
               {"ws2", sensor_kind::wind_speed, "east", true, 5, now},
               {"ws3", sensor_kind::wind_speed, "north", false, twin::no_value, 0}};
  return s;
}

environment_settings file_settings(const twin::city& c) {
  environment_settings e;
  e.enabled = true;
  e.grid = {100, 0};
  e.district_background.assign(c.districts.size(), std::nullopt);
  e.district_background_set.assign(c.districts.size(), {});
  return e;
}

receptor_grid grid_of(const twin::city& c, const environment_settings& e) {
  auto g = build_receptor_grid(c, e.grid);
  REQUIRE(g.has_value());
  return std::move(*g);
}

// The cell holding a position: its centre lies within half a cell in each direction.
std::uint32_t cell_of(const receptor_grid& g, xy at) {
  const auto cell = cell_holding(g, frame.to_lon_lat(at));
  REQUIRE(cell.has_value());
  const auto p = g.frame.to_xy(frame.to_lon_lat(at));
  const auto& centre = g.cells[*cell].centre;
  CHECK(std::abs(centre.x - p.x) <= g.resolution_m / 2);
  CHECK(std::abs(centre.y - p.y) <= g.resolution_m / 2);
  return *cell;
}

// A result whose grid holds `value` at the given cells and 0 elsewhere, for both pollutants.
environment_result grid_with(const receptor_grid& g,
                             const std::vector<std::pair<std::uint32_t, double>>& values) {
  environment_result r;
  r.pm25_ug_m3.assign(g.size(), 0);
  r.no2_ug_m3.assign(g.size(), 0);
  for (const auto& [cell, v] : values) {
    r.pm25_ug_m3[cell] = v;
    r.no2_ug_m3[cell] = v;
  }
  return r;
}

const observed_sensor& sensor_named(const live_coupling& lc, const std::string& key) {
  for (const auto& o : lc.sensors)
    if (o.key == key) return o;
  FAIL("no sensor " << key);
  return lc.sensors.front();
}

}  // namespace

TEST_CASE("live coupling: the wind from the fresh sensors, stale and silent ones counted") {
  const auto c = three_districts();
  const auto e = file_settings(c);
  const auto g = grid_of(c, e);
  const auto lc = couple_weather(c, e, snapshot(), window, g);
  // 0 and 90 degrees as unit vectors: 45 degrees (wd3 at 270 is stale); speeds 2 and 5: 3.5.
  CHECK(lc.wind_from == value_source::live);
  CHECK(lc.wind_speed == value_source::live);
  CHECK(lc.settings.w.wind_from_deg == doctest::Approx(45).epsilon(1e-12));
  CHECK(lc.settings.w.wind_speed_m_s == 3.5);
  // The class stays the file's (D by default); the mixing height follows the live wind.
  CHECK(lc.settings.w.stability_class == stability::d);
  CHECK(lc.settings.w.mixing_height_m == doctest::Approx(320 * 3.5));
  CHECK(lc.wind_direction_sensors.fresh == 2);
  CHECK(lc.wind_direction_sensors.stale == 1);
  CHECK(lc.wind_speed_sensors.fresh == 2);
  CHECK(lc.wind_speed_sensors.silent == 1);
  CHECK(lc.pm25_sensors.fresh == 4);
  CHECK(lc.pm25_sensors.stale == 1);
  CHECK(lc.pm25_sensors.silent == 1);
  CHECK(lc.pm25_sensors.outside_grid == 1);
  CHECK(lc.no2_sensors.fresh == 1);
  // Fresh air-quality sensors only, PM2.5 first; the one outside the grid has no cell.
  REQUIRE(lc.sensors.size() == 5);
  CHECK(lc.sensors[0].key == "pa");
  CHECK(lc.sensors[4].key == "nc");
  CHECK(sensor_named(lc, "pa").cell == cell_of(g, {-250, -250}));
  CHECK_FALSE(sensor_named(lc, "pe").cell.has_value());
}

TEST_CASE("live coupling: an explicit wind of the file wins and a derived class is derived again") {
  const auto c = three_districts();
  auto e = file_settings(c);
  e.w.wind_speed_m_s = 4;
  e.wind_speed_given = true;
  const auto g = grid_of(c, e);
  {
    const auto lc = couple_weather(c, e, snapshot(), window, g);
    CHECK(lc.wind_speed == value_source::file);
    CHECK(lc.wind_from == value_source::live);
    CHECK(lc.settings.w.wind_speed_m_s == 4);
    CHECK(lc.settings.w.wind_from_deg == doctest::Approx(45).epsilon(1e-12));
    CHECK(lc.settings.w.mixing_height_m == doctest::Approx(320 * 4));
  }
  // A class the file derives from cloud and time follows the live wind speed: a clear summer
  // noon gives A at 1.5 m/s but B at 3.5 m/s (Turner).
  station_report report;
  report.wind_speed_m_s = 1.5;
  report.clouds = {0, 3000};
  const twin::time_ms noon = 1'718'424'000'000;  // 2024-06-15T04:00Z, local noon at 113.5 E
  auto derived = file_settings(c);
  derived.station = report;
  derived.station_time = noon;
  derived.w = make_weather(report, noon, g.frame.origin());
  REQUIRE(derived.w.stability_class == stability::a);
  const auto lc = couple_weather(c, derived, snapshot(), window, g);
  CHECK(lc.settings.w.wind_speed_m_s == 3.5);
  CHECK(lc.settings.w.stability_class ==
        stability_from(3.5, report.clouds, noon, g.frame.origin()));
  CHECK(lc.settings.w.stability_class == stability::b);
}

TEST_CASE("live coupling: backgrounds per district, city-wide median, then modelled vs observed") {
  const auto c = three_districts();
  const auto e = file_settings(c);
  const auto g = grid_of(c, e);
  auto lc = couple_weather(c, e, snapshot(), window, g);
  const auto a = cell_of(g, {-250, -250}), b = cell_of(g, {-150, 250}), cc = cell_of(g, {250, -50});
  // The local contribution (traffic and stacks) at the sensors: 4, 6 and 10.
  fit_background(lc, c, g, grid_with(g, {{a, 4}, {b, 6}, {cc, 10}}));
  // west: max(0, (20 + 14) / 2 - (4 + 6) / 2) = 12; east: max(0, 8 - 10) = 0 (pd is stale);
  // north has no sensor in the grid: the median of 16, 8, -2, clamped: 8.
  const auto& pm = lc.pm25_background;
  CHECK(pm.city == value_source::live);
  CHECK(pm.city_ug_m3 == 8);
  CHECK(pm.district_ug_m3 == std::vector<double>{12, 0, 8});
  CHECK(pm.district_source[0] == value_source::live);
  CHECK(pm.district_source[2] == value_source::live);
  CHECK(lc.settings.background.pm25_ug_m3 == 8);
  CHECK(lc.settings.district_background[0]->pm25_ug_m3 == 12);
  CHECK(lc.settings.district_background[1]->pm25_ug_m3 == 0);
  CHECK(lc.settings.district_background[2]->pm25_ug_m3 == 8);
  // NO2: one sensor in east, local 10, observed 30: east 20, the rest the median 20.
  CHECK(lc.no2_background.district_ug_m3 == std::vector<double>{20, 20, 20});
  CHECK(sensor_named(lc, "pb").local_ug_m3 == 6);

  // The baseline with those backgrounds: 4 + 12, 6 + 12, 10 + 0 against 20, 14, 8.
  auto baseline = grid_with(g, {{a, 16}, {b, 18}, {cc, 10}});
  baseline.no2_ug_m3[cc] = 30;
  compare_observed(lc, baseline);
  CHECK(lc.pm25.sensors == 3);
  CHECK(lc.pm25.mean_observed_ug_m3 == 14);
  CHECK(lc.pm25.mean_modelled_ug_m3 == doctest::Approx(44.0 / 3));
  CHECK(lc.pm25.mean_bias_ug_m3 == doctest::Approx(2.0 / 3));
  CHECK(lc.pm25.rmse_ug_m3 == doctest::Approx(std::sqrt(12.0)));
  // Deviations (6, 0, -6) and (4/3, 10/3, -14/3): r = 36 / sqrt(72 x 312 / 9).
  REQUIRE(lc.pm25.correlation.has_value());
  CHECK(*lc.pm25.correlation == doctest::Approx(36 / std::sqrt(72 * 312.0 / 9)));
  CHECK(sensor_named(lc, "pa").modelled_ug_m3 == 16);
  // One NO2 sensor: modelled equals observed there, no correlation below 3 sensors.
  CHECK(lc.no2.sensors == 1);
  CHECK(lc.no2.mean_bias_ug_m3 == 0);
  CHECK(lc.no2.rmse_ug_m3 == 0);
  CHECK_FALSE(lc.no2.correlation.has_value());
}

TEST_CASE("live coupling: an explicit background of the file wins, city-wide or per district") {
  const auto c = three_districts();
  auto e = file_settings(c);
  e.background.no2_ug_m3 = 7;
  e.background_set.no2 = true;
  e.district_background[1] = air_background{5, 7};
  e.district_background_set[1].pm25 = true;
  const auto g = grid_of(c, e);
  auto lc = couple_weather(c, e, snapshot(), window, g);
  // The local run keeps the explicit values and zeroes the ones to fit.
  CHECK(lc.settings.background.no2_ug_m3 == 7);
  CHECK(lc.settings.background.pm25_ug_m3 == 0);
  CHECK(lc.settings.district_background[0]->pm25_ug_m3 == 0);
  CHECK(lc.settings.district_background[1]->pm25_ug_m3 == 5);
  const auto a = cell_of(g, {-250, -250}), b = cell_of(g, {-150, 250}), cc = cell_of(g, {250, -50});
  // East's cells carry its explicit 5 in the local run: its sensor's local contribution is 10.
  fit_background(lc, c, g, grid_with(g, {{a, 4}, {b, 6}, {cc, 15}}));
  CHECK(sensor_named(lc, "pc").local_ug_m3 == 10);
  CHECK(lc.pm25_background.district_ug_m3 == std::vector<double>{12, 5, 8});
  CHECK(lc.pm25_background.district_source[1] == value_source::file);
  CHECK(lc.settings.district_background[1]->pm25_ug_m3 == 5);
  CHECK(lc.no2_background.city == value_source::file);
  CHECK(lc.no2_background.district_ug_m3 == std::vector<double>{7, 7, 7});
  for (const auto& b : lc.settings.district_background) CHECK(b->no2_ug_m3 == 7);
}

TEST_CASE("live coupling: no fresh sensor leaves the file's weather and backgrounds") {
  const auto c = three_districts();
  const auto e = file_settings(c);
  const auto g = grid_of(c, e);
  auto s = snapshot();
  for (auto& x : s.sensors) x.time = old;
  auto lc = couple_weather(c, e, s, window, g);
  CHECK(lc.wind_speed == value_source::none);
  CHECK(lc.wind_from == value_source::none);
  CHECK(lc.settings.w.wind_speed_m_s == e.w.wind_speed_m_s);
  CHECK(lc.settings.w.wind_from_deg == e.w.wind_from_deg);
  CHECK(lc.sensors.empty());
  fit_background(lc, c, g, grid_with(g, {}));
  CHECK(lc.pm25_background.city == value_source::none);
  CHECK(lc.pm25_background.district_ug_m3 == std::vector<double>{0, 0, 0});
  compare_observed(lc, grid_with(g, {}));
  CHECK(lc.pm25.sensors == 0);
}
