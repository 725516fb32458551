// Windows, indicators, alerts and staleness of sensors that report at their own cadence: a real
// hourly air-quality station (tests/data/replay/prsa_aotizhongxin_excerpt.csv) replayed at
// 1-minute ticks.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "twin/feed/csv_replay.hpp"
#include "twin/live/district_state.hpp"

using twin::district_id;
using twin::ms_per_hour;
using twin::ms_per_minute;
using twin::sensor_kind;
using twin::time_ms;

namespace {

const std::string replay_dir = std::string(CITYTWIN_TEST_DATA) + "/replay/";
// 2013-03-01 00:00 in Beijing (UTC+8), the first row of the excerpt.
constexpr time_ms prsa_first_ms = 1362067200000;

// The station's six sensors in one district, and the Macau bundle's PM2.5 warning rule (1-hour
// mean above 37.5 ug/m3, clearing at 30). Temperature and wind report hourly at this station, so
// they have a cadence of their own (1 h) over their kinds' 10 min, as a bundle's sensors.csv says.
twin::city_ptr station_city() {
  auto c = std::make_shared<twin::city>();
  c->name = "replay-test";
  c->districts.push_back({district_id{0}, "chaoyang", "Chaoyang", {}, 0, 0});
  auto add = [&](std::uint32_t id, std::string key, sensor_kind kind, bool hourly) {
    twin::sensor s;
    s.id = twin::sensor_id{id};
    s.key = std::move(key);
    s.kind = kind;
    s.district = district_id{0};
    if (hourly) s.cadence_ms = ms_per_hour;
    c->sensors.push_back(s);
  };
  add(10, "aoti-pm25", sensor_kind::pm25, false);
  add(11, "aoti-pm10", sensor_kind::pm10, false);
  add(12, "aoti-temp", sensor_kind::temperature, true);
  add(13, "aoti-no2", sensor_kind::no2, false);
  add(14, "aoti-wd", sensor_kind::wind_direction, true);
  add(15, "aoti-wspm", sensor_kind::wind_speed, true);
  twin::threshold_rule r;
  r.key = "pm25-warning";
  r.kind = sensor_kind::pm25;
  r.window = twin::rule_window::one_hour;
  r.aggregate = twin::rule_aggregate::mean;
  r.above = true;
  r.threshold = 37.5;
  r.clear_at = 30;
  c->rules.push_back(r);
  c->index();
  return c;
}

std::vector<twin::reading> station_readings(const twin::city_ptr& c) {
  twin::replay_options o;
  o.mapping_file = replay_dir + "prsa_aotizhongxin.mapping";
  o.utc_offset_minutes = 8 * 60;
  auto replay = twin::csv_replay::open(replay_dir + "prsa_aotizhongxin_excerpt.csv", c, o);
  REQUIRE(replay.has_value());
  std::vector<twin::reading> out;
  for (;;) {
    auto n = replay->next(out, 1000);
    REQUIRE(n.has_value());
    if (*n == 0) break;
  }
  REQUIRE(out.size() == 575);  // 6 x 96 - 1 (tests/data/replay/README.md)
  return out;
}

struct replay_outcome {
  std::size_t ticks = 0;
  std::size_t pm25_null = 0;        // ticks with the PM2.5 indicator NaN
  std::size_t no2_null = 0;         // and NO2
  std::size_t pm25_not_latest = 0;  // ticks where PM2.5 differs from the station's latest value
  std::size_t stale_ticks = 0;      // ticks with a stale sensor
  std::vector<time_ms> raised;      // ticks at which the alert was raised (from the first)
  std::vector<time_ms> cleared;
  double no2_at_0430 = twin::no_value;  // 2013-03-04 04:30:50 local, when NO2 04:00 is NA
};

// Ticks every minute, 50 s past the minute, from the first row for 96 hours: each reading is
// applied at the first tick at least `delay_ms` after its time, then the state ticks and is read.
// 50 s past the minute puts a tick 10 s before every hourly reading, where a window ending at now
// rounded up to 15 s would have lost the previous one.
replay_outcome replay_hourly(time_ms delay_ms) {
  auto c = station_city();
  const auto readings = station_readings(c);
  twin::district_state d(c, district_id{0});
  replay_outcome out;
  std::size_t next = 0;
  std::uint64_t sequence = 0;
  double pm25_latest = twin::no_value;
  bool firing = false;
  for (time_ms now = prsa_first_ms + 50'000; now < prsa_first_ms + 96 * ms_per_hour;
       now += ms_per_minute) {
    std::vector<twin::reading> batch;
    while (next < readings.size() && readings[next].time + delay_ms <= now) {
      if (readings[next].sensor == twin::sensor_id{10}) pm25_latest = readings[next].value;
      batch.push_back(readings[next++]);
    }
    if (!batch.empty()) d.apply({1, 1, ++sequence}, batch, now);
    d.tick(now);
    if (std::isnan(pm25_latest)) continue;  // nothing has arrived yet
    ++out.ticks;
    const auto i = d.indicators(now);
    if (std::isnan(i.pm25_ug_m3)) ++out.pm25_null;
    if (std::isnan(i.no2_ug_m3)) ++out.no2_null;
    if (!(i.pm25_ug_m3 == pm25_latest)) ++out.pm25_not_latest;
    if (i.stale_sensors > 0) ++out.stale_ticks;
    if (now == prsa_first_ms + (3 * 24 + 4) * ms_per_hour + 30 * ms_per_minute + 50'000)
      out.no2_at_0430 = i.no2_ug_m3;
    const bool now_firing = !d.active_alerts().empty();
    if (now_firing != firing)
      (now_firing ? out.raised : out.cleared).push_back(now - prsa_first_ms);
    firing = now_firing;
  }
  return out;
}

constexpr time_ms at(int hours, int minutes, int seconds) {
  return hours * ms_per_hour + minutes * ms_per_minute + seconds * 1000;
}

}  // namespace

// Expected values, from the CSV by a short script independent of the code: PM2.5 by row is
// 44 at row 41 (2013-03-02 17:00), above 37.5 through row 63 (48), 28 at row 64 (<= 30: clears),
// 60 at row 68 (raises), 34 at row 74 (still above 30), 12 at row 75 (clears), 40 at row 93
// (raises) and above until the last row. With one station the 1 h window holds its latest
// reading for the whole hour after it, so the indicator is always the latest hourly value:
//   firing = False
//   for each tick: v = latest applied PM2.5; level = 30 if firing else 37.5
//                  if (v > level) != firing: record the tick; firing = not firing
// gives raises at 41 h, 68 h and 93 h after the first row, clears at 64 h and 75 h (plus the
// 50 s of the tick; plus 5 min when late). NO2 of 2013-03-04 04:00 is NA: the 03:00 value (12)
// is held.
TEST_CASE("a punctual hourly station never leaves the PM2.5 indicator null nor flaps its alert") {
  const auto o = replay_hourly(0);
  CHECK(o.ticks == 96 * 60);
  CHECK(o.pm25_null == 0);
  CHECK(o.no2_null == 0);
  CHECK(o.pm25_not_latest == 0);
  CHECK(o.stale_ticks == 0);
  CHECK(o.raised == std::vector<time_ms>{at(41, 0, 50), at(68, 0, 50), at(93, 0, 50)});
  CHECK(o.cleared == std::vector<time_ms>{at(64, 0, 50), at(75, 0, 50)});
  CHECK(o.no2_at_0430 == 12);
}

TEST_CASE("an hourly station 5 minutes late never leaves the PM2.5 indicator null either") {
  // The first reading arrives at the tick 5 min 50 s after the first row: 96 h of ticks less 5.
  const auto o = replay_hourly(5 * ms_per_minute);
  CHECK(o.ticks == 96 * 60 - 5);
  CHECK(o.pm25_null == 0);
  CHECK(o.pm25_not_latest == 0);
  // NO2 missed its 04:00 report and its 05:00 one comes 5 min late: from 2 h after 03:00 (77 h
  // after the first row) until 05:00's arrives at the tick 77 h 5 min 50 s, the ticks at 77 h
  // 0 min 50 s to 77 h 4 min 50 s see it stale, and the NO2 indicator without data: 5 ticks.
  CHECK(o.no2_null == 5);
  CHECK(o.stale_ticks == 5);
  CHECK(o.raised == std::vector<time_ms>{at(41, 5, 50), at(68, 5, 50), at(93, 5, 50)});
  CHECK(o.cleared == std::vector<time_ms>{at(64, 5, 50), at(75, 5, 50)});
  CHECK(o.no2_at_0430 == 12);
}

TEST_CASE("staleness flips at 2 x the cadence, or at a bound set for every sensor") {
  auto c = station_city();
  const time_ms t = prsa_first_ms;
  std::vector<twin::reading> batch{{twin::sensor_id{10}, t, 50},   // pm25: kind 1 h
                                   {twin::sensor_id{12}, t, 5},    // temperature: own 1 h
                                   {twin::sensor_id{14}, t, 90}};  // wind_direction: own 1 h
  auto stale = [&](const twin::district_state& d, time_ms now) {
    return d.indicators(now).stale_sensors;
  };
  {
    twin::district_state d(c, district_id{0});
    d.apply({1, 1, 1}, batch, t);
    // 3 sensors never reported; the 3 that did are fresh up to 2 h after their reading.
    CHECK(stale(d, t) == 3);
    CHECK(stale(d, t + 2 * ms_per_hour) == 3);
    CHECK(stale(d, t + 2 * ms_per_hour + 1) == 6);
    // The PM2.5 value is held in the 1 h window while fresh, then the indicator has no data.
    CHECK(d.indicators(t + 2 * ms_per_hour).pm25_ug_m3 == 50);
    CHECK(std::isnan(d.indicators(t + 2 * ms_per_hour + 1).pm25_ug_m3));
  }
  {
    // Without its own cadence, temperature has its kind's 10 min: stale beyond 20 min.
    auto plain = std::make_shared<twin::city>(*c);
    plain->sensors[2].cadence_ms.reset();
    twin::district_state d(plain, district_id{0});
    d.apply({1, 1, 1}, batch, t);
    CHECK(stale(d, t + 20 * ms_per_minute) == 3);
    CHECK(stale(d, t + 20 * ms_per_minute + 1) == 4);
  }
  {
    // The node's --stale-after: one bound for all.
    twin::district_options o;
    o.stale_after_ms = 5 * ms_per_minute;
    twin::district_state d(c, district_id{0}, o);
    d.apply({1, 1, 1}, batch, t);
    CHECK(stale(d, t + 5 * ms_per_minute) == 3);
    CHECK(stale(d, t + 5 * ms_per_minute + 1) == 6);
    CHECK(d.indicators(t + 5 * ms_per_minute).pm25_ug_m3 == 50);
    // 1 h window: the reading itself is in it until t + 1 h; no longer held after 5 min.
    CHECK(d.indicators(t + 59 * ms_per_minute).pm25_ug_m3 == 50);
    CHECK(std::isnan(d.indicators(t + ms_per_hour).pm25_ug_m3));
  }
}

TEST_CASE("a window holds each sensor's readings, or its fresh latest value once") {
  // Two PM2.5 stations: A reports at 00:10 (20) and 00:40 (40), B only at 23:30 the day before
  // (60), older than the 1 h window at 01:00 but fresh (within 2 h). The 1 h window at 01:00 is
  // A's two readings and B's held value: (20 + 40 + 60) / 3 = 40, count 3, min 20, max 60.
  auto c = station_city();
  auto two = std::make_shared<twin::city>(*c);
  twin::sensor b = two->sensors[0];
  b.id = twin::sensor_id{16};
  b.key = "b-pm25";
  two->sensors.push_back(b);
  two->index();
  const time_ms t = prsa_first_ms;
  twin::district_state d(two, district_id{0});
  d.apply({1, 1, 1},
          std::vector<twin::reading>{{twin::sensor_id{16}, t - 30 * ms_per_minute, 60},
                                     {twin::sensor_id{10}, t + 10 * ms_per_minute, 20},
                                     {twin::sensor_id{10}, t + 40 * ms_per_minute, 40}},
          t + 40 * ms_per_minute);
  const auto v = d.view(t + ms_per_hour);
  const twin::kind_stats* pm25 = nullptr;
  for (const auto& k : v.kinds)
    if (k.kind == sensor_kind::pm25) pm25 = &k;
  REQUIRE(pm25 != nullptr);
  CHECK(pm25->last_1h.count == 3);
  CHECK(pm25->last_1h.mean == 40);
  CHECK(pm25->last_1h.min == 20);
  CHECK(pm25->last_1h.max == 60);
  // The 15 min window at 01:00 holds A's latest (40, held: its readings are older) and B's.
  CHECK(pm25->last_15m.count == 2);
  CHECK(pm25->last_15m.mean == 50);
  CHECK(v.indicators.pm25_ug_m3 == 40);
  // At 01:30 the window (00:30, 01:30] holds A's 00:40 (40) and B, 2 h old, is still held: 50.
  // 1 ms later B is stale: A alone, 40.
  CHECK(d.indicators(t + 90 * ms_per_minute).pm25_ug_m3 == 50);
  CHECK(d.indicators(t + 90 * ms_per_minute + 1).pm25_ug_m3 == 40);
  // At 01:40 A's 00:40 reading has left the window (A's 00:10 left at 01:10): A held at 40.
  CHECK(d.indicators(t + 100 * ms_per_minute).pm25_ug_m3 == 40);
}

TEST_CASE("wind direction windows and latest rules average unit vectors") {
  // 350, 10 and 300 degrees from three hourly readings of one station within the hour: the
  // vector mean is atan2(sin 350 + sin 10 + sin 300, cos 350 + cos 10 + cos 300) =
  // 340.67565190560623 degrees (by a short script), where the arithmetic mean would say 220.
  auto c = station_city();
  twin::district_state d(c, district_id{0});
  const time_ms t = prsa_first_ms;
  d.apply({1, 1, 1},
          std::vector<twin::reading>{{twin::sensor_id{14}, t, 350},
                                     {twin::sensor_id{14}, t + 10 * ms_per_minute, 10},
                                     {twin::sensor_id{14}, t + 20 * ms_per_minute, 300}},
          t + 20 * ms_per_minute);
  const auto v = d.view(t + 30 * ms_per_minute);
  const twin::kind_stats* wd = nullptr;
  for (const auto& k : v.kinds)
    if (k.kind == sensor_kind::wind_direction) wd = &k;
  REQUIRE(wd != nullptr);
  CHECK(wd->last_1h.count == 3);
  CHECK(wd->last_1h.mean == doctest::Approx(340.67565190560623).epsilon(1e-12));
  CHECK(std::isnan(wd->last_1h.min));
  CHECK(std::isnan(wd->last_1h.max));
  // The 1 min window has no reading: the latest (300) is held.
  CHECK(wd->last_1m.count == 1);
  CHECK(wd->last_1m.mean == doctest::Approx(300.0).epsilon(1e-12));
}
