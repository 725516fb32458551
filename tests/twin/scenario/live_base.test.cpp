#include "twin/scenario/live_base.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "twin/city/bundle.hpp"
#include "twin/feed/synth.hpp"
#include "twin/report/report.hpp"
#include "twin/scenario/scenario.hpp"

namespace {

using twin::live_snapshot;
using twin::ms_per_hour;
using twin::ms_per_minute;

constexpr twin::time_ms now = 1'700'000'000'000;

// A line of five links, each 1000 m at 60 km/h free flow (t0 = 1 min) with 1000 veh/h capacity,
// and two OD pairs.
twin::city line_city() {
  twin::city c;
  c.name = "Line";
  c.districts.push_back({twin::district_id{0}, "mid", "Middle", {}, 100, 1});
  for (std::uint32_t i = 0; i < 6; ++i) c.nodes.push_back({twin::node_id{i}, i + 1, {}});
  for (std::uint32_t i = 0; i < 5; ++i) {
    twin::link l;
    l.id = twin::link_id{i};
    l.key = std::string(1, static_cast<char>('a' + i));
    l.from = twin::node_id{i};
    l.to = twin::node_id{i + 1};
    l.length_m = 1000;
    l.capacity_veh_h = 1000;
    l.free_speed_kmh = 60;
    l.district = twin::district_id{0};
    c.links.push_back(l);
  }
  c.zones.push_back({twin::zone_id{0}, 1, twin::district_id{0}, twin::node_id{0}});
  c.zones.push_back({twin::zone_id{1}, 2, twin::district_id{0}, twin::node_id{2}});
  c.zones.push_back({twin::zone_id{2}, 3, twin::district_id{0}, twin::node_id{5}});
  c.demand.push_back({twin::zone_id{0}, twin::zone_id{1}, 200});
  c.demand.push_back({twin::zone_id{0}, twin::zone_id{2}, 1000});
  twin::sensor wind;
  wind.id = twin::sensor_id{1};
  wind.key = "wind-1";
  wind.kind = twin::sensor_kind::wind_direction;
  wind.district = twin::district_id{0};
  c.sensors.push_back(wind);
  c.index();
  return c;
}

live_snapshot snapshot(std::vector<twin::live_link> links) {
  live_snapshot s;
  s.node = "tcp://127.0.0.1:7101";
  s.city_name = "Line";
  s.as_of = now;
  s.links = std::move(links);
  return s;
}

twin::live_base apply(const twin::city& c, const live_snapshot& s, std::vector<double> flows = {}) {
  auto r = twin::apply_live_base(c, s, flows);
  if (!r) FAIL(r.error().message);
  return std::move(*r);
}

}  // namespace

TEST_CASE("live base: the BPR cost inverted at an observed speed and flow") {
  // 1000 m at 60 km/h: t0 = 1 min; observed 30 km/h: t = 2 min, so t/t0 - 1 = 1 and
  // c_live = 800 / (1 / 0.15)^(1/4) = 800 / 1.6068568378893 = 497.866381830783 veh/h.
  auto c = twin::inferred_capacity_veh_h(1000, 60, 30, 800);
  REQUIRE(c.has_value());
  CHECK(*c == doctest::Approx(497.86638183078264).epsilon(1e-12));
  // At or above free speed the cost model has nothing to invert; without flow neither.
  CHECK_FALSE(twin::inferred_capacity_veh_h(1000, 60, 60, 800).has_value());
  CHECK_FALSE(twin::inferred_capacity_veh_h(1000, 60, 75, 800).has_value());
  CHECK_FALSE(twin::inferred_capacity_veh_h(1000, 60, 30, 0).has_value());
  // A standstill with flow: nothing gets through.
  CHECK(twin::inferred_capacity_veh_h(1000, 60, 0, 800) == 0.0);
}

TEST_CASE("live base: capacities cut, floored, kept, and stale observations ignored") {
  const auto city = line_city();
  auto s = snapshot({
      {"a", 30, 800, now - 60'000},              // 497.87 veh/h, as above
      {"b", 6, 100, now - 60'000},               // t/t0 = 10: 100 / 60^(1/4) = 35.93 < floor 50
      {"c", 60, 900, now},                       // free flow: unchanged
      {"d", 50, 3000, now},                      // c_live = 3000 / (0.2/0.15)^(1/4) = 2791.8
      {"e", 30, 800, now - 16 * ms_per_minute},  // stale: older than 2 x 5 min
  });
  auto live = apply(city, s);
  const auto& r = live.report;
  CHECK(r.node == "tcp://127.0.0.1:7101");
  CHECK(r.as_of == now);
  CHECK(r.links_observed == 5);
  CHECK(r.links_stale == 1);
  REQUIRE(r.cuts.size() == 2);
  // Ordered by the share of capacity left: b (5 %) before a (49.8 %).
  CHECK(r.cuts[0].link == twin::link_id{1});
  CHECK(r.cuts[0].at_floor);
  CHECK(r.cuts[0].inferred_capacity_veh_h == doctest::Approx(35.93041119630843).epsilon(1e-12));
  CHECK(r.cuts[0].capacity_veh_h == 50.0);
  CHECK(r.cuts[1].link == twin::link_id{0});
  CHECK_FALSE(r.cuts[1].at_floor);
  CHECK(r.cuts[1].observed_speed_kmh == 30.0);
  CHECK(r.cuts[1].observed_flow_veh_h == 800.0);
  CHECK(r.cuts[1].bundle_capacity_veh_h == 1000.0);
  CHECK(r.cuts[1].capacity_veh_h == doctest::Approx(497.86638183078264).epsilon(1e-12));
  CHECK(live.base.links[0].capacity_veh_h == doctest::Approx(497.86638183078264).epsilon(1e-12));
  CHECK(live.base.links[1].capacity_veh_h == 50.0);
  CHECK(live.base.links[2].capacity_veh_h == 1000.0);
  CHECK(live.base.links[3].capacity_veh_h == 1000.0);
  CHECK(live.base.links[4].capacity_veh_h == 1000.0);
  // d runs slower than free flow but faster than its BPR curve at 3000 veh/h.
  CHECK(r.links_within_tolerance == 0);
  CHECK(r.capacity_tolerance == 0.1);
  // No model flows given: the demand stays as it is.
  CHECK_FALSE(r.demand_factor.has_value());
  CHECK(live.base.demand[1].trips_veh_h == 1000.0);
}

TEST_CASE("live base: a link slower than its BPR curve by no more than the tolerance is kept") {
  const auto city = line_city();
  // At 1000 veh/h on 1000 veh/h of capacity the BPR time is t0 (1 + 0.15) = 1.15 min.
  const double bpr_min = 1.15;
  const double speed_5 = 60 / (bpr_min * 1.05);   // 5 % slower than the curve: 49.69 km/h
  const double speed_20 = 60 / (bpr_min * 1.20);  // 20 % slower: t = 1.38 min, 43.48 km/h
  auto s = snapshot({
      {"a", speed_5, 1000, now},
      {"b", speed_20, 1000, now},
      {"c", 57, 300, now},  // 5 % slower than free flow at a trickle: 1.0526 min against 1.0012
  });
  auto live = apply(city, s);
  const auto& r = live.report;
  CHECK(r.links_observed == 3);
  CHECK(r.links_within_tolerance == 2);
  // b: c_live = 1000 / ((1.38 - 1) / 0.15)^(1/4) = 1000 / 2.5333333^(1/4) = 792.6416986492342.
  REQUIRE(r.cuts.size() == 1);
  CHECK(r.cuts[0].link == twin::link_id{1});
  CHECK(r.cuts[0].inferred_capacity_veh_h == doctest::Approx(792.6416986492342).epsilon(1e-12));
  CHECK(r.cuts[0].capacity_veh_h == doctest::Approx(792.6416986492342).epsilon(1e-12));
  CHECK(live.base.links[0].capacity_veh_h == 1000.0);
  CHECK(live.base.links[1].capacity_veh_h == doctest::Approx(792.6416986492342).epsilon(1e-12));
  CHECK(live.base.links[2].capacity_veh_h == 1000.0);

  // Without a tolerance every link slower than its curve is cut: a to 1000 / (0.2075 /
  // 0.15)^(1/4) = 922.0793360105754, c at its trickle of flow to 300 / (0.0526316 / 0.15)^(1/4)
  // = 389.79, which the old rule read as a 61 % capacity loss.
  twin::live_base_options strict;
  strict.capacity_tolerance = 0;
  auto all = twin::apply_live_base(city, s, {}, strict);
  REQUIRE(all.has_value());
  CHECK(all->report.links_within_tolerance == 0);
  REQUIRE(all->report.cuts.size() == 3);
  CHECK(all->base.links[0].capacity_veh_h == doctest::Approx(922.0793360105754).epsilon(1e-12));
  CHECK(all->base.links[2].capacity_veh_h ==
        doctest::Approx(300 / std::pow((60.0 / 57 - 1) / 0.15, 0.25)).epsilon(1e-12));
  // A wider band keeps b too.
  twin::live_base_options lenient;
  lenient.capacity_tolerance = 0.25;
  auto none = twin::apply_live_base(city, s, {}, lenient);
  REQUIRE(none.has_value());
  CHECK(none->report.cuts.empty());
  CHECK(none->report.links_within_tolerance == 3);
  CHECK(none->report.capacity_tolerance == 0.25);
}

TEST_CASE("live base: no observation leaves the bundle as it is") {
  const auto city = line_city();
  auto live = apply(city, snapshot({}), {1200, 1200, 1000, 1000, 1000});
  CHECK(live.report.links_observed == 0);
  CHECK(live.report.cuts.empty());
  CHECK_FALSE(live.report.demand_factor.has_value());
  CHECK(live.report.demand_links == 0);
  for (std::size_t l = 0; l < city.links.size(); ++l)
    CHECK(live.base.links[l].capacity_veh_h == city.links[l].capacity_veh_h);
  for (std::size_t i = 0; i < city.demand.size(); ++i)
    CHECK(live.base.demand[i].trips_veh_h == city.demand[i].trips_veh_h);
}

TEST_CASE("live base: one demand factor fitted by least squares, clamped to its range") {
  const auto city = line_city();
  // Model flows: 1200 on a and b (both OD pairs), 1000 beyond. Observed at free speed (no cut):
  // 900 on a, 800 on c; b has a speed only, e is stale. f = (900 * 1200 + 800 * 1000) /
  // (1200^2 + 1000^2) = 1880000 / 2440000 = 0.770491803278689.
  const std::vector<double> model{1200, 1200, 1000, 1000, 1000};
  auto live = apply(city,
                    snapshot({{"a", 60, 900, now},
                              {"b", 60, twin::no_value, now},
                              {"c", 61, 800, now},
                              {"e", 60, 5000, now - 20 * ms_per_minute}}),
                    model);
  const auto& r = live.report;
  REQUIRE(r.demand_factor.has_value());
  CHECK(*r.demand_factor == doctest::Approx(0.7704918032786885).epsilon(1e-12));
  CHECK(r.demand_factor_fit == *r.demand_factor);
  CHECK(r.demand_links == 2);
  CHECK_FALSE(r.demand_clamped);
  CHECK(live.base.demand[0].trips_veh_h == doctest::Approx(200 * 0.7704918032786885));
  CHECK(live.base.demand[1].trips_veh_h == doctest::Approx(1000 * 0.7704918032786885));
  CHECK(r.cuts.empty());

  // 5000 on both: a fit of 11000000 / 2440000 = 4.508, beyond twice the period's demand.
  auto high = apply(city, snapshot({{"a", 60, 5000, now}, {"c", 60, 5000, now}}), model);
  CHECK(high.report.demand_factor_fit == doctest::Approx(4.508196721311475).epsilon(1e-12));
  CHECK(high.report.demand_factor == 2.0);
  CHECK(high.report.demand_clamped);
  CHECK(high.base.demand[1].trips_veh_h == 2000.0);
}

TEST_CASE("live base: a snapshot of another city, an unknown link or a bad value is refused") {
  const auto city = line_city();
  SUBCASE("another city") {
    auto s = snapshot({});
    s.city_name = "Macau";
    auto r = twin::apply_live_base(city, s, {});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().failure == twin::live_base_failure::city_mismatch);
    CHECK(r.error().message ==
          "the live state of tcp://127.0.0.1:7101: the node runs city 'Macau' but the "
          "scenario's bundle is 'Line'");
  }
  SUBCASE("an unknown link") {
    auto r = twin::apply_live_base(city, snapshot({{"zz", 30, 800, now}}), {});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().failure == twin::live_base_failure::unknown_link);
    CHECK(r.error().message.find("link 'zz' is not in the bundle of 'Line'") != std::string::npos);
  }
  SUBCASE("an infinite speed, a negative flow") {
    auto inf = twin::apply_live_base(city, snapshot({{"a", INFINITY, 800, now}}), {});
    REQUIRE_FALSE(inf.has_value());
    CHECK(inf.error().failure == twin::live_base_failure::bad_value);
    CHECK(inf.error().message.find("link 'a': field speed_kmh is inf") != std::string::npos);
    auto neg = twin::check_live_snapshot(city, snapshot({{"b", 30, -5, now}}));
    REQUIRE_FALSE(neg.has_value());
    CHECK(neg.error().message.find("link 'b': field flow_veh_h is -5") != std::string::npos);
  }
  SUBCASE("a sensor that reported NaN, or that the bundle does not have") {
    auto s = snapshot({});
    s.sensors.push_back({"wind-1", twin::sensor_kind::wind_direction, "mid", true, NAN, now});
    auto r = twin::check_live_snapshot(city, s);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().failure == twin::live_base_failure::bad_value);
    CHECK(r.error().message.find("sensor 'wind-1': field value is nan") != std::string::npos);
    s.sensors[0] = {"wind-9", twin::sensor_kind::wind_direction, "mid", true, 10, now};
    CHECK(twin::check_live_snapshot(city, s).error().failure ==
          twin::live_base_failure::city_mismatch);
  }
}

TEST_CASE("live base: fresh means of the environment sensors, directions as unit vectors") {
  live_snapshot s = snapshot({});
  using twin::sensor_kind;
  s.sensors = {{"w1", sensor_kind::wind_direction, "mid", true, 350, now},
               {"w2", sensor_kind::wind_direction, "mid", true, 10, now - 60'000},
               {"w3", sensor_kind::wind_direction, "mid", true, 180, now - 30 * ms_per_minute},
               {"p1", sensor_kind::pm25, "mid", true, 20, now},
               {"p2", sensor_kind::pm25, "mid", true, 40, now},
               {"p3", sensor_kind::pm25, "mid", false, twin::no_value, 0},
               {"s1", sensor_kind::wind_speed, "mid", true, 3, now - 30 * ms_per_minute}};
  const auto city = line_city();
  const auto window = 15 * ms_per_minute;  // one bound for every sensor
  auto dir = twin::fresh_mean(s, sensor_kind::wind_direction, city, window);
  REQUIRE(dir.has_value());
  CHECK(std::min(*dir, 360 - *dir) < 1e-9);  // north, not 180 (w3 is stale)
  CHECK(twin::fresh_mean(s, sensor_kind::pm25, city, window) == 30.0);
  CHECK_FALSE(twin::fresh_mean(s, sensor_kind::wind_speed, city, window).has_value());
  CHECK_FALSE(twin::fresh_mean(s, sensor_kind::no2, city, window).has_value());
  CHECK(twin::fresh_mean(s, sensor_kind::wind_speed, city, 60 * ms_per_minute) == 3.0);
}

TEST_CASE("live base: without a bound for all, each sensor is fresh within 2 x its cadence") {
  // The node's rule: wind sensors report every 10 min (stale beyond 20 min), PM2.5 stations every
  // hour (stale beyond 2 h). Sensors the bundle does not know get their kind's bound.
  live_snapshot s = snapshot({});
  using twin::sensor_kind;
  const auto city = line_city();
  s.sensors = {{"p1", sensor_kind::pm25, "mid", true, 20, now - 2 * ms_per_hour},
               {"p2", sensor_kind::pm25, "mid", true, 40, now - 2 * ms_per_hour - 1},
               {"s1", sensor_kind::wind_speed, "mid", true, 3, now - 20 * ms_per_minute},
               {"s2", sensor_kind::wind_speed, "mid", true, 5, now - 20 * ms_per_minute - 1}};
  CHECK(twin::fresh_mean(s, sensor_kind::pm25, city, std::nullopt) == 20.0);
  CHECK(twin::fresh_mean(s, sensor_kind::wind_speed, city, std::nullopt) == 3.0);
  // The bundle's own sensor `wind-1` (wind_direction) with a cadence of its own: 1 h, so 2 h.
  auto own = city;
  own.sensors[0].cadence_ms = ms_per_hour;
  own.index();
  s.sensors = {
      {own.sensors[0].key, sensor_kind::wind_direction, "mid", true, 90, now - 2 * ms_per_hour}};
  CHECK(twin::fresh_mean(s, sensor_kind::wind_direction, own, std::nullopt) == 90.0);
  CHECK_FALSE(twin::fresh_mean(s, sensor_kind::wind_direction, city, std::nullopt).has_value());
  s.sensors[0].time -= 1;
  CHECK_FALSE(twin::fresh_mean(s, sensor_kind::wind_direction, own, std::nullopt).has_value());
  // A link without traffic sensors: the traffic_speed kind's 2 x 5 min.
  auto bounds = twin::live_link_stale_after_ms(city, std::nullopt);
  REQUIRE(bounds.size() == city.links.size());
  CHECK(bounds[0] == 10 * ms_per_minute);
  CHECK(twin::live_link_stale_after_ms(city, 7 * ms_per_minute)[0] == 7 * ms_per_minute);
}

TEST_CASE(
    "live base: the synthetic feed of the Macau bundle cuts no link, at the peaks or at night") {
  auto loaded = twin::load_city(std::filesystem::path(CITYTWIN_EXAMPLES) / "macau");
  REQUIRE(loaded.has_value());
  const auto city = std::make_shared<const twin::city>(std::move(*loaded));
  twin::synthetic_feed feed(city, 2024);
  twin::live_base_options strict;
  strict.capacity_tolerance = 0;

  // 2024-03-04 00:00 UTC is 08:00 in Macau: 03:00, 08:30, 12:00, 18:30 and 22:00 local.
  constexpr twin::time_ms macau_8am = 1709510400000;
  const std::vector<twin::time_ms> starts{
      macau_8am - 5 * twin::ms_per_hour, macau_8am + 30 * ms_per_minute,
      macau_8am + 4 * twin::ms_per_hour, macau_8am + 10 * twin::ms_per_hour + 30 * ms_per_minute,
      macau_8am + 14 * twin::ms_per_hour};
  std::vector<twin::live_link> state(city->links.size());
  for (std::size_t l = 0; l < state.size(); ++l) state[l].key = city->links[l].key;
  std::size_t snapshots = 0, cuts = 0, within = 0, strict_cuts = 0;
  std::vector<twin::reading> out;
  for (const auto start : starts) {
    // Half an hour of rounds a minute apart, each read as a live base as it stands.
    for (int round = 0; round < 30; ++round) {
      const twin::time_ms t = start + round * ms_per_minute;
      out.clear();
      feed.sample_all(t, out);
      for (const auto& r : out) {
        const auto* s = city->find_sensor(r.sensor);
        REQUIRE(s != nullptr);
        if (!s->link) continue;
        auto& link = state[s->link->value];
        if (s->kind == twin::sensor_kind::traffic_speed) link.speed_kmh = r.value;
        if (s->kind == twin::sensor_kind::traffic_flow) link.flow_veh_h = r.value;
        link.time = r.time;
      }
      std::vector<twin::live_link> seen;
      for (const auto& l : state)
        if (l.time > 0) seen.push_back(l);
      auto snap = snapshot(seen);
      snap.city_name = city->name;
      snap.as_of = t;
      auto live = twin::apply_live_base(*city, snap, {});
      REQUIRE(live.has_value());
      REQUIRE(live->report.links_observed == 106);
      CHECK(live->report.links_stale == 0);
      cuts += live->report.cuts.size();
      within += live->report.links_within_tolerance;
      auto all = twin::apply_live_base(*city, snap, {}, strict);
      REQUIRE(all.has_value());
      strict_cuts += all->report.cuts.size();
      ++snapshots;
    }
  }
  CHECK(snapshots == 150);
  CHECK(cuts == 0);
  // The speeds scatter around their curves: without the band, the links on the slow side would
  // be cut, and they are exactly the ones the band keeps.
  CHECK(strict_cuts > snapshots * 106 / 3);
  CHECK(within == strict_cuts);
}

TEST_CASE("live base: the tolerance from the scenario file, and the links it kept in the reports") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("citytwin-live-base-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& tolerance) {
    const auto path = dir / (name + ".yaml");
    std::ofstream(path)
        << "scenario: " << name << "\nbase:\n  city: \""
        << (std::filesystem::path(CITYTWIN_TEST_DATA) / "scenario" / "two-routes").string()
        << "\"\n  capacity_tolerance: " << tolerance
        << "\nvariants:\n  - name: same\n    perturbations: []\n";
    return path;
  };
  auto bad = twin::load_scenario(write("too-wide", "1.5"));
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().to_string().find("base.capacity_tolerance") != std::string::npos);

  auto loaded = twin::load_scenario(write("half", "0.5"));
  if (!loaded) FAIL(loaded.error().to_string());
  auto s = std::move(*loaded);
  CHECK(s.live_options.capacity_tolerance == 0.5);
  // Direct (2000 m, t0 = 2 min) at 30 km/h with 500 veh/h takes twice its free time, 1.98 times
  // its BPR time (1 + 0.15 x 0.5^4 = 1.009375): cut. North-a at 57 km/h takes 1.0526 t0, 1.043
  // times its BPR time: kept.
  twin::live_snapshot live;
  live.node = "tcp://127.0.0.1:7101";
  live.city_name = "Two Routes";
  live.as_of = now;
  live.links = {{"direct", 30, 500, now}, {"north-a", 57, 500, now}};
  s.live = live;
  auto r = twin::run_scenario(s);
  REQUIRE(r.live_base.has_value());
  CHECK(r.live_base->cuts.size() == 1);
  CHECK(r.live_base->links_within_tolerance == 1);
  const auto j = nlohmann::json::parse(twin::summary_json(s, r));
  CHECK(j["live_base"]["capacities_cut"] == 1);
  CHECK(j["live_base"]["links_within_tolerance"] == 1);
  CHECK(j["live_base"]["capacity_tolerance"] == 0.5);
  CHECK(twin::comparison_table(s, r).find(
            "1 capacities cut, 1 slower than the BPR curve within the 50 % tolerance\n") !=
        std::string::npos);
  CHECK(twin::metrics_text(s, r).find(
            "citytwin_scenario_live_links_within_tolerance{scenario=\"half\"} 1\n") !=
        std::string::npos);
  std::filesystem::remove_all(dir);
}
