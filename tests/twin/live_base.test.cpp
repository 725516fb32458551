#include "twin/live_base.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

namespace {

using twin::live_snapshot;
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
      {"e", 30, 800, now - 16 * ms_per_minute},  // stale: older than 15 min
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
  // No model flows given: the demand stays as it is.
  CHECK_FALSE(r.demand_factor.has_value());
  CHECK(live.base.demand[1].trips_veh_h == 1000.0);
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

TEST_CASE("live base: fresh means of the environment sensors; directions as unit vectors") {
  live_snapshot s = snapshot({});
  using twin::sensor_kind;
  s.sensors = {{"w1", sensor_kind::wind_direction, "mid", true, 350, now},
               {"w2", sensor_kind::wind_direction, "mid", true, 10, now - 60'000},
               {"w3", sensor_kind::wind_direction, "mid", true, 180, now - 30 * ms_per_minute},
               {"p1", sensor_kind::pm25, "mid", true, 20, now},
               {"p2", sensor_kind::pm25, "mid", true, 40, now},
               {"p3", sensor_kind::pm25, "mid", false, twin::no_value, 0},
               {"s1", sensor_kind::wind_speed, "mid", true, 3, now - 30 * ms_per_minute}};
  const auto window = 15 * ms_per_minute;
  auto dir = twin::fresh_mean(s, sensor_kind::wind_direction, window);
  REQUIRE(dir.has_value());
  CHECK(std::min(*dir, 360 - *dir) < 1e-9);  // north, not 180 (w3 is stale)
  CHECK(twin::fresh_mean(s, sensor_kind::pm25, window) == 30.0);
  CHECK_FALSE(twin::fresh_mean(s, sensor_kind::wind_speed, window).has_value());
  CHECK_FALSE(twin::fresh_mean(s, sensor_kind::no2, window).has_value());
  CHECK(twin::fresh_mean(s, sensor_kind::wind_speed, 60 * ms_per_minute) == 3.0);
}
