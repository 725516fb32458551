#include "twin/live/district_image.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "twin/city/generate.hpp"
#include "twin/live/dedup.hpp"
#include "twin/live/district_state.hpp"

using twin::batch_key;
using twin::district_id;
using twin::reading;
using twin::same_bits;
using twin::sensor_kind;
using twin::time_ms;

namespace {

constexpr time_ms minute = twin::ms_per_minute;

// A generated city with rules of our own that fire and clear as the stream goes.
twin::city_ptr image_city() {
  twin::generate_options g;
  g.districts = 2;
  g.links = 24;
  g.sensors = 160;
  g.seed = 11;
  auto c = twin::generate_city(g);
  auto rule = [&](std::string key, sensor_kind kind, twin::rule_window window,
                  twin::rule_aggregate aggregate, double threshold,
                  std::optional<double> clear_at) {
    twin::threshold_rule r;
    r.key = std::move(key);
    r.kind = kind;
    r.window = window;
    r.aggregate = aggregate;
    r.above = true;
    r.threshold = threshold;
    r.clear_at = clear_at;
    r.message = r.key;
    c.rules.push_back(r);
  };
  rule("pm25-1m-high", sensor_kind::pm25, twin::rule_window::one_minute, twin::rule_aggregate::mean,
       50, 45);
  rule("noise-latest", sensor_kind::noise, twin::rule_window::latest, twin::rule_aggregate::max, 90,
       std::nullopt);
  rule("no2-1h", sensor_kind::no2, twin::rule_window::one_hour, twin::rule_aggregate::max, 60,
       std::nullopt);
  c.index();
  return std::make_shared<const twin::city>(std::move(c));
}

// Small memories, so that the stream evicts sessions, slides windows past batches and forgets
// times.
twin::district_options image_options() {
  twin::district_options o;
  o.dedup_window_batches_max = 100;
  o.dedup_sessions_max = 3;
  o.times_per_sensor_max = 40;
  o.lateness_ms = 20 * minute;
  o.alert_eval_interval_ms = 700;
  return o;
}

struct part {
  batch_key key;
  std::vector<reading> readings;
  time_ms now = 0;
};

// A stream for one district: mostly in time order, some readings late (a few beyond the lateness
// bound), duplicates within a part, parts resent whole, five gateway sessions and sequences
// that jump past the dedup window.
std::vector<part> stream(const twin::city& c, district_id d, std::uint64_t seed, time_ms start,
                         std::size_t parts) {
  std::mt19937_64 rng(seed);
  const auto& sensors = c.sensors_of(d);
  std::vector<part> out;
  std::vector<std::uint64_t> sequence(5, 1);
  time_ms now = start;
  for (std::size_t i = 0; i < parts; ++i) {
    if (i > 0 && rng() % 9 == 0) {
      auto again = out[rng() % out.size()];
      again.now = now;
      out.push_back(std::move(again));
      continue;
    }
    now += static_cast<time_ms>(rng() % 4000);
    part p;
    const auto gateway = rng() % 5;
    if (rng() % 23 == 0) sequence[gateway] += 150;
    p.key = batch_key{gateway, 7, sequence[gateway]++};
    p.now = now;
    const auto n = 1 + rng() % 30;
    for (std::size_t k = 0; k < n; ++k) {
      const auto* s = sensors[rng() % sensors.size()];
      time_ms t = now - static_cast<time_ms>(rng() % 3000);
      if (rng() % 7 == 0) t -= static_cast<time_ms>(rng() % (25 * minute));
      double scale = s->kind == sensor_kind::wind_direction ? 360 : 100;
      double v = scale * static_cast<double>(rng() % 1'000'000) / 1e6;
      p.readings.push_back(reading{s->id, t, v});
      if (rng() % 11 == 0) p.readings.push_back(p.readings[rng() % p.readings.size()]);
    }
    out.push_back(std::move(p));
  }
  return out;
}

bool same(const twin::window_stats& a, const twin::window_stats& b) {
  return a.count == b.count && same_bits(a.mean, b.mean) && same_bits(a.min, b.min) &&
         same_bits(a.max, b.max);
}

bool same(const twin::district_indicators& a, const twin::district_indicators& b) {
  return same_bits(a.congestion_index, b.congestion_index) &&
         same_bits(a.mean_speed_kmh, b.mean_speed_kmh) && same_bits(a.pm25_ug_m3, b.pm25_ug_m3) &&
         same_bits(a.no2_ug_m3, b.no2_ug_m3) && same_bits(a.co2_ppm, b.co2_ppm) &&
         same_bits(a.noise_db, b.noise_db) && same_bits(a.crowding, b.crowding) &&
         same_bits(a.visitors, b.visitors) && same_bits(a.waste_fill_pct, b.waste_fill_pct) &&
         a.bins_full == b.bins_full && a.stale_sensors == b.stale_sensors &&
         a.active_alerts == b.active_alerts;
}

bool same(const twin::alert& a, const twin::alert& b) {
  return a.rule == b.rule && a.district == b.district && a.kind == b.kind && a.level == b.level &&
         same_bits(a.value, b.value) && same_bits(a.threshold, b.threshold) && a.since == b.since &&
         a.message == b.message;
}

bool same(const std::vector<twin::alert>& a, const std::vector<twin::alert>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!same(a[i], b[i])) return false;
  return true;
}

bool same(const twin::district_view& a, const twin::district_view& b) {
  if (a.id != b.id || a.key != b.key || a.as_of != b.as_of ||
      a.readings_applied != b.readings_applied || a.rejected != b.rejected ||
      a.sensors != b.sensors || a.sensors_reporting != b.sensors_reporting ||
      !same(a.indicators, b.indicators) || a.kinds.size() != b.kinds.size() ||
      a.links.size() != b.links.size() || !same(a.alerts, b.alerts))
    return false;
  for (std::size_t i = 0; i < a.kinds.size(); ++i) {
    const auto &x = a.kinds[i], &y = b.kinds[i];
    if (x.kind != y.kind || x.sensors != y.sensors || !same(x.last_1m, y.last_1m) ||
        !same(x.last_15m, y.last_15m) || !same(x.last_1h, y.last_1h))
      return false;
  }
  for (std::size_t i = 0; i < a.links.size(); ++i) {
    const auto &x = a.links[i], &y = b.links[i];
    if (x.link != y.link || x.key != y.key || !same_bits(x.speed_kmh, y.speed_kmh) ||
        !same_bits(x.flow_veh_h, y.flow_veh_h) || !same_bits(x.occupancy_pct, y.occupancy_pct) ||
        x.time != y.time)
      return false;
  }
  return true;
}

bool same(const std::optional<twin::sensor_view>& a, const std::optional<twin::sensor_view>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  return a->id == b->id && a->key == b->key && a->kind == b->kind && a->has_value == b->has_value &&
         same_bits(a->value, b->value) && a->time == b->time && a->readings == b->readings;
}

// Everything a district answers, at `now`.
void check_same(const twin::city& c, const twin::district_state& a, const twin::district_state& b,
                time_ms now) {
  CHECK(same(a.view(now), b.view(now)));
  CHECK(same(a.indicators(now), b.indicators(now)));
  CHECK(same(a.active_alerts(), b.active_alerts()));
  CHECK(a.alerts_version() == b.alerts_version());
  CHECK(a.readings_applied() == b.readings_applied());
  CHECK(a.sensors_reporting() == b.sensors_reporting());
  CHECK(a.window_readings_dropped() == b.window_readings_dropped());
  CHECK(a.dedup_sessions_evicted() == b.dedup_sessions_evicted());
  CHECK(a.late_readings_applied() == b.late_readings_applied());
  std::size_t differing = 0;
  for (const auto& s : c.sensors)
    if (!same(a.sensor(s.id), b.sensor(s.id))) ++differing;
  CHECK(differing == 0);
  CHECK(a.image() == b.image());
}

}  // namespace

TEST_CASE("a district restored from its image answers like the original, bit for bit") {
  auto c = image_city();
  const time_ms t0 = 1'700'000'000'000;
  for (std::uint32_t d = 0; d < c->districts.size(); ++d) {
    CAPTURE(d);
    const district_id id{d};
    const auto before = stream(*c, id, 100 + d, t0, 700);
    twin::district_state a(c, id, image_options());
    std::uint64_t duplicates = 0, too_late = 0;
    for (const auto& p : before) {
      auto res = a.apply(p.key, p.readings, p.now);
      duplicates += res.rejected[twin::reject_reason::duplicate];
      too_late += res.rejected[twin::reject_reason::too_late];
      if (p.now % 5 == 0) a.tick(p.now);
    }
    // The stream reaches the interesting corners.
    CHECK(duplicates > 0);
    CHECK(too_late > 0);
    CHECK(a.late_readings_applied() > 0);
    CHECK(a.dedup_sessions_evicted() > 0);
    a.count_rejected([] {
      twin::reject_counts r;
      r[twin::reject_reason::out_of_range] = 3;
      return r;
    }());

    const auto image = a.image();
    CHECK(image.sensors_reporting() == a.sensors_reporting());
    CHECK(image.times_remembered() > 0);
    CHECK(image.alerts_active() > 0);
    CHECK(image.alerts_version > 0);
    auto restored = twin::district_state::restore(c, image, image_options());
    REQUIRE(restored.has_value());
    auto& b = *restored;
    CHECK(b.image() == image);
    const time_ms last = before.back().now;
    check_same(*c, a, b, last);

    const auto after = stream(*c, id, 200 + d, last, 400);
    // The resends of parts before the image, too.
    std::vector<part> mixed = after;
    for (std::size_t i = 0; i < before.size(); i += 37) {
      auto p = before[i];
      p.now = after[i % after.size()].now;
      mixed.insert(mixed.begin() + static_cast<std::ptrdiff_t>(i % mixed.size()), p);
    }
    std::size_t step = 0;
    for (const auto& p : mixed) {
      auto ra = a.apply(p.key, p.readings, p.now);
      auto rb = b.apply(p.key, p.readings, p.now);
      CHECK(ra.accepted == rb.accepted);
      CHECK(ra.rejected == rb.rejected);
      CHECK(ra.duplicate_batch == rb.duplicate_batch);
      if (++step % 97 == 0) {
        a.tick(p.now + 1);
        b.tick(p.now + 1);
        check_same(*c, a, b, p.now + 1);
      }
    }
    for (time_ms later :
         {mixed.back().now, mixed.back().now + 30'000, mixed.back().now + 2 * minute,
          mixed.back().now + 50 * minute, mixed.back().now + 3 * twin::ms_per_hour}) {
      a.tick(later);
      b.tick(later);
      check_same(*c, a, b, later);
    }
  }
}

TEST_CASE("the image of a fresh district is empty and restores to a fresh district") {
  auto c = image_city();
  twin::district_state a(c, district_id{1}, image_options());
  auto image = a.image();
  CHECK(image.key == c->districts[1].key);
  CHECK(image.sensors.empty());
  CHECK(image.links.empty());
  CHECK_FALSE(image.kinds.empty());
  CHECK(image.rules.size() >= 3);  // ours apply city-wide
  auto b = twin::district_state::restore(c, image, image_options());
  REQUIRE(b.has_value());
  check_same(*c, a, *b, 1000);
}

TEST_CASE("an image that does not fit the city or the options is refused, naming why") {
  auto c = image_city();
  const district_id id{0};
  twin::district_state a(c, id, image_options());
  for (const auto& p : stream(*c, id, 5, 1'700'000'000'000, 60)) a.apply(p.key, p.readings, p.now);
  const auto good = a.image();
  REQUIRE(good.sensors.size() >= 2);
  auto refused = [&](const twin::district_image& image,
                     twin::district_options options = image_options()) {
    auto r = twin::district_state::restore(c, image, options);
    REQUIRE_FALSE(r.has_value());
    return r.error();
  };
  const auto& key0 = c->districts[0].key;

  auto i = good;
  i.id = district_id{7};
  CHECK(refused(i) == "district id 7: the city has 2 districts");
  i = good;
  i.key = "nowhere";
  CHECK(refused(i) == "district id 0: key 'nowhere' where the city has '" + key0 + "'");
  i = good;
  i.sensors.back().id = twin::sensor_id{1'000'000};
  CHECK(refused(i).find("(id 1000000): not a sensor of the district") != std::string::npos);
  i = good;
  std::swap(i.sensors[0], i.sensors[1]);
  CHECK(refused(i).find("ids not ascending") != std::string::npos);
  i = good;
  i.readings_applied += 1;
  CHECK(refused(i).find("readings_applied") != std::string::npos);
  i = good;
  i.sensors[0].times.push_back(i.sensors[0].times.front());
  CHECK(refused(i).find("times not ascending") != std::string::npos);

  auto wider = image_options();
  wider.window_future_ms_max = 10 * minute;
  CHECK(refused(good, wider)
            .find("kinds[0]: fine window: buckets_max 362 where the window has "
                  "662") != std::string::npos);
  auto longer = image_options();
  longer.dedup_window_batches_max = 200;
  CHECK(refused(good, longer) ==
        "district '" + key0 + "': dedup: window_batches_max 100 where the memory has 200");
  i = good;
  i.rules[0].key = "another";
  CHECK(refused(i).find("rules[0]: rule 'another' where it has") != std::string::npos);
  i = good;
  i.kinds.pop_back();
  CHECK(refused(i).find("sensor kinds where it has") != std::string::npos);
}

TEST_CASE("a batch memory restored from its image remembers what the original does") {
  twin::batch_dedup a(64, 2);
  for (std::uint64_t s = 1; s < 200; s += 3) a.check_and_record({1, 1, s});
  a.check_and_record({2, 1, 5});
  a.check_and_record({3, 1, 9});  // evicts gateway 1
  a.check_and_record({2, 1, 1000});
  const auto image = a.image();
  CHECK(image.sessions.size() == 2);
  CHECK(image.sessions_evicted == 1);
  twin::batch_dedup b(64, 2);
  REQUIRE_FALSE(b.restore(image).has_value());
  CHECK(b.image() == image);
  for (std::uint64_t s = 900; s < 1100; ++s) {
    const batch_key k{2 + s % 3, 1, s % 7 == 0 ? s - 40 : s};
    CHECK(a.check_and_record(k) == b.check_and_record(k));
  }
  CHECK(a.image() == b.image());
  CHECK(a.below_window() == b.below_window());

  twin::batch_dedup narrow(32, 2);
  CHECK(narrow.restore(image) == "window_batches_max 64 where the memory has 32");
  twin::batch_dedup small(64, 1);
  CHECK(small.restore(image) == "2 sessions where the memory holds at most 1");
}
