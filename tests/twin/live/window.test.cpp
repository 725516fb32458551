#include "twin/live/window.hpp"

#include <doctest/doctest.h>

#include <cmath>

using twin::kind_windows;
using twin::ms_per_hour;
using twin::ms_per_minute;
using twin::rolling_window;

TEST_CASE("a rolling window aggregates count, mean, min and max") {
  rolling_window w(1000, 60);
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
  rolling_window w(1000, 60);
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
  rolling_window w(1000, 60);
  w.add(40000, 1);   // now - W: outside
  w.add(40001, 2);   // just inside
  w.add(100000, 4);  // at now: inside
  auto s = w.stats(100000, ms_per_minute);
  CHECK(s.count == 2);
  CHECK(s.mean == 3);
  CHECK(s.min == 2);
  CHECK(s.max == 4);
}

TEST_CASE("off a boundary the window ends at now rounded up to the bucket") {
  rolling_window w(1000, 60);
  w.add(1500, 1);
  w.add(2000, 2);
  w.add(30000, 3);
  // now = 61000 is a boundary: (1000, 61000] holds all three.
  CHECK(w.stats(61000, ms_per_minute).count == 3);
  // now = 61001 counts as 62000: (2000, 62000] holds only t = 30000, although the exact window
  // (1001, 61001] would hold all three.
  auto s = w.stats(61001, ms_per_minute);
  CHECK(s.count == 1);
  CHECK(s.mean == 3);
  // A reading after `now` in the bucket of `now` is inside.
  w.add(61900, 5);
  auto t = w.stats(61001, ms_per_minute);
  CHECK(t.count == 2);
  CHECK(t.mean == 4);
  CHECK(w.bucket_of(61000) == 61);
  CHECK(w.bucket_of(61001) == 62);
  CHECK(w.bucket_of(0) == 0);
  CHECK(w.bucket_of(-1) == 0);
  CHECK(w.bucket_of(-1000) == -1);
}

TEST_CASE("a window slides with now") {
  rolling_window w(1000, 60);
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
  rolling_window w(1000, 60);
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
  rolling_window w(1000, 10);
  CHECK(w.add(100000, 1));       // bucket 100
  CHECK_FALSE(w.add(90000, 2));  // bucket 90: the ring holds 91..100
  CHECK(w.add(90001, 3));        // bucket 91
  CHECK(w.dropped() == 1);
  auto s = w.stats(100000, 10000);
  CHECK(s.count == 2);
  CHECK(s.mean == 2);
  // A bucket reused by a newer one is not reported for an old `now`.
  w.add(101000, 7);  // bucket 101 reuses the slot of bucket 91
  auto old = w.stats(91000, 1000);
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
  // 15 s granularity: one second later the window ends at now + 15 s.
  CHECK(k.last_1h(now + 1).count == 3);
  CHECK(k.last_1h(now + 15000).count == 3);
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
