#include "actors/environment.hpp"

#include <doctest/doctest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <filesystem>
#include <memory>
#include <vector>

#include "../twin/env_fixture.hpp"
#include "actors/own_system.hpp"
#include "twin/scenario/scenario.hpp"

namespace {

namespace fs = std::filesystem;
using namespace twin::env;
using env_fixture::frame;
using env_fixture::rectangle;

}  // namespace

TEST_CASE("the grid on one actor per district equals the single-threaded grid, bit for bit") {
  twin::city c;
  c.name = "three";
  c.districts.push_back(rectangle(0, "west", -1500, -1000, -500, 1000, 3000));
  c.districts.push_back(rectangle(1, "middle", -500, -1000, 500, 1000, 5000));
  c.districts.push_back(rectangle(2, "east", 500, -1000, 1500, 1000, 0));
  c.index();
  auto grid = build_receptor_grid(c, {100, 300});
  REQUIRE(grid.has_value());

  weather w;
  w.wind_from_deg = 230;
  w.wind_speed_m_s = 3.5;
  w.stability_class = stability::c;
  dispersion_options o;
  std::vector<point_emitter> points;
  point_emitter stack;
  stack.at = {-900, -400};
  stack.s = {45, 2.5, 12, 410};
  stack.g_s = {12, 0.8, 9000};
  points.push_back(stack);
  std::vector<line_emitter> lines;
  for (int k = 0; k < 12; ++k) {
    line_emitter l;
    l.a = {-1400.0 + 230 * k, -900.0 + 60 * k};
    l.b = {-1200.0 + 240 * k, 700.0 - 90 * k};
    l.initial_sigma_z_m = road_initial_sigma_z_m;
    l.g_m_s = {2e-4 * (k + 1), 1e-5 * (k + 1), 0.05};
    lines.push_back(l);
  }
  const std::size_t n = grid->size();
  std::vector<double> nox_1(n, 0.0), pm_1(n, 0.0), nox_a(n, 0.0), pm_a(n, 0.0);
  std::array<std::span<double>, pollutant_count> one{}, on_actors{};
  one[index(pollutant::nox)] = nox_1;
  one[index(pollutant::pm25)] = pm_1;
  on_actors[index(pollutant::nox)] = nox_a;
  on_actors[index(pollutant::pm25)] = pm_a;
  disperse_on_grid(w, o, points, lines, *grid, one);

  actors::own_system env{2};
  actors::compute_on_actors(env.get(), w, o, points, lines, *grid, on_actors);
  std::size_t positive = 0;
  for (std::size_t i = 0; i < n; ++i) {
    CHECK(nox_a[i] == nox_1[i]);
    CHECK(pm_a[i] == pm_1[i]);
    positive += nox_1[i] > 0;
  }
  // Most cells see some source: the comparison is not between zeros.
  CHECK(positive > n / 3);
}

TEST_CASE("a Macau environmental scenario: the actors' run equals the single-threaded run") {
  auto s = twin::load_scenario(fs::path(CITYTWIN_EXAMPLES) / "macau" / "scenarios" /
                               "coloane-power-plant.yaml");
  if (!s) FAIL(s.error().to_string());
  REQUIRE(s->spec.environment.enabled);
  const auto single = twin::run_scenario(*s);
  actors::own_system env{2};
  twin::run_options options;
  options.grid = actors::actor_grid(env.get());
  const auto parallel = twin::run_scenario(*s, options);
  REQUIRE(single.grid != nullptr);
  const auto& a = *single.variants[0].result.environment;
  const auto& b = *parallel.variants[0].result.environment;
  CHECK(a.no2_ug_m3 == b.no2_ug_m3);
  CHECK(a.pm25_ug_m3 == b.pm25_ug_m3);
  CHECK(single.baseline.environment->no2_ug_m3 == parallel.baseline.environment->no2_ug_m3);
  CHECK(a.city.no2.exposure_ug_m3 == b.city.no2.exposure_ug_m3);
}
