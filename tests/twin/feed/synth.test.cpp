#include "twin/feed/synth.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <map>

namespace {

constexpr std::size_t synth_link_count = 20;

// 2024-03-04 00:00 UTC, a Monday; 08:00 in Macau.
constexpr twin::time_ms monday_utc_ms = 1709510400000;

twin::city_ptr synth_city() {
  auto c = std::make_shared<twin::city>();
  c->name = "synth-test";
  c->districts.push_back({twin::district_id{0}, "north", "North", {}, 1000, 1});
  c->districts.push_back({twin::district_id{1}, "south", "South", {}, 2000, 2});
  c->nodes.push_back({twin::node_id{0}, 1, {113.54, 22.19}});
  c->nodes.push_back({twin::node_id{1}, 2, {113.55, 22.20}});
  std::uint32_t next_id = 1;
  for (std::uint32_t i = 0; i < synth_link_count; ++i) {
    twin::link l;
    l.id = twin::link_id{i};
    l.key = "l" + std::to_string(i);
    l.from = twin::node_id{0};
    l.to = twin::node_id{1};
    l.length_m = 500;
    l.lanes = 1 + i % 3;
    l.capacity_veh_h = 1800.0 * l.lanes;
    l.free_speed_kmh = 40 + 5.0 * (i % 7);
    l.district = twin::district_id{i % 2};
    c->links.push_back(l);
    for (auto kind : {twin::sensor_kind::traffic_speed, twin::sensor_kind::traffic_flow,
                      twin::sensor_kind::traffic_occupancy}) {
      twin::sensor s;
      s.id = twin::sensor_id{next_id++};
      s.key = l.key + "-" + std::string(twin::to_string(kind));
      s.kind = kind;
      s.district = l.district;
      s.link = l.id;
      c->sensors.push_back(s);
    }
  }
  for (std::uint32_t d = 0; d < 2; ++d)
    for (std::size_t k = 3; k < twin::sensor_kind_count; ++k) {
      twin::sensor s;
      s.id = twin::sensor_id{next_id++};
      s.kind = static_cast<twin::sensor_kind>(k);
      s.key = "d" + std::to_string(d) + "-" + std::string(twin::to_string(s.kind));
      s.district = twin::district_id{d};
      if (s.kind == twin::sensor_kind::visitors) s.capacity = 2000;
      c->sensors.push_back(s);
    }
  c->index();
  return c;
}

bool same_readings(const std::vector<twin::reading>& a, const std::vector<twin::reading>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].sensor != b[i].sensor || a[i].time != b[i].time ||
        std::memcmp(&a[i].value, &b[i].value, sizeof(double)) != 0)
      return false;
  return true;
}

// Mean of value / free speed over the speed sensors, from `samples` rounds one minute apart.
double mean_relative_speed(const twin::city& c, twin::synthetic_feed& feed, twin::time_ms t,
                           int samples) {
  double sum = 0;
  int n = 0;
  std::vector<twin::reading> out;
  for (int i = 0; i < samples; ++i) {
    out.clear();
    feed.sample_all(t + i * twin::ms_per_minute, out);
    for (const auto& r : out) {
      const auto* s = c.find_sensor(r.sensor);
      if (s->kind != twin::sensor_kind::traffic_speed) continue;
      sum += r.value / c.links[s->link->value].free_speed_kmh;
      ++n;
    }
  }
  return sum / n;
}

// Mean value of one kind over `samples` rounds one minute apart.
double mean_of(const twin::city& c, twin::synthetic_feed& feed, twin::sensor_kind kind,
               twin::time_ms t, int samples) {
  double sum = 0;
  int n = 0;
  std::vector<twin::reading> out;
  for (int i = 0; i < samples; ++i) {
    out.clear();
    feed.sample_all(t + i * twin::ms_per_minute, out);
    for (const auto& r : out)
      if (c.find_sensor(r.sensor)->kind == kind) {
        sum += r.value;
        ++n;
      }
  }
  return sum / n;
}

}  // namespace

TEST_CASE("synthetic feed is deterministic for a seed") {
  auto c = synth_city();
  twin::synthetic_feed a(c, 42);
  twin::synthetic_feed b(c, 42);
  twin::synthetic_feed other(c, 43);
  std::vector<twin::reading> ra, rb, ro;
  for (int i = 0; i < 50; ++i) {
    twin::time_ms t = monday_utc_ms + i * 37 * twin::ms_per_second;
    a.generate(t, 97, ra);
    b.generate(t, 97, rb);
    other.generate(t, 97, ro);
  }
  a.sample_all(monday_utc_ms + twin::ms_per_hour, ra);
  b.sample_all(monday_utc_ms + twin::ms_per_hour, rb);
  CHECK(ra.size() == 50 * 97 + c->sensors.size());
  CHECK(same_readings(ra, rb));
  CHECK(ra.size() >= ro.size());
  ro.resize(ra.size() - c->sensors.size());
  ra.resize(ro.size());
  CHECK_FALSE(same_readings(ra, ro));
  // Round-robin: the same sensors in the same order whatever the seed.
  for (std::size_t i = 0; i < ra.size(); ++i) REQUIRE(ra[i].sensor == ro[i].sensor);
}

TEST_CASE("synthetic values are finite and plausible over two days") {
  auto c = synth_city();
  twin::synthetic_feed feed(c, 7);
  std::vector<twin::reading> out;
  for (twin::time_ms t = monday_utc_ms; t < monday_utc_ms + 2 * twin::ms_per_day;
       t += 5 * twin::ms_per_minute)
    feed.sample_all(t, out);
  CHECK(out.size() == 576 * c->sensors.size());
  std::map<twin::sensor_kind, std::pair<double, double>> seen;
  for (const auto& r : out) {
    const auto* s = c->find_sensor(r.sensor);
    REQUIRE(s != nullptr);
    REQUIRE(std::isfinite(r.value));
    auto range = twin::plausible_range(s->kind);
    REQUIRE(r.value >= range.min);
    REQUIRE(r.value <= range.max);
    auto [it, fresh] = seen.try_emplace(s->kind, r.value, r.value);
    it->second.first = std::min(it->second.first, r.value);
    it->second.second = std::max(it->second.second, r.value);
  }
  CHECK(seen.size() == twin::sensor_kind_count);
  // The realistic bands named in the design, with room for the noise.
  CHECK(seen[twin::sensor_kind::co2].first >= 400);
  CHECK(seen[twin::sensor_kind::co2].second <= 500);
  CHECK(seen[twin::sensor_kind::temperature].first >= 19);
  CHECK(seen[twin::sensor_kind::temperature].second <= 33);
  CHECK(seen[twin::sensor_kind::noise].first >= 50);
  CHECK(seen[twin::sensor_kind::noise].second <= 82);
  CHECK(seen[twin::sensor_kind::pm25].second <= 50);
  CHECK(seen[twin::sensor_kind::wind_direction].second < 360);
  CHECK(seen[twin::sensor_kind::visitors].second <= 2400);
  CHECK(seen[twin::sensor_kind::traffic_flow].second <= 1.1 * 5400);
}

TEST_CASE("synthetic feed never repeats a time for a sensor") {
  auto c = synth_city();
  twin::synthetic_feed feed(c, 1);
  std::vector<twin::reading> out;
  // More readings per call than sensors, the same time twice, then a time in the past.
  feed.generate(monday_utc_ms, 3 * c->sensors.size() + 5, out);
  feed.generate(monday_utc_ms, 100, out);
  feed.sample_all(monday_utc_ms - twin::ms_per_hour, out);
  feed.generate(monday_utc_ms + twin::ms_per_minute, 2 * c->sensors.size(), out);
  std::map<twin::sensor_id, twin::time_ms> last;
  for (const auto& r : out) {
    auto [it, fresh] = last.try_emplace(r.sensor, r.time);
    if (!fresh) {
      REQUIRE(r.time > it->second);
      it->second = r.time;
    }
  }
  CHECK(last.size() == c->sensors.size());
  // The first sensor got readings at t, t+1, t+2, t+3 (first call), t+4 (second), t+5 (past).
  CHECK(out[0].time == monday_utc_ms);
  CHECK(out[c->sensors.size()].time == monday_utc_ms + 1);
  CHECK(out[3 * c->sensors.size()].time == monday_utc_ms + 3);
}

TEST_CASE("synthetic traffic slows at the morning peak and flows at night") {
  auto c = synth_city();
  twin::synthetic_feed feed(c, 2024);
  // 03:00 and 08:30 in Macau (UTC+8).
  twin::time_ms night = monday_utc_ms - 5 * twin::ms_per_hour;
  twin::time_ms am_peak = monday_utc_ms + 30 * twin::ms_per_minute;
  twin::time_ms midday = monday_utc_ms + 5 * twin::ms_per_hour;
  twin::time_ms pm_peak = monday_utc_ms + 10 * twin::ms_per_hour + 30 * twin::ms_per_minute;
  double v_night = mean_relative_speed(*c, feed, night, 10);
  double v_am = mean_relative_speed(*c, feed, am_peak, 10);
  double v_midday = mean_relative_speed(*c, feed, midday, 10);
  double v_pm = mean_relative_speed(*c, feed, pm_peak, 10);
  // The BPR speed at the demand's flow (v/c = 0.97 d): free at night, 1 / (1 + 0.15 x 0.97^4) =
  // 0.8830 of free speed at the peaks (d = 1), 0.992 at midday (d = 0.5).
  CHECK(v_night == doctest::Approx(1.0).epsilon(0.01));
  CHECK(v_am == doctest::Approx(1 / (1 + 0.15 * std::pow(0.97, 4))).epsilon(0.015));
  CHECK(v_pm == doctest::Approx(1 / (1 + 0.15 * std::pow(0.97, 4))).epsilon(0.015));
  CHECK(v_midday == doctest::Approx(0.992).epsilon(0.01));
  CHECK(v_am < v_midday);
  CHECK(v_pm < v_midday);

  double flow_night = mean_of(*c, feed, twin::sensor_kind::traffic_flow, night, 5);
  double flow_am = mean_of(*c, feed, twin::sensor_kind::traffic_flow, am_peak, 5);
  CHECK(flow_am > 4 * flow_night);
  double occ_night = mean_of(*c, feed, twin::sensor_kind::traffic_occupancy, night, 5);
  double occ_am = mean_of(*c, feed, twin::sensor_kind::traffic_occupancy, am_peak, 5);
  CHECK(occ_am > 5 * occ_night);
  CHECK(mean_of(*c, feed, twin::sensor_kind::no2, am_peak, 5) >
        mean_of(*c, feed, twin::sensor_kind::no2, night, 5));

  // Visitors peak late afternoon; bins are fullest just before the 04:00 collection.
  twin::time_ms five_pm = monday_utc_ms + 9 * twin::ms_per_hour;
  CHECK(mean_of(*c, feed, twin::sensor_kind::visitors, five_pm, 5) >
        3 * mean_of(*c, feed, twin::sensor_kind::visitors, am_peak, 5));
  twin::time_ms before_collection =
      monday_utc_ms - 4 * twin::ms_per_hour - 30 * twin::ms_per_minute;
  twin::time_ms after_collection = monday_utc_ms - 3 * twin::ms_per_hour - 30 * twin::ms_per_minute;
  CHECK(mean_of(*c, feed, twin::sensor_kind::waste_fill, before_collection, 3) > 60);
  CHECK(mean_of(*c, feed, twin::sensor_kind::waste_fill, after_collection, 3) < 10);

  // The same instant is 00:30 at UTC+0: night, not the peak.
  twin::synthetic_feed utc(c, 2024, twin::synth_options{.utc_offset_minutes = 0});
  CHECK(mean_relative_speed(*c, utc, am_peak, 10) > 0.9);
}

TEST_CASE("synthetic speeds follow each link's BPR curve at the flow it reports") {
  auto c = synth_city();
  twin::synthetic_feed feed(c, 99);
  std::vector<twin::reading> out;
  double sum = 0, lowest = 2, highest = 0;
  std::size_t n = 0;
  std::vector<double> speed(c->links.size()), flow(c->links.size());
  for (twin::time_ms t = monday_utc_ms; t < monday_utc_ms + twin::ms_per_day;
       t += 2 * twin::ms_per_minute) {
    out.clear();
    feed.sample_all(t, out);
    for (const auto& r : out) {
      const auto* s = c->find_sensor(r.sensor);
      if (s->kind == twin::sensor_kind::traffic_speed) speed[s->link->value] = r.value;
      if (s->kind == twin::sensor_kind::traffic_flow) flow[s->link->value] = r.value;
    }
    for (const auto& l : c->links) {
      // Observed travel time over the BPR time at the observed flow.
      const double ratio = (l.free_speed_kmh / speed[l.id.value]) /
                           (1 + 0.15 * std::pow(flow[l.id.value] / l.capacity_veh_h, 4));
      sum += ratio;
      lowest = std::min(lowest, ratio);
      highest = std::max(highest, ratio);
      ++n;
    }
  }
  CHECK(n == 720 * synth_link_count);
  CHECK(sum / n == doctest::Approx(1.0).epsilon(0.005));
  // The travel-time noise (1.5 % sd, bounded at 3.46 sd) and the flow's step of its own noise
  // between the two readings of a link stay inside the live base's 10 % tolerance.
  CHECK(lowest > 0.9);
  CHECK(highest < 1.1);
  CHECK(highest > 1.02);  // the noise is there
}

TEST_CASE("synthetic feed injects exactly the share of bad readings asked for") {
  auto c = synth_city();
  twin::synthetic_feed clean(c, 5);
  std::vector<twin::reading> out;
  clean.generate(monday_utc_ms, 1000, out);
  CHECK(clean.bad_counts().total() == 0);

  twin::synthetic_feed feed(c, 5, twin::synth_options{.bad_share = 0.1});
  out.clear();
  for (int i = 0; i < 10; ++i) feed.generate(monday_utc_ms + i * twin::ms_per_second, 100, out);
  feed.generate(monday_utc_ms + twin::ms_per_minute, 29, out);
  REQUIRE(out.size() == 1029);
  CHECK(feed.emitted() == 1029);
  std::uint64_t nan = 0, out_of_range = 0, unknown = 0;
  for (const auto& r : out) {
    const auto* s = c->find_sensor(r.sensor);
    if (!s) {
      ++unknown;
      CHECK(r.sensor == feed.unknown_sensor_id());
    } else if (std::isnan(r.value)) {
      ++nan;
    } else {
      auto range = twin::plausible_range(s->kind);
      if (r.value < range.min || r.value > range.max) ++out_of_range;
    }
  }
  // floor(1029 * 0.1) = 102, in rotation: non-finite, out of range, unknown sensor.
  CHECK(nan == 34);
  CHECK(out_of_range == 34);
  CHECK(unknown == 34);
  CHECK(feed.bad_counts().non_finite == 34);
  CHECK(feed.bad_counts().out_of_range == 34);
  CHECK(feed.bad_counts().unknown_sensor == 34);
  // The 10th reading is the first bad one.
  CHECK(std::isnan(out[9].value));
  CHECK(c->find_sensor(out[8].sensor) != nullptr);
  CHECK(std::isfinite(out[8].value));
  // Sensor 0 is free in the test city, so it stands for the unknown sensor.
  CHECK(feed.unknown_sensor_id() == twin::sensor_id{0});
}
