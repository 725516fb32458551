#include "twin/live/window.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

using twin::kind_windows;
using twin::ms_per_hour;
using twin::ms_per_minute;
using twin::rolling_window;

TEST_CASE("a rolling window aggregates count, mean, min and max") {
  rolling_window w(1000, 61);
  w.add(1000, 2);
  w.add(1500, 4);
  w.add(2000, 6);
  w.add(30000, 10);
  auto s = w.stats(60000, ms_per_minute);
  CHECK(s.count == 4);
  CHECK(s.mean == 5.5);
  CHECK(s.min == 2);
  CHECK(s.max == 10);
}

TEST_CASE("an empty window has no values") {
  rolling_window w(1000, 61);
  auto s = w.stats(60000, ms_per_minute);
  CHECK(s.count == 0);
  CHECK(std::isnan(s.mean));
  CHECK(std::isnan(s.min));
  CHECK(std::isnan(s.max));
  w.add(1000, 3);
  auto later = w.stats(200000, ms_per_minute);
  CHECK(later.count == 0);
  CHECK(std::isnan(later.mean));
}

TEST_CASE("on a bucket boundary the window is exactly now - W < t <= now") {
  rolling_window w(1000, 61);
  w.add(40000, 1);   // now - W: outside
  w.add(40001, 2);   // just inside
  w.add(100000, 4);  // at now: inside
  auto s = w.stats(100000, ms_per_minute);
  CHECK(s.count == 2);
  CHECK(s.mean == 3);
  CHECK(s.min == 2);
  CHECK(s.max == 4);
}

TEST_CASE("off a boundary the window's edges are rounded outward to whole buckets") {
  rolling_window w(1000, 61);
  w.add(1500, 1);
  w.add(2000, 2);
  w.add(30000, 3);
  // The window at now is every bucket overlapping (now - W, now]: (floor(now - W), ceil(now)].
  // now = 61000 is a boundary: (1000, 61000] holds all three.
  CHECK(w.stats(61000, ms_per_minute).count == 3);
  // now = 61600: (1000, 62000]. The exact window (1600, 61600] leaves out t = 1500, whose bucket
  // (1000, 2000] overlaps it: a reading stays in for at least W after its time.
  auto s = w.stats(61600, ms_per_minute);
  CHECK(s.count == 3);
  CHECK(s.mean == 2);
  CHECK(w.window_start(61600, ms_per_minute) == 1000);
  CHECK(w.window_start(61000, ms_per_minute) == 1000);
  // now = 62000: (2000, 62000] holds only t = 30000.
  CHECK(w.stats(62000, ms_per_minute).count == 1);
  CHECK(w.stats(62000, ms_per_minute).mean == 3);
  // A reading after `now` in the bucket of `now` is inside: 1, 2, 3 and 5.
  w.add(61900, 5);
  auto t = w.stats(61001, ms_per_minute);
  CHECK(t.count == 4);
  CHECK(t.mean == 2.75);
  CHECK(w.bucket_of(61000) == 61);
  CHECK(w.bucket_of(61001) == 62);
  CHECK(w.bucket_of(0) == 0);
  CHECK(w.bucket_of(-1) == 0);
  CHECK(w.bucket_of(-1000) == -1);
}

TEST_CASE("a window slides with now") {
  rolling_window w(1000, 61);
  for (twin::time_ms t = 1000; t <= 120000; t += 1000) {
    w.add(t, static_cast<double>(t / 1000));
    if (t < 60000) continue;
    auto s = w.stats(t, ms_per_minute);
    CHECK(s.count == 60);
    // The values t/1000 - 59 ... t/1000.
    CHECK(s.min == static_cast<double>(t / 1000 - 59));
    CHECK(s.max == static_cast<double>(t / 1000));
    CHECK(s.mean == static_cast<double>(t / 1000) - 29.5);
  }
  CHECK(w.stats(150000, ms_per_minute).count == 30);
  CHECK(w.dropped() == 0);
}

TEST_CASE("readings out of order land in their own buckets") {
  rolling_window w(1000, 61);
  w.add(50000, 5);
  w.add(10000, 1);
  w.add(40000, 4);
  w.add(10500, 3);
  auto s = w.stats(60000, ms_per_minute);
  CHECK(s.count == 4);
  CHECK(s.mean == 13.0 / 4);
  CHECK(s.min == 1);
  CHECK(s.max == 5);
  CHECK(w.stats(40000, 30000).count == 2);  // (10000, 40000]
}

TEST_CASE("readings older than the ring are dropped and counted") {
  rolling_window w(1000, 11);
  CHECK(w.add(100000, 1));       // bucket 100
  CHECK_FALSE(w.add(89000, 2));  // bucket 89: the ring holds 90..100
  CHECK(w.add(89001, 3));        // bucket 90
  CHECK(w.dropped() == 1);
  CHECK(w.stats(100000, 10000).count == 1);  // buckets 91..100
  auto s = w.stats(99500, 10000);            // buckets 90..100: (89000, 100000]
  CHECK(s.count == 2);
  CHECK(s.mean == 2);
  // A bucket reused by a newer one is not reported for an old `now`.
  w.add(101000, 7);  // bucket 101 reuses the slot of bucket 90
  auto old = w.stats(90000, 1000);
  CHECK(old.count == 0);
}

TEST_CASE("the 15 min and 1 h windows use 15 s buckets") {
  kind_windows k;
  twin::time_ms now = ms_per_hour;
  k.add(1, 100);                        // in the last hour, first bucket
  k.add(now - 15 * ms_per_minute, 50);  // exactly 15 min before: outside 15 min
  k.add(now - 15 * ms_per_minute + 1, 30);
  k.add(now, 10);
  auto m15 = k.last_15m(now);
  CHECK(m15.count == 2);
  CHECK(m15.mean == 20);
  CHECK(m15.min == 10);
  CHECK(m15.max == 30);
  auto h1 = k.last_1h(now);
  CHECK(h1.count == 4);
  CHECK(h1.mean == 47.5);
  CHECK(h1.min == 10);
  CHECK(h1.max == 100);
  auto m1 = k.last_1m(now);
  CHECK(m1.count == 1);
  CHECK(m1.mean == 10);
  // 15 s granularity: the reading at t = 1 sits in the bucket (0, 15000], so it stays in the 1 h
  // window while now < 15000 + 1 h, and leaves at 15000 + 1 h.
  CHECK(k.last_1h(now + 1).count == 4);
  CHECK(k.last_1h(now + 14999).count == 4);
  CHECK(k.last_1h(now + 15000).count == 3);
}

TEST_CASE("a reading at T is in the 1 h window for the whole hour after T") {
  // The replay's hourly readings fall on bucket boundaries: the window at now holds a reading at
  // T exactly for T <= now < T + 1 h, so one punctual station never leaves it empty.
  kind_windows k;
  const twin::time_ms t0 = 1'362'096'000'000;  // 2013-03-01T00:00Z, a multiple of 15 s
  k.add(t0, 7);
  CHECK(k.last_1h(t0).count == 1);
  CHECK(k.last_1h(t0 + ms_per_hour - 1).count == 1);
  CHECK(k.last_1h(t0 + ms_per_hour - 15'000).count == 1);  // was the last bucket it stayed in
  CHECK(k.last_1h(t0 + ms_per_hour).count == 0);
  k.add(t0 + ms_per_hour, 9);
  auto next = k.last_1h(t0 + ms_per_hour);
  CHECK(next.count == 1);
  CHECK(next.mean == 9);
}

TEST_CASE("wind directions are averaged as unit vectors, without min or max") {
  // Expected: atan2(sum sin, sum cos) in degrees, by a short script:
  //   math.degrees(math.atan2(sum(sin(radians(d))), sum(cos(radians(d))))) % 360
  // 350, 10, 300 -> 340.67565190560623 (the arithmetic mean is 220); 350, 10 -> 0 (not 180);
  // 270, 0 -> 315 (not 135).
  kind_windows k(5 * ms_per_minute, true);
  CHECK(k.circular());
  const twin::time_ms now = ms_per_hour;
  k.add(now - 30 * ms_per_minute, 350);
  k.add(now - 20 * ms_per_minute, 10);
  auto two = k.last_1h(now);
  CHECK(two.count == 2);
  CHECK(std::min(two.mean, 360 - two.mean) < 1e-9);
  CHECK(std::isnan(two.min));
  CHECK(std::isnan(two.max));
  k.add(now - 10 * ms_per_minute, 300);
  auto three = k.last_1h(now);
  CHECK(three.count == 3);
  CHECK(three.mean == doctest::Approx(340.67565190560623).epsilon(1e-12));
  // The 15 min window holds only 300.
  CHECK(k.last_15m(now).mean == doctest::Approx(300.0).epsilon(1e-12));

  twin::window_sum sum(true);
  sum.add(270);
  sum.add(0);
  CHECK(sum.stats().count == 2);
  CHECK(sum.stats().mean == doctest::Approx(315.0).epsilon(1e-12));
  twin::window_sum linear;
  linear.add(270);
  linear.add(0);
  CHECK(linear.stats().mean == 135);
  CHECK(linear.stats().min == 0);
  CHECK(linear.stats().max == 270);
  CHECK(twin::is_circular(twin::sensor_kind::wind_direction));
  CHECK_FALSE(twin::is_circular(twin::sensor_kind::wind_speed));
}

TEST_CASE("readings ahead of now do not push the window out of the ring") {
  kind_windows k(5 * ms_per_minute);
  k.add(1000, 1);
  k.add(60000 + 5 * ms_per_minute, 9);
  auto s = k.last_1m(60000);
  CHECK(s.count == 1);
  CHECK(s.mean == 1);
  CHECK(k.last_1h(60000).count == 1);
  CHECK(k.last_1h(60000 + 5 * ms_per_minute).count == 2);
  CHECK(k.dropped() == 0);
}
