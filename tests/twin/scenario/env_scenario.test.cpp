#include "twin/scenario/environment.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "env_fixture.hpp"
#include "twin/env/weather.hpp"
#include "twin/report/report.hpp"
#include "twin/scenario/scenario.hpp"

namespace fs = std::filesystem;
using namespace twin::env;
using env_fixture::frame;
using env_fixture::rectangle;

namespace {

// One square district of 2 km, 100 m cells.
twin::city square_city() {
  twin::city c;
  c.name = "square";
  c.districts.push_back(rectangle(0, "square", -1000, -1000, 1000, 1000, 4000));
  c.index();
  return c;
}

// Two districts side by side, west and east of x = 0.
twin::city halves_city(double west_population, double east_population) {
  twin::city c;
  c.name = "halves";
  c.districts.push_back(rectangle(0, "west", -500, -500, 0, 500, west_population));
  c.districts.push_back(rectangle(1, "east", 0, -500, 500, 500, east_population));
  c.index();
  return c;
}

environment_settings settings_for(double wind_from_deg, stability cls) {
  environment_settings s;
  s.enabled = true;
  s.w.wind_speed_m_s = 4;
  s.w.wind_from_deg = wind_from_deg;
  s.w.stability_class = cls;
  s.w.mixing_height_m = 1000;
  s.grid = {100, 50};
  return s;
}

receptor_grid grid_of(const twin::city& c, const environment_settings& s) {
  auto g = build_receptor_grid(c, s.grid);
  REQUIRE(g.has_value());
  return std::move(*g);
}

// One road link across the square, west to east along y = -300, as link_traffic.
link_traffic one_link(const receptor_grid& g, double flow_veh_h) {
  link_traffic t;
  t.from = g.frame.to_lon_lat({-800, -300});
  t.to = g.frame.to_lon_lat({800, -300});
  t.length_m = 1600;
  t.district = twin::district_id{0};
  t.flow_veh_h = flow_veh_h;
  t.speed_kmh = 40;
  return t;
}

std::size_t cell_at(const receptor_grid& g, xy p) {
  for (std::size_t i = 0; i < g.size(); ++i)
    if (std::abs(g.cells[i].centre.x - p.x) < 1 && std::abs(g.cells[i].centre.y - p.y) < 1)
      return i;
  FAIL("no cell at " << p.x << ", " << p.y);
  return 0;
}

}  // namespace

TEST_CASE("a single stack, no roads, wind along x: the centreline cell is point_concentration") {
  auto c = square_city();
  // Wind from the west (270 degrees) blows towards +x.
  const auto s = settings_for(270, stability::d);
  const auto g = grid_of(c, s);
  const std::size_t target = cell_at(g, {650, 50});
  const double x_m = 1000;
  // No exit velocity, no diameter, air temperature: no plume rise and no downwash, so the
  // effective height is the stack's.
  twin::emission_source stack;
  stack.key = "stack";
  stack.district = twin::district_id{0};
  const xy at{g.cells[target].centre.x - x_m, g.cells[target].centre.y};
  stack.position = g.frame.to_lon_lat(at);
  stack.stack_height_m = 30;
  stack.exit_temperature_k = s.w.air_temperature_k;
  stack.nox_g_s = 20;
  stack.pm25_g_s = 2;
  stack.co2_g_s = 5000;
  c.sources.push_back(stack);

  const auto r = compute_environment(c, s, {}, {}, g);
  const double u = wind_at_height(4, 30, stability::d, true);
  const double per_g_s = point_concentration(
      1, u, sigmas(sigma_scheme::briggs_urban, stability::d, x_m), 30, 0, 1.5, 1000);
  CHECK(per_g_s > 0);
  CHECK(r.pm25_ug_m3[target] == doctest::Approx(2 * per_g_s * 1e6).epsilon(1e-6));
  // NO2 = 0.75 NOx (the default ratio), no background.
  CHECK(r.no2_ug_m3[target] == doctest::Approx(0.75 * 20 * per_g_s * 1e6).epsilon(1e-6));
  // Upwind of the stack: nothing.
  CHECK(r.pm25_ug_m3[cell_at(g, {at.x - 300, at.y})] == 0);
  // Emissions of the district: g/s x 3.6 = kg/h; CO2 t/h.
  CHECK(r.districts[0].pm25_kg_h == doctest::Approx(7.2));
  CHECK(r.districts[0].nox_kg_h == doctest::Approx(72));
  CHECK(r.districts[0].co2_t_h == doctest::Approx(18));
  CHECK(r.districts[0].road_nox_kg_h == 0);
  CHECK(r.sources == 1);
}

TEST_CASE("road policies: a ban of every vehicle leaves no road contribution") {
  auto c = square_city();
  const auto s = settings_for(180, stability::d);
  const auto g = grid_of(c, s);
  const link_traffic links[] = {one_link(g, 1500)};
  const auto base = compute_environment(c, s, {}, links, g);
  CHECK(base.districts[0].road_nox_kg_h > 0);
  const std::size_t north = cell_at(g, {50, -250});
  CHECK(base.no2_ug_m3[north] > 0);
  CHECK(base.pm25_ug_m3[north] > 0);

  env_perturbation ban_all;
  ban_all.kind = env_change_kind::ban;
  ban_all.districts = {twin::district_id{0}};
  const env_perturbation changes[] = {ban_all};
  const auto banned = compute_environment(c, s, changes, links, g);
  CHECK(banned.districts[0].road_nox_kg_h == 0);
  CHECK(banned.districts[0].co2_t_h == 0);
  for (std::size_t i = 0; i < g.size(); ++i) {
    CHECK(banned.no2_ug_m3[i] == 0);
    CHECK(banned.pm25_ug_m3[i] == 0);
  }
}

TEST_CASE("electrifying a share s of every vehicle scales exhaust NOx by exactly 1 - s") {
  auto c = square_city();
  const auto s = settings_for(180, stability::d);
  const auto g = grid_of(c, s);
  const link_traffic links[] = {one_link(g, 1200)};
  const auto base = compute_environment(c, s, {}, links, g);
  env_perturbation e;
  e.kind = env_change_kind::electrify;
  e.share = 0.3;
  const env_perturbation changes[] = {e};
  const auto r = compute_environment(c, s, changes, links, g);
  CHECK(r.districts[0].road_nox_kg_h ==
        doctest::Approx(0.7 * base.districts[0].road_nox_kg_h).epsilon(1e-12));
  const std::size_t north = cell_at(g, {50, -250});
  CHECK(r.no2_ug_m3[north] == doctest::Approx(0.7 * base.no2_ug_m3[north]).epsilon(1e-12));
  // Non-exhaust PM2.5 stays: PM2.5 falls by less than 30 %.
  CHECK(r.pm25_ug_m3[north] > 0.7 * base.pm25_ug_m3[north]);
  CHECK(r.pm25_ug_m3[north] < base.pm25_ug_m3[north]);
}

TEST_CASE("a background adds exactly, city-wide and per district") {
  auto c = halves_city(600, 1800);
  auto s = settings_for(180, stability::d);
  const auto g = grid_of(c, s);
  const std::vector<link_traffic> links;
  const auto none = compute_environment(c, s, {}, links, g);
  for (double v : none.pm25_ug_m3) CHECK(v == 0);
  env_perturbation b;
  b.kind = env_change_kind::background;
  b.pm25_ug_m3 = 10;
  b.no2_ug_m3 = 20;
  env_perturbation east;
  east.kind = env_change_kind::background;
  east.pm25_ug_m3 = 20;
  east.no2_ug_m3 = 30;
  east.districts = {twin::district_id{1}};
  const env_perturbation changes[] = {b, east};
  const auto r = compute_environment(c, s, changes, links, g);
  for (std::size_t i = 0; i < g.size(); ++i) {
    const auto& d = g.cells[i].district;
    const bool is_east = d && d->value == 1;
    CHECK(r.pm25_ug_m3[i] == (is_east ? 20 : 10));
    CHECK(r.no2_ug_m3[i] == (is_east ? 30 : 20));
  }

  SUBCASE("exposure is weighted by population and the mean by cells") {
    // 50 cells per district; west 600 people at 10 ug/m3 PM2.5, east 1800 at 20.
    CHECK(r.districts[0].cells == 50);
    CHECK(r.districts[1].cells == 50);
    CHECK(r.city.population == doctest::Approx(2400));
    CHECK(r.city.pm25.mean_ug_m3 == doctest::Approx(15));
    CHECK(r.city.pm25.exposure_ug_m3 == doctest::Approx((600 * 10 + 1800 * 20) / 2400.0));
    CHECK(r.city.no2.exposure_ug_m3 == doctest::Approx((600 * 20 + 1800 * 30) / 2400.0));
    // Above the 24-hour guidelines (15 and 25): the east's 1800 people, 75 %.
    CHECK(r.city.pm25.people_above_short_term == doctest::Approx(1800));
    CHECK(r.city.pm25.share_above_short_term == doctest::Approx(0.75));
    CHECK(r.city.no2.share_above_short_term == doctest::Approx(0.75));
    // Above the annual guidelines (5 and 10): everyone.
    CHECK(r.city.pm25.share_above_annual == doctest::Approx(1));
    CHECK(r.districts[0].pm25.exposure_ug_m3 == doctest::Approx(10));
    CHECK(r.districts[1].pm25.share_above_short_term == doctest::Approx(1));
    CHECK(r.districts[0].pm25.share_above_short_term == 0);
  }
}

TEST_CASE("weather changes apply in order and a default mixing height follows the class") {
  environment_settings s;
  s.w.wind_speed_m_s = 3;
  env_perturbation a;
  a.kind = env_change_kind::weather;
  a.weather.wind_from_deg = 180;
  a.weather.wind_speed_m_s = 8;
  a.weather.stability_class = stability::c;
  const env_perturbation changes[] = {a};
  const auto w = apply_weather(s, changes);
  CHECK(w.wind_from_deg == 180);
  CHECK(w.wind_speed_m_s == 8);
  CHECK(w.stability_class == stability::c);
  CHECK(w.mixing_height_m == doctest::Approx(default_mixing_height_m(stability::c, 8)));
}

// ---------------------------------------------------------------------------------------------
// Files.

namespace {

const fs::path two_routes = fs::path(CITYTWIN_TEST_DATA) / "scenario" / "two-routes";

fs::path write_scenario(const std::string& name, const std::string& body) {
  static const fs::path dir = [] {
    auto d = fs::temp_directory_path() / ("citytwin-env-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  auto path = dir / (name + ".yaml");
  std::ofstream out(path);
  out << "scenario: " << name << "\n"
      << "base: { city: \"" << two_routes.string() << "\" }\n"
      << body;
  return path;
}

twin::load_error load_fails(const std::string& perturbation) {
  auto file = write_scenario("bad",
                             "variants:\n"
                             "  - name: v\n"
                             "    perturbations:\n"
                             "      - " +
                                 perturbation + "\n");
  auto s = twin::load_scenario(file);
  REQUIRE_FALSE(s.has_value());
  CHECK(s.error().line == 6);
  return s.error();
}

}  // namespace

TEST_CASE("environmental perturbations: errors name the line, the field and the value") {
  auto e = load_fails("ban: { fuel: diesel, districts: [west, nowhere] }");
  CHECK(e.field == "variants[0].perturbations[0].ban.districts[1]");
  CHECK(e.message == "unknown district 'nowhere' in city 'Two Routes'");
  e = load_fails("electrify: { category: bus, share: 1.5 }");
  CHECK(e.field == "variants[0].perturbations[0].electrify.share");
  CHECK(e.message == "must be in [0, 1], got 1.5");
  e = load_fails("background: { pm25: .nan }");
  CHECK(e.field == "variants[0].perturbations[0].background.pm25");
  CHECK(e.message == "'.nan' is not a finite number");
  e = load_fails("weather: { wind_from: SXS }");
  CHECK(e.field == "variants[0].perturbations[0].weather.wind_from");
  CHECK(e.message ==
        "unknown compass point 'SXS' (give degrees, or one of N, NNE, NE, ENE, E, ESE, SE, SSE, "
        "S, SSW, SW, WSW, W, WNW, NW, NNW)");
  e = load_fails("remove_source: { key: nope }");
  CHECK(e.field == "variants[0].perturbations[0].remove_source.key");
  CHECK(e.message == "unknown source 'nope' in city 'Two Routes'");
  e = load_fails("source: { key: nope, factor: 2 }");
  CHECK(e.message == "unknown source 'nope' in city 'Two Routes'");
  e = load_fails("weather: { wind_speed_m_s: -2 }");
  CHECK(e.field == "variants[0].perturbations[0].weather.wind_speed_m_s");
  CHECK(e.message == "must be positive, got -2");
  e = load_fails("ban: { category: lorry, districts: west }");
  CHECK(e.field == "variants[0].perturbations[0].ban.category");
  CHECK(e.message ==
        "unknown vehicle category 'lorry' (known: car, taxi, light_goods, heavy_goods, bus, "
        "motorcycle, moped)");
  e = load_fails(
      "add_source: { key: plant, lon: 113.52, lat: 22.10, stack_height_m: -1, "
      "stack_diameter_m: 2, exit_velocity_m_s: 10, exit_temperature_k: 400 }");
  CHECK(e.field == "variants[0].perturbations[0].add_source.stack_height_m");
  CHECK(e.message == "must not be negative, got -1");
}

TEST_CASE("an environmental scenario on the two-route city: runs, reuses traffic, writes files") {
  auto file =
      write_scenario("env",
                     "environment:\n"
                     "  weather: { wind_from: W, wind_speed_m_s: 3, stability: D }\n"
                     "  background: { pm25: 8, no2: 15, districts: { east: { no2: 20 } } }\n"
                     "  grid: { resolution_m: 200 }\n"
                     "variants:\n"
                     "  - name: plant\n"
                     "    perturbations:\n"
                     "      - add_source: { key: plant, lon: 113.505, lat: 22.105,\n"
                     "          stack_height_m: 60, stack_diameter_m: 3,\n"
                     "          exit_velocity_m_s: 15, exit_temperature_k: 420,\n"
                     "          nox_g_s: 10, pm25_g_s: 1, co2_g_s: 20000 }\n"
                     "  - name: closed\n"
                     "    perturbations:\n"
                     "      - close: { links: direct }\n"
                     "      - electrify: { share: 1, districts: east }\n");
  auto s = twin::load_scenario(file);
  if (!s) FAIL(s.error().to_string());
  REQUIRE(s->spec.environment.enabled);
  CHECK(s->spec.environment.w.wind_from_deg == 270);
  CHECK(s->spec.variants[0].environment.size() == 1);
  CHECK(s->spec.variants[0].perturbations.empty());
  CHECK(s->spec.variants[1].perturbations.size() == 1);
  CHECK(s->spec.variants[1].environment.size() == 1);
  const auto r = twin::run_scenario(*s);
  REQUIRE(r.grid != nullptr);
  REQUIRE(r.baseline.environment.has_value());
  const auto& plant = *r.variants[0].result.environment;
  CHECK(plant.traffic_reused);
  CHECK_FALSE(r.variants[1].result.environment->traffic_reused);
  CHECK(plant.sources == 1);
  // The plant adds emissions in the west, where it stands.
  const auto& b = *r.baseline.environment;
  CHECK(plant.districts[0].nox_kg_h == doctest::Approx(b.districts[0].nox_kg_h + 36));
  CHECK(plant.districts[0].co2_t_h == doctest::Approx(b.districts[0].co2_t_h + 72));
  // Nowhere is the air cleaner with one more source; traffic is the same.
  for (std::size_t i = 0; i < r.grid->size(); ++i) CHECK(plant.no2_ug_m3[i] >= b.no2_ug_m3[i]);
  // Background floors: nowhere below it.
  for (std::size_t i = 0; i < r.grid->size(); ++i) CHECK(b.pm25_ug_m3[i] >= 8);
  // East is fully electric in `closed`: no exhaust NOx there.
  CHECK(r.variants[1].result.environment->districts[1].road_nox_kg_h == 0);

  const auto summary = nlohmann::json::parse(twin::summary_json(*s, r));
  REQUIRE(summary.contains("environment"));
  CHECK(summary["environment"]["variants"][0]["traffic_reused"] == true);
  CHECK(summary["environment"]["variants"][0]["delta"]["nox_kg_h"].get<double>() ==
        doctest::Approx(36));
  CHECK(summary["environment"]["settings"]["guidelines"]["pm25_24h_ug_m3"] == 15);
  const auto table = twin::comparison_table(*s, r);
  CHECK(table.find("CO2 emitted (t/h)") != std::string::npos);
  CHECK(table.find("the baseline's traffic, not solved again") != std::string::npos);
  // The plant's traffic is the baseline's: no solver figures and no tables of zero deltas.
  CHECK(table.find("\n  plant" + std::string(19, ' ') +
                   "traffic of the baseline (not solved again)\n") != std::string::npos);
  CHECK(table.find("traffic: the baseline's (environmental changes only; network and demand "
                   "unchanged)\n\nenvironment (the baseline's traffic") != std::string::npos);
  const auto links_heading = table.find("most affected links");
  CHECK(links_heading != std::string::npos);
  CHECK(links_heading > table.find("== closed"));
  CHECK(table.find("most affected links", links_heading + 1) == std::string::npos);
  CHECK(summary["variants"][0]["traffic_reused"] == true);
  CHECK(summary["variants"][1]["traffic_reused"] == false);
  const auto prom = twin::metrics_text(*s, r);
  CHECK(prom.find("citytwin_scenario_exposure_ug_m3{scenario=\"env\",variant=\"plant\","
                  "district=\"west\",pollutant=\"no2\"}") != std::string::npos);
  const auto files = environment_files(*s, r);
  CHECK(files.size() == 3 * 2 + 2 + 2 * 4);
  const auto csv = grid_csv(*s, r, 1);
  CHECK(csv.substr(0, csv.find('\n')) ==
        "cell,row,column,lon,lat,district,population,pm25_ug_m3,no2_ug_m3,lden_db,"
        "delta_pm25_ug_m3,delta_no2_ug_m3,delta_lden_db");
  CHECK(static_cast<std::size_t>(std::count(csv.begin(), csv.end(), '\n')) == r.grid->size() + 1);
}

TEST_CASE("the stability class derived from cloud and time, and the mixing height by default") {
  auto file = write_scenario("derived",
                             "environment:\n"
                             "  weather: { wind_speed_m_s: 2, cloud_oktas: 1,\n"
                             "             time: \"2024-03-20T12:00:00+08:00\" }\n"
                             "variants:\n"
                             "  - name: v\n"
                             "    perturbations:\n"
                             "      - weather: { stability: F }\n");
  auto s = twin::load_scenario(file);
  if (!s) FAIL(s.error().to_string());
  auto planned = plan_receptor_grid(s->base, {});
  REQUIRE(planned.has_value());
  sky clear;
  clear.cloud_oktas = 1;
  // 2024-03-20 04:00 UTC: 1,710,907,200 s after the epoch.
  const auto expected = stability_from(2, clear, 1'710'907'200'000, planned->frame.origin());
  const auto& w = s->spec.environment.w;
  CHECK(w.stability_class == expected);
  // Near the equinox at noon under a clear sky with a light wind: strongly unstable.
  CHECK(w.stability_class == stability::a);
  CHECK(w.mixing_height_m == doctest::Approx(default_mixing_height_m(expected, 2)));
  const auto changed = apply_weather(s->spec.environment, s->spec.variants[0].environment);
  CHECK(changed.stability_class == stability::f);
  CHECK(changed.mixing_height_m == doctest::Approx(mixing_height_stable_m));

  auto both = write_scenario("both",
                             "environment:\n"
                             "  weather: { stability: C, cloud_oktas: 1 }\n"
                             "variants:\n"
                             "  - name: v\n"
                             "    perturbations:\n"
                             "      - weather: { stability: F }\n");
  auto bad = twin::load_scenario(both);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().line == 4);
  CHECK(bad.error().field == "environment.weather.stability");
  CHECK(bad.error().message ==
        "give either 'stability' or 'cloud_oktas' and 'time' (to derive it), not both");
}
