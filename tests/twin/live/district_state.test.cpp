#include "twin/live/district_state.hpp"
#include "validate_reading.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "twin/live/window.hpp"

using twin::district_id;
using twin::reading;
using twin::reject_reason;
using twin::sensor_id;
using twin::sensor_kind;
using twin::time_ms;

namespace {

constexpr time_ms minute = twin::ms_per_minute;

// District "a" (id 0): links 0 (1000 m, 50 km/h) and 1 (2000 m, 100 km/h), 17 sensors.
// District "b" (id 1): link 2 and one pm25 sensor (60).
// Keys are built by appending: GCC 12 warns (-Wrestrict, a false positive) on "s" + to_string(n)
// in optimized builds.
std::string prefixed_number(char prefix, std::uint32_t n) {
  std::string key(1, prefix);
  key += std::to_string(n);
  return key;
}

struct city_builder {
  twin::city c;

  void add_sensor(std::uint32_t id, sensor_kind kind, std::uint32_t district,
                  std::optional<std::uint32_t> link = std::nullopt, double capacity = 0) {
    twin::sensor s;
    s.id = sensor_id{id};
    s.key = prefixed_number('s', id);
    s.kind = kind;
    s.district = district_id{district};
    if (link) s.link = twin::link_id{*link};
    s.capacity = capacity;
    c.sensors.push_back(s);
  }

  void add_link(std::uint32_t id, double length_m, double free_speed_kmh, std::uint32_t district) {
    twin::link l;
    l.id = twin::link_id{id};
    l.key = prefixed_number('l', id);
    l.from = twin::node_id{0};
    l.to = twin::node_id{1};
    l.length_m = length_m;
    l.capacity_veh_h = 1800;
    l.free_speed_kmh = free_speed_kmh;
    l.district = district_id{district};
    c.links.push_back(l);
  }

  void add_rule(std::string key, sensor_kind kind, twin::rule_window window,
                twin::rule_aggregate aggregate, bool above, double threshold,
                std::optional<std::uint32_t> district = std::nullopt) {
    twin::threshold_rule r;
    r.key = std::move(key);
    r.kind = kind;
    r.window = window;
    r.aggregate = aggregate;
    r.above = above;
    r.threshold = threshold;
    r.level = twin::severity::critical;
    if (district) r.district = district_id{*district};
    r.message = r.key + " fired";
    c.rules.push_back(r);
  }
};

twin::city_ptr test_city(bool with_rules = false) {
  city_builder b;
  b.c.name = "testville";
  b.c.districts.push_back({district_id{0}, "a", "Alpha", {}, 1000, 2});
  b.c.districts.push_back({district_id{1}, "b", "Beta", {}, 500, 1});
  b.c.nodes.push_back({twin::node_id{0}, 1, {}});
  b.c.nodes.push_back({twin::node_id{1}, 2, {}});
  b.add_link(0, 1000, 50, 0);
  b.add_link(1, 2000, 100, 0);
  b.add_link(2, 500, 30, 1);
  b.add_sensor(11, sensor_kind::traffic_speed, 0, 1);
  b.add_sensor(10, sensor_kind::traffic_speed, 0, 0);
  b.add_sensor(12, sensor_kind::traffic_flow, 0, 0);
  b.add_sensor(13, sensor_kind::traffic_occupancy, 0, 0);
  b.add_sensor(14, sensor_kind::traffic_speed, 0, 0);
  b.add_sensor(20, sensor_kind::pm25, 0);
  b.add_sensor(21, sensor_kind::pm25, 0);
  b.add_sensor(22, sensor_kind::no2, 0);
  b.add_sensor(23, sensor_kind::co2, 0);
  b.add_sensor(30, sensor_kind::noise, 0);
  b.add_sensor(31, sensor_kind::noise, 0);
  b.add_sensor(40, sensor_kind::visitors, 0, std::nullopt, 100);
  b.add_sensor(41, sensor_kind::visitors, 0, std::nullopt, 300);
  b.add_sensor(42, sensor_kind::visitors, 0, std::nullopt, 50);
  b.add_sensor(50, sensor_kind::waste_fill, 0);
  b.add_sensor(51, sensor_kind::waste_fill, 0);
  b.add_sensor(52, sensor_kind::waste_fill, 0);
  b.add_sensor(60, sensor_kind::pm25, 1);
  if (with_rules) {
    using twin::rule_aggregate;
    using twin::rule_window;
    b.add_rule("pm25-1m", sensor_kind::pm25, rule_window::one_minute, rule_aggregate::mean, true,
               50);
    b.add_rule("co2-latest", sensor_kind::co2, rule_window::latest, rule_aggregate::max, true, 1000,
               0);
    b.add_rule("bins-low", sensor_kind::waste_fill, rule_window::latest, rule_aggregate::min, false,
               10);
    b.add_rule("b-only", sensor_kind::pm25, rule_window::latest, rule_aggregate::max, true, 0, 1);
  }
  b.c.index();
  return std::make_shared<const twin::city>(std::move(b.c));
}

reading r(std::uint32_t sensor, time_ms t, double value) {
  return {sensor_id{sensor}, t, value};
}

std::uint64_t next_sequence = 1;
twin::batch_key key() {
  return {1, 1, next_sequence++};
}

twin::apply_result apply(twin::district_state& d, std::vector<reading> readings, time_ms now) {
  return d.apply(key(), readings, now);
}

}  // namespace

TEST_CASE("applied readings become the latest values of their sensors") {
  twin::district_state d(test_city(), district_id{0});
  auto res = apply(d, {r(20, 1000, 12), r(21, 1000, 14), r(20, 2000, 16)}, 2000);
  CHECK(res.accepted == 3);
  CHECK(res.rejected.total() == 0);
  CHECK_FALSE(res.duplicate_batch);
  CHECK(d.readings_applied() == 3);
  auto s = d.sensor(sensor_id{20});
  REQUIRE(s.has_value());
  CHECK(s->key == "s20");
  CHECK(s->kind == sensor_kind::pm25);
  CHECK(s->district == district_id{0});
  CHECK(s->district_key == "a");
  CHECK(s->has_value);
  CHECK(s->value == 16);
  CHECK(s->time == 2000);
  CHECK(s->readings == 2);
  auto never = d.sensor(sensor_id{22});
  REQUIRE(never.has_value());
  CHECK_FALSE(never->has_value);
  CHECK(never->readings == 0);
  CHECK_FALSE(d.sensor(sensor_id{60}).has_value());  // district b
  CHECK_FALSE(d.sensor(sensor_id{99}).has_value());
}

TEST_CASE("equal time is a duplicate, an older time is late: applied to the windows only") {
  twin::district_state d(test_city(), district_id{0});
  CHECK(apply(d, {r(20, 5000, 10)}, 5000).accepted == 1);
  auto res = apply(d, {r(20, 5000, 99), r(20, 4000, 15), r(20, 6000, 20), r(20, 6000, 97)}, 6000);
  CHECK(res.accepted == 2);  // 4000 (late) and 6000 (newest)
  CHECK(res.rejected[reject_reason::duplicate] == 2);
  CHECK(res.rejected.total() == 2);
  CHECK(d.sensor(sensor_id{20})->value == 20);  // the latest is the newest, not the last sent
  CHECK(d.sensor(sensor_id{20})->time == 6000);
  CHECK(d.sensor(sensor_id{20})->readings == 3);
  CHECK(d.late_readings_applied() == 1);
  auto v = d.view(60000);
  CHECK(v.readings_applied == 3);
  CHECK(v.rejected[reject_reason::duplicate] == 2);
  CHECK(v.rejected[reject_reason::out_of_order] == 0);  // no longer given: late is applied
  REQUIRE(v.kinds.size() == 9);
  auto pm = v.kinds[3];
  CHECK(pm.kind == sensor_kind::pm25);
  CHECK(pm.last_1m.count == 3);
  CHECK(pm.last_1m.mean == 15);  // (10 + 15 + 20) / 3
  // The late reading resent is a duplicate like any other.
  CHECK(apply(d, {r(20, 4000, 15)}, 7000).rejected[reject_reason::duplicate] == 1);
}

TEST_CASE("a reading later than the lateness bound is too_late, and the bound is configurable") {
  twin::district_options o;
  o.lateness_ms = 10 * minute;
  twin::district_state d(test_city(), district_id{0}, o);
  const twin::time_ms t0 = 100 * twin::ms_per_hour;
  CHECK(apply(d, {r(20, t0, 10)}, t0).accepted == 1);
  auto res = apply(d,
                   {r(20, t0 - 10 * minute, 11),       // exactly the bound: applied
                    r(20, t0 - 10 * minute - 1, 12),   // 1 ms beyond: too late
                    r(21, t0 - 10 * twin::ms_per_hour, 13)},        // first of its sensor: new
                   t0);
  CHECK(res.accepted == 2);
  CHECK(res.rejected[reject_reason::too_late] == 1);
  CHECK(res.rejected.total() == 1);
  CHECK(d.view(t0).rejected[reject_reason::too_late] == 1);
  CHECK(d.sensor(sensor_id{20})->value == 10);
  // The default bound is one hour, the longest window.
  CHECK(twin::district_options{}.lateness_ms == twin::ms_per_hour);
}

TEST_CASE("a batch below the remembered window is deduplicated reading by reading") {
  // Sequence 10000 first, then 0: 0 was never applied and must not be called a duplicate.
  twin::district_state d(test_city(), district_id{0});
  CHECK(d.apply({5, 1, 10000}, std::vector<reading>{r(20, 2000, 1)}, 2000).accepted == 1);
  auto zero = d.apply({5, 1, 0}, std::vector<reading>{r(21, 1000, 2), r(20, 2000, 1)}, 2000);
  CHECK_FALSE(zero.duplicate_batch);
  CHECK(zero.accepted == 1);
  CHECK(zero.rejected[reject_reason::duplicate] == 1);  // (sensor 20, 2000) was applied
  // Its resend is caught reading by reading: the batch memory never learnt sequence 0.
  auto again = d.apply({5, 1, 0}, std::vector<reading>{r(21, 1000, 2), r(20, 2000, 1)}, 3000);
  CHECK_FALSE(again.duplicate_batch);
  CHECK(again.accepted == 0);
  CHECK(again.rejected[reject_reason::duplicate] == 2);
  CHECK(d.readings_applied() == 2);
}

TEST_CASE("a late traffic reading does not replace a newer link state") {
  twin::district_state d(test_city(), district_id{0});
  const time_ms t0 = 10 * minute;
  CHECK(apply(d, {r(11, t0, 40)}, t0).accepted == 1);  // sensor 11 is link 1's only one
  CHECK(apply(d, {r(11, t0 - minute, 10)}, t0).accepted == 1);
  auto v = d.view(t0);
  REQUIRE(v.links.size() == 1);
  CHECK(v.links[0].link == twin::link_id{1});
  CHECK(v.links[0].speed_kmh == 40);
  CHECK(v.links[0].time == t0);
  CHECK(d.sensor(sensor_id{11})->value == 40);
  CHECK(v.kinds[0].kind == sensor_kind::traffic_speed);
  CHECK(v.kinds[0].last_1m.count == 1);  // t0 - 1 min is not inside (t0 - 1 min, t0]
  CHECK(v.kinds[0].last_15m.count == 2);
}

TEST_CASE("a resent batch is a duplicate and a replayed feed never double counts") {
  twin::district_state d(test_city(), district_id{0});
  std::vector<reading> batch{r(20, 1000, 10), r(21, 1000, 20), r(22, 1000, 30)};
  twin::batch_key k{7, 3, 42};
  auto first = d.apply(k, batch, 1000);
  CHECK(first.accepted == 3);
  auto again = d.apply(k, batch, 2000);
  CHECK(again.duplicate_batch);
  CHECK(again.accepted == 0);
  CHECK(again.rejected[reject_reason::duplicate] == 3);
  CHECK(again.rejected.total() == 3);
  // The same readings in a new session of the gateway (it restarted): caught reading by reading.
  auto replay = d.apply({7, 4, 1}, batch, 3000);
  CHECK_FALSE(replay.duplicate_batch);
  CHECK(replay.accepted == 0);
  CHECK(replay.rejected[reject_reason::duplicate] == 3);
  CHECK(d.readings_applied() == 3);
  auto v = d.view(60000);
  CHECK(v.rejected[reject_reason::duplicate] == 6);
  CHECK(v.kinds[3].last_1m.count == 2);
  CHECK(v.kinds[3].last_1m.mean == 15);
  CHECK(d.sensor(sensor_id{20})->readings == 1);
  // An empty part resent is still recognised.
  CHECK(d.apply({7, 3, 43}, {}, 4000).accepted == 0);
  CHECK(d.apply({7, 3, 43}, {}, 4000).duplicate_batch);
}

TEST_CASE("sessions beyond dedup_sessions_max are forgotten, least recent first") {
  twin::district_options o;
  o.dedup_sessions_max = 2;
  twin::district_state d(test_city(), district_id{0}, o);
  d.apply({1, 1, 1}, std::vector<reading>{r(20, 1000, 1)}, 1000);
  d.apply({2, 1, 1}, std::vector<reading>{r(21, 1000, 1)}, 1000);
  CHECK(d.dedup_sessions_evicted() == 0);
  d.apply({3, 1, 1}, std::vector<reading>{r(22, 1000, 1)}, 1000);
  CHECK(d.dedup_sessions_evicted() == 1);
  // Gateway 1's batch is no longer recognised, but its reading still is.
  auto res = d.apply({1, 1, 1}, std::vector<reading>{r(20, 1000, 1)}, 2000);
  CHECK_FALSE(res.duplicate_batch);
  CHECK(res.rejected[reject_reason::duplicate] == 1);
  CHECK(d.dedup_sessions_evicted() == 2);
  // Gateway 3 was seen more recently than gateway 2, so it is still remembered.
  CHECK(d.apply({3, 1, 1}, std::vector<reading>{r(22, 1000, 1)}, 2000).duplicate_batch);
  CHECK(d.readings_applied() == 3);
}

TEST_CASE("a reading of another district's sensor is refused") {
  twin::district_state d(test_city(), district_id{0});
  auto res = apply(d, {r(60, 1000, 5), r(99, 1000, 5), r(20, 1000, 5)}, 1000);
  CHECK(res.accepted == 1);
  CHECK(res.rejected[reject_reason::unknown_sensor] == 2);
}

TEST_CASE("stale sensors: latest reading older than 2 x its cadence, or never") {
  // Default cadences: noise 1 min (stale beyond 2 min), pm25 and waste_fill 1 h (beyond 2 h).
  twin::district_state d(test_city(), district_id{0});
  CHECK(d.indicators(0).stale_sensors == 17);
  apply(d, {r(20, 0, 1), r(30, 0, 60), r(50, 1000, 10)}, 1000);
  CHECK(d.indicators(1000).stale_sensors == 14);
  CHECK(d.indicators(2 * minute).stale_sensors == 14);
  CHECK(d.indicators(2 * minute + 1).stale_sensors == 15);
  CHECK(d.indicators(2 * twin::ms_per_hour).stale_sensors == 15);
  CHECK(d.indicators(2 * twin::ms_per_hour + 1).stale_sensors == 16);
  CHECK(d.indicators(2 * twin::ms_per_hour + 1001).stale_sensors == 17);
  auto v = d.view(5 * minute + 1);
  CHECK(v.sensors == 17);
  CHECK(v.sensors_reporting == 3);
}

TEST_CASE("congestion index and mean speed from two links") {
  twin::district_state d(test_city(), district_id{0});
  auto none = d.indicators(0);
  CHECK(std::isnan(none.congestion_index));
  CHECK(std::isnan(none.mean_speed_kmh));
  // Link 0: 1000 m at 25 km/h (free 50); link 1: 2000 m at 100 km/h (free 100).
  // sum L/v = 40 + 20 = 60, sum L/vff = 20 + 20 = 40.
  apply(d, {r(10, 1000, 25), r(11, 1000, 100)}, 1000);
  auto i = d.indicators(1000);
  CHECK(i.congestion_index == doctest::Approx(0.5).epsilon(1e-12));
  CHECK(i.mean_speed_kmh == doctest::Approx(50).epsilon(1e-12));

  // A stopped link counts at 1 km/h: sum L/v = 40 + 2000.
  apply(d, {r(11, 2000, 0)}, 2000);
  i = d.indicators(2000);
  CHECK(i.congestion_index == doctest::Approx(50).epsilon(1e-12));
  CHECK(i.mean_speed_kmh == doctest::Approx(3000.0 / 2040).epsilon(1e-12));

  // The newest reading on a link wins, whichever sensor sent it.
  apply(d, {r(11, 3000, 100), r(14, 5000, 50)}, 5000);
  CHECK(d.indicators(5000).congestion_index == doctest::Approx(0).epsilon(1e-12));
  apply(d, {r(10, 4000, 10)}, 5000);  // newer for sensor 10, older than sensor 14's on link 0
  CHECK(d.indicators(5000).congestion_index == doctest::Approx(0).epsilon(1e-12));
  CHECK(d.sensor(sensor_id{10})->value == 10);

  // Link 1 goes stale first (10 min: 2 x the 5 min cadence of traffic): only link 0 remains.
  apply(d, {r(14, 3000 + 10 * minute + 1000, 25)}, 3000 + 10 * minute + 1000);
  i = d.indicators(3000 + 10 * minute + 1);
  CHECK(i.congestion_index == doctest::Approx(1).epsilon(1e-12));
  CHECK(i.mean_speed_kmh == doctest::Approx(25).epsilon(1e-12));
}

TEST_CASE("link states, sorted by link id, with the newest time") {
  twin::district_state d(test_city(), district_id{0});
  apply(d, {r(11, 1000, 80), r(12, 2000, 900), r(13, 3000, 12.5), r(10, 1500, 40)}, 3000);
  auto v = d.view(3000);
  REQUIRE(v.links.size() == 2);
  CHECK(v.links[0].link == twin::link_id{0});
  CHECK(v.links[0].key == "l0");
  CHECK(v.links[0].speed_kmh == 40);
  CHECK(v.links[0].flow_veh_h == 900);
  CHECK(v.links[0].occupancy_pct == 12.5);
  CHECK(v.links[0].time == 3000);
  CHECK(v.links[1].link == twin::link_id{1});
  CHECK(v.links[1].speed_kmh == 80);
  CHECK(std::isnan(v.links[1].flow_veh_h));
  CHECK(std::isnan(v.links[1].occupancy_pct));
  CHECK(v.links[1].time == 1000);
  CHECK(d.view(3000, false).links.empty());
}

TEST_CASE("noise is the energetic mean of the fresh latest levels") {
  twin::district_state d(test_city(), district_id{0});
  CHECK(std::isnan(d.indicators(0).noise_db));
  apply(d, {r(30, 1000, 60), r(31, 2000, 70)}, 2000);
  // 10 log10((10^6 + 10^7) / 2) = 67.4036...
  CHECK(d.indicators(2000).noise_db == doctest::Approx(67.40362689494244).epsilon(1e-12));
  // Sensor 30 goes stale (2 x the 1 min cadence of noise): only 70 dB remains.
  CHECK(d.indicators(1000 + 2 * minute + 1).noise_db == doctest::Approx(70).epsilon(1e-12));
  CHECK(std::isnan(d.indicators(2000 + 2 * minute + 1).noise_db));
}

TEST_CASE("visitors and crowding over the sites that reported") {
  twin::district_state d(test_city(), district_id{0});
  auto none = d.indicators(0);
  CHECK(std::isnan(none.visitors));
  CHECK(std::isnan(none.crowding));
  apply(d, {r(40, 1000, 50), r(41, 1000, 150)}, 1000);
  auto i = d.indicators(1000);
  CHECK(i.visitors == 200);
  CHECK(i.crowding == 0.5);  // 200 / (100 + 300); site 42 has not reported
  apply(d, {r(42, 2000, 50)}, 2000);
  i = d.indicators(2000);
  CHECK(i.visitors == 250);
  CHECK(i.crowding == doctest::Approx(250.0 / 450).epsilon(1e-12));
}

TEST_CASE("waste fill and full bins") {
  twin::district_state d(test_city(), district_id{0});
  CHECK(std::isnan(d.indicators(0).waste_fill_pct));
  CHECK(d.indicators(0).bins_full == 0);
  apply(d, {r(50, 1000, 80), r(51, 1000, 40), r(52, 1000, 79.5)}, 1000);
  auto i = d.indicators(1000);
  CHECK(i.waste_fill_pct == doctest::Approx(199.5 / 3).epsilon(1e-12));
  CHECK(i.bins_full == 1);
  apply(d, {r(52, 2000, 100)}, 2000);
  CHECK(d.indicators(2000).bins_full == 2);
  CHECK(d.indicators(2000).waste_fill_pct == doctest::Approx(220.0 / 3).epsilon(1e-12));
}

TEST_CASE("air indicators are window means: pm25 and no2 over 1 h, co2 over 15 min") {
  twin::district_state d(test_city(), district_id{0});
  auto none = d.indicators(0);
  CHECK(std::isnan(none.pm25_ug_m3));
  CHECK(std::isnan(none.no2_ug_m3));
  CHECK(std::isnan(none.co2_ppm));
  // Readings out of order across sensors; the window takes them all.
  apply(d, {r(21, 20000, 30), r(20, 10000, 10), r(22, 20000, 40), r(23, 20000, 400)}, 20000);
  apply(d, {r(20, 30 * minute, 50), r(23, 30 * minute, 600), r(22, 30 * minute, 20)}, 30 * minute);
  auto i = d.indicators(30 * minute);
  CHECK(i.pm25_ug_m3 == 30);  // (10 + 30 + 50) / 3
  CHECK(i.no2_ug_m3 == 30);   // (40 + 20) / 2
  CHECK(i.co2_ppm == 600);    // 400 is older than 15 min
  i = d.indicators(twin::ms_per_hour);
  CHECK(i.pm25_ug_m3 == 30);
  // At 15 s granularity the 1 h window at 1 h + 1 ms starts at floor(1 ms) = 0: the bucket
  // (0, 15 s] with t = 10 s is still in.
  i = d.indicators(twin::ms_per_hour + 1);
  CHECK(i.pm25_ug_m3 == 30);
  CHECK(i.no2_ug_m3 == 30);
  // At 1 h + 15 s it starts at 15 s: 10 s has left, but sensor 20 has its 30 min reading in the
  // window (50) and sensor 21's 20 s reading is in too: (30 + 50) / 2.
  i = d.indicators(twin::ms_per_hour + 15000);
  CHECK(i.pm25_ug_m3 == 40);
  CHECK(i.no2_ug_m3 == 30);
  // At 1 h + 30 s it starts at 30 s: sensor 21 has no reading left in it, and its latest (30, at
  // 20 s) is held while fresh (2 h): still (30 + 50) / 2. NO2's one sensor has its 30 min
  // reading in the window: 20.
  i = d.indicators(twin::ms_per_hour + 30000);
  CHECK(i.pm25_ug_m3 == 40);
  CHECK(i.no2_ug_m3 == 20);
  // At 2 h + 20 s both are held (sensor 20's 30 min reading has left the window); 1 ms later
  // sensor 21 is stale (2 h after its 20 s reading): sensor 20's 50 alone.
  CHECK(d.indicators(2 * twin::ms_per_hour + 20000).pm25_ug_m3 == 40);
  CHECK(d.indicators(2 * twin::ms_per_hour + 20001).pm25_ug_m3 == 50);
}

TEST_CASE("a view lists the district, its kinds sorted, and its counters") {
  twin::district_state d(test_city(), district_id{0});
  apply(d, {r(23, 1000, 500), r(20, 1000, 8), r(20, 2000, 12), r(21, 3000, 40)}, 3000);
  auto v = d.view(60000);
  CHECK(v.id == district_id{0});
  CHECK(v.key == "a");
  CHECK(v.name == "Alpha");
  CHECK(v.as_of == 60000);
  CHECK(v.population == 1000);
  CHECK(v.area_km2 == 2);
  CHECK(v.readings_applied == 4);
  CHECK(v.sensors == 17);
  CHECK(v.sensors_reporting == 3);
  std::vector<sensor_kind> kinds;
  for (const auto& k : v.kinds) kinds.push_back(k.kind);
  CHECK(kinds == std::vector<sensor_kind>{sensor_kind::traffic_speed, sensor_kind::traffic_flow,
                                          sensor_kind::traffic_occupancy, sensor_kind::pm25,
                                          sensor_kind::no2, sensor_kind::co2, sensor_kind::noise,
                                          sensor_kind::visitors, sensor_kind::waste_fill});
  CHECK(v.kinds[0].sensors == 3);
  CHECK(v.kinds[0].last_1m.count == 0);
  const auto& pm = v.kinds[3];
  CHECK(pm.sensors == 2);
  CHECK(pm.last_1m.count == 3);
  CHECK(pm.last_1m.mean == 20);
  CHECK(pm.last_1m.min == 8);
  CHECK(pm.last_1m.max == 40);
  CHECK(pm.last_15m.count == 3);
  CHECK(pm.last_1h.count == 3);
  CHECK(v.indicators.co2_ppm == 500);
  CHECK(v.links.empty());
  CHECK(v.alerts.empty());

  twin::district_state b(test_city(), district_id{1});
  auto vb = b.view(0);
  CHECK(vb.key == "b");
  CHECK(vb.sensors == 1);
  REQUIRE(vb.kinds.size() == 1);
  CHECK(vb.kinds[0].kind == sensor_kind::pm25);
}

TEST_CASE("an alert fires above its threshold, keeps its start, and clears") {
  twin::district_state d(test_city(true), district_id{0});
  CHECK(d.active_alerts().empty());
  apply(d, {r(20, 1000, 60)}, 1000);
  REQUIRE(d.active_alerts().size() == 1);
  auto a = d.active_alerts()[0];
  CHECK(a.rule == "pm25-1m");
  CHECK(a.district == district_id{0});
  CHECK(a.kind == sensor_kind::pm25);
  CHECK(a.level == twin::severity::critical);
  CHECK(a.value == 60);
  CHECK(a.threshold == 50);
  CHECK(a.since == 1000);
  CHECK(a.message == "pm25-1m fired");

  apply(d, {r(21, 2000, 50)}, 2000);  // mean 55: still firing, since unchanged
  REQUIRE(d.active_alerts().size() == 1);
  CHECK(d.active_alerts()[0].value == 55);
  CHECK(d.active_alerts()[0].since == 1000);

  // The 1 min window at 61 s is (1 s, 61 s]: t = 1 s has left it, but sensor 20 is fresh (2 h),
  // so its latest value is held: still (60 + 50) / 2.
  d.tick(61000);
  REQUIRE(d.active_alerts().size() == 1);
  CHECK(d.active_alerts()[0].value == 55);
  CHECK(d.active_alerts()[0].since == 1000);

  // At 62 s the window (2 s, 62 s] holds sensor 20's 30 and sensor 21's held 50: 40 clears.
  apply(d, {r(20, 62000, 30)}, 62000);
  CHECK(d.active_alerts().empty());
  CHECK(d.indicators(62000).active_alerts == 0);

  apply(d, {r(21, 70000, 90)}, 70000);  // (30 + 90) / 2 = 60
  REQUIRE(d.active_alerts().size() == 1);
  CHECK(d.active_alerts()[0].since == 70000);
  CHECK(d.active_alerts()[0].value == 60);
  d.tick(200000);  // no reading in the window: both latest values held
  REQUIRE(d.active_alerts().size() == 1);
  CHECK(d.active_alerts()[0].value == 60);
  d.tick(2 * twin::ms_per_hour + 70001);  // both stale: no value, not firing
  CHECK(d.active_alerts().empty());
}

TEST_CASE("a firing alert holds until the value passes back beyond clear_at") {
  auto c = std::make_shared<twin::city>(*test_city(true));
  REQUIRE(c->rules[0].key == "pm25-1m");
  c->rules[0].clear_at = 40;  // fires above 50, clears at or below 40
  twin::district_state d(c, district_id{0});
  apply(d, {r(20, 1000, 60)}, 1000);
  REQUIRE(d.active_alerts().size() == 1);
  apply(d, {r(21, 2000, 30)}, 2000);  // mean 45: below the threshold, above clear_at
  REQUIRE(d.active_alerts().size() == 1);
  CHECK(d.active_alerts()[0].value == 45);
  CHECK(d.active_alerts()[0].since == 1000);
  apply(d, {r(20, 3000, 20)}, 3000);  // mean of 60, 30, 20 = 36.67: cleared
  CHECK(d.active_alerts().empty());
  apply(d, {r(21, 4000, 90)}, 4000);  // mean of 60, 30, 20, 90 = 50: not above 50
  CHECK(d.active_alerts().empty());
  apply(d, {r(20, 5000, 100)}, 5000);  // mean 60: fires again
  REQUIRE(d.active_alerts().size() == 1);
  CHECK(d.active_alerts()[0].since == 5000);
}

TEST_CASE("latest-window alerts, below thresholds, and rules of other districts") {
  twin::district_state a(test_city(true), district_id{0});
  apply(a, {r(23, 1000, 1200), r(50, 1000, 50)}, 1000);
  REQUIRE(a.active_alerts().size() == 1);
  CHECK(a.active_alerts()[0].rule == "co2-latest");
  CHECK(a.active_alerts()[0].value == 1200);

  apply(a, {r(51, 2000, 5)}, 2000);  // min of the latest fills is 5 < 10
  REQUIRE(a.active_alerts().size() == 2);
  CHECK(a.active_alerts()[0].rule == "co2-latest");  // in rule order
  CHECK(a.active_alerts()[1].rule == "bins-low");
  CHECK(a.active_alerts()[1].value == 5);
  CHECK(a.active_alerts()[1].since == 2000);
  auto v = a.view(2000);
  REQUIRE(v.alerts.size() == 2);
  CHECK(v.alerts[1].rule == "bins-low");
  CHECK(v.indicators.active_alerts == 2);

  apply(a, {r(51, 3000, 20)}, 3000);
  REQUIRE(a.active_alerts().size() == 1);
  CHECK(a.active_alerts()[0].rule == "co2-latest");
  CHECK(a.active_alerts()[0].since == 1000);

  // The co2 reading goes stale (2 x the 5 min cadence of co2): the latest aggregate has no value.
  a.tick(1000 + 10 * minute);
  REQUIRE(a.active_alerts().size() == 1);
  a.tick(1000 + 10 * minute + 1);
  CHECK(a.active_alerts().empty());

  // The "b-only" rule never shows in district a, even with pm25 above its threshold.
  apply(a, {r(20, 400000, 1)}, 400000);
  CHECK(a.active_alerts().empty());
  twin::district_state b(test_city(true), district_id{1});
  apply(b, {r(60, 1000, 1)}, 1000);
  REQUIRE(b.active_alerts().size() == 1);
  CHECK(b.active_alerts()[0].rule == "b-only");
  CHECK(b.active_alerts()[0].district == district_id{1});
}

TEST_CASE("a district state can be moved") {
  twin::district_state d(test_city(), district_id{0});
  apply(d, {r(20, 1000, 5)}, 1000);
  twin::district_state moved(std::move(d));
  CHECK(moved.readings_applied() == 1);
  CHECK(moved.id() == district_id{0});
  CHECK(apply(moved, {r(20, 1000, 5)}, 1000).rejected[reject_reason::duplicate] == 1);
}

TEST_CASE("apply evaluates alert rules at most once per alert_eval_interval_ms, tick always") {
  twin::district_options o;
  o.alert_eval_interval_ms = 250;
  twin::district_state d(test_city(true), district_id{0}, o);
  auto version = d.alerts_version();
  apply(d, {r(20, 1000, 60)}, 1000);  // the first apply evaluates
  REQUIRE(d.active_alerts().size() == 1);
  CHECK(d.active_alerts()[0].value == 60);
  CHECK(d.alerts_version() != version);
  version = d.alerts_version();

  // Within the interval: applied, but the rules wait. Mean of 60 and 0 = 30 would clear.
  CHECK(apply(d, {r(21, 1100, 0)}, 1249).accepted == 1);
  REQUIRE(d.active_alerts().size() == 1);
  CHECK(d.active_alerts()[0].value == 60);
  CHECK(d.alerts_version() == version);

  // The interval has passed: the kinds touched meanwhile are evaluated, even by an apply that
  // touches another kind.
  apply(d, {r(22, 1250, 5)}, 1250);
  CHECK(d.active_alerts().empty());
  CHECK(d.alerts_version() != version);

  apply(d, {r(20, 1300, 100)}, 1300);  // mean of 60, 0, 100 = 53.3: due, but not yet evaluated
  CHECK(d.active_alerts().empty());
  d.tick(1300);  // tick evaluates whatever the interval
  REQUIRE(d.active_alerts().size() == 1);
  CHECK(d.active_alerts()[0].value == doctest::Approx(160.0 / 3));
  CHECK(d.active_alerts()[0].since == 1300);

  // A clock that goes back evaluates at once rather than waiting for it to catch up.
  // At 1299 the 1 min window ends at 2 s: mean of 60, 0, 100, 0 = 40.
  apply(d, {r(21, 1400, 0)}, 1299);
  CHECK(d.active_alerts().empty());
}

TEST_CASE("alert_eval_interval_ms 0 evaluates on every apply") {
  twin::district_options o;
  o.alert_eval_interval_ms = 0;
  twin::district_state d(test_city(true), district_id{0}, o);
  apply(d, {r(20, 1000, 60)}, 2000);
  REQUIRE(d.active_alerts().size() == 1);
  apply(d, {r(21, 1001, 0)}, 2000);  // same `now`, evaluated again: mean 30
  CHECK(d.active_alerts().empty());
}

TEST_CASE("reading_validator gives the outcome of validate_reading") {
  auto c = test_city();
  twin::ingest_limits limits;
  limits.max_age_ms = 10 * minute;
  limits.max_future_ms = minute;
  const twin::reading_validator validator(*c, limits);
  const time_ms now = 100 * minute;
  const std::vector<reading> cases{
      r(20, now, 12),                    // valid
      r(20, now - 10 * minute, 12),      // exactly the oldest accepted
      r(20, now - 10 * minute - 1, 12),  // too old
      r(20, now + minute, 12),           // exactly the newest accepted
      r(20, now + minute + 1, 12),       // too new
      r(20, now, std::nan("")),          // non-finite
      r(20, now, INFINITY),              // non-finite
      r(20, now, -1),                    // out of range for pm25
      r(20, now, 1e9),                   // out of range
      r(15, now, 1),                     // no sensor 15 (a gap among the ids)
      r(61, now, 1),                     // above every id
      r(4'000'000'000u, now, 1),         // far above every id
      r(60, now, 12),                    // another district's sensor: still valid here
      r(30, now, 60),                    // noise
      r(50, now, 101),                   // waste fill above 100 %
      r(10, now, 60),                    // traffic speed
  };
  for (const auto& x : cases) {
    CAPTURE(x.sensor.value);
    CAPTURE(x.time);
    CAPTURE(x.value);
    CHECK(validator.check(x, now) == twin::testing::validate_reading(*c, x, now, limits).reason);
  }
  CHECK_FALSE(validator.check(r(20, now, 12), now).has_value());
  CHECK(validator.check(r(15, now, 1), now) == reject_reason::unknown_sensor);
  CHECK(validator.check(r(20, now, -1), now) == reject_reason::out_of_range);
  CHECK(validator.check(r(20, now + minute + 1, 12), now) == reject_reason::too_new);
}

TEST_CASE("a rolling window gives the same stats whatever order its readings arrive in") {
  // A reference that keeps every reading, against windows fed in time order, in reverse, and
  // jumping back and forth across bucket boundaries (the window remembers its last bucket).
  const time_ms bucket_ms = 1000;
  const std::uint32_t buckets = 90;
  std::vector<std::pair<time_ms, double>> all;
  for (time_ms t = -5000; t <= 60000; t += 250) all.emplace_back(t, double(t % 7000) / 100);
  for (time_ms t : {time_ms{-1}, time_ms{0}, time_ms{1}, time_ms{999}, time_ms{1000}, time_ms{1001},
                    time_ms{59999}})
    all.emplace_back(t, 3.5);
  std::vector<std::pair<time_ms, double>> reversed(all.rbegin(), all.rend());
  std::vector<std::pair<time_ms, double>> zigzag;
  for (std::size_t i = 0, j = all.size() - 1; i <= j && j < all.size(); ++i, --j) {
    zigzag.push_back(all[i]);
    if (i != j) zigzag.push_back(all[j]);
  }
  auto reference = [&](time_ms now, time_ms window_ms) {
    // The window covers (floor(now - W), ceil(now)], to multiples of the bucket.
    auto floor_b = [&](time_ms x) {
      time_ms q = x / bucket_ms;
      if (x % bucket_ms != 0 && x < 0) --q;
      return q * bucket_ms;
    };
    const time_ms s = floor_b(now - window_ms);
    const time_ms e = floor_b(now + bucket_ms - 1);
    twin::window_stats w;
    double sum = 0;
    for (auto [t, v] : all) {
      if (t <= s || t > e) continue;
      w.min = w.count == 0 ? v : std::min(w.min, v);
      w.max = w.count == 0 ? v : std::max(w.max, v);
      ++w.count;
      sum += v;
    }
    if (w.count > 0) w.mean = sum / double(w.count);
    return w;
  };
  for (const auto* order : {&all, &reversed, &zigzag}) {
    twin::rolling_window w(bucket_ms, buckets);
    for (auto [t, v] : *order) CHECK(w.add(t, v));
    CHECK(w.dropped() == 0);
    for (time_ms now : {time_ms{0}, time_ms{500}, time_ms{30000}, time_ms{59999}, time_ms{60000}}) {
      for (time_ms width : {time_ms{1000}, time_ms{10000}, time_ms{60000}}) {
        CAPTURE(now);
        CAPTURE(width);
        auto got = w.stats(now, width);
        auto want = reference(now, width);
        CHECK(got.count == want.count);
        if (want.count == 0) continue;
        CHECK(got.mean == doctest::Approx(want.mean));
        CHECK(got.min == want.min);
        CHECK(got.max == want.max);
      }
    }
  }
}
