#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "twin/base/time.hpp"
#include "twin/live/views.hpp"

namespace twin {

// What a window aggregates: readings (whole buckets of them) and single values (the held latest
// values of sensors without a reading in the window). A circular quantity (wind direction) sums
// unit vectors instead, and has no min or max.
class window_sum {
 public:
  explicit window_sum(bool circular = false) : circular_(circular) {}
  void add(double value);
  void add(std::uint64_t count, double sum, double min, double max, double east, double north);
  // count: values added; mean: sum / count, or for a circular quantity the direction of the sum
  // of the unit vectors (mean_direction_deg, [0, 360)) and min = max = NaN. NaN without values.
  window_stats stats() const;

 private:
  bool circular_;
  std::uint64_t count_ = 0;
  double sum_ = 0, min_ = no_value, max_ = no_value, east_ = 0, north_ = 0;
};

// One bucket of a rolling window's ring, as a snapshot holds it.
struct window_bucket_image {
  std::int64_t index =
      0;  // the bucket's number: it holds (index-1)*bucket_ms < t <= index*bucket_ms
  std::uint32_t count = 0;
  double sum = 0;
  double min = 0;
  double max = 0;
  double east = 0;
  double north = 0;
  // Doubles compare by their bits: an image is equal to another when it restores the same state.
  friend bool operator==(const window_bucket_image&, const window_bucket_image&);
};

// Everything of a rolling window that affects an answer: the buckets still in the ring (oldest
// first; slots whose bucket fell out of the ring are left out), the newest bucket written and the
// readings dropped. The bucket cache is not part of it (it only saves divisions).
struct rolling_window_image {
  time_ms bucket_ms = 0;
  std::uint32_t buckets_max = 0;
  std::int64_t head = 0;
  bool empty = true;
  std::uint64_t dropped = 0;
  std::vector<window_bucket_image> buckets;
  friend bool operator==(const rolling_window_image&, const rolling_window_image&) = default;
};

// Count, sum, min and max (or, for a circular quantity, the sums of unit vectors) of readings
// over trailing windows, kept in a ring of time buckets so that an insert is O(1) and memory is
// fixed.
//
// Granularity: bucket k holds the readings with (k-1)*bucket_ms < t <= k*bucket_ms. The window of
// width W at `now` is every bucket that overlaps (now - W, now]: the readings with
// floor(now - W) < t <= ceil(now), floor and ceil to multiples of bucket_ms. It holds every
// reading with now - W < t <= now; its edges are rounded outward to whole buckets. So a reading at
// T stays in the window at least until now = T + W (exclusive), and at most until
// ceil(T) + W (exclusive); when now and T are multiples of bucket_ms, the window is exactly
// now - W < t <= now.
//
// The ring holds buckets_max buckets ending with the newest bucket written. A reading in a bucket
// that has fallen out of the ring is not stored, and is counted in dropped().
class rolling_window {
 public:
  rolling_window(time_ms bucket_ms, std::uint32_t buckets_max, bool circular = false);

  // false when t is older than the ring covers (the reading is then counted as dropped).
  bool add(time_ms t, double value);

  // Stats over the window of width window_ms at now. window_ms is a multiple of bucket_ms and
  // covers at most buckets_max - 1 buckets.
  window_stats stats(time_ms now, time_ms window_ms) const;
  // Adds the window's buckets to `sum`.
  void sum_into(window_sum& sum, time_ms now, time_ms window_ms) const;
  // The window's lower bound, exclusive: floor(now - window_ms) to a multiple of bucket_ms.
  time_ms window_start(time_ms now, time_ms window_ms) const;

  time_ms bucket_ms() const { return bucket_ms_; }
  std::uint32_t buckets_max() const { return static_cast<std::uint32_t>(buckets_.size()); }
  std::uint64_t dropped() const { return dropped_; }

  // The index of the bucket that holds time t.
  std::int64_t bucket_of(time_ms t) const;

  rolling_window_image image() const;
  // Takes the state of an image of a window with the same bucket_ms and buckets_max; on an error
  // (its text names the field) the window is left as it was.
  std::optional<std::string> restore(const rolling_window_image& image);

 private:
  struct bucket {
    std::int64_t index;
    std::uint32_t count;
    double sum;
    double min;
    double max;
    double east;   // circular windows: sum of sin of the values (degrees)
    double north;  // and of their cos
  };
  std::size_t slot_of(std::int64_t index) const;

  time_ms bucket_ms_;
  // The bucket of the last add: readings come in time order mostly, and finding a bucket costs
  // two 64-bit divisions. Times in (cached_from_, cached_to_] belong to bucket cached_index_.
  time_ms cached_from_ = 0;
  time_ms cached_to_ = 0;
  std::int64_t cached_index_ = 0;
  std::size_t cached_slot_ = 0;
  std::vector<bucket> buckets_;
  std::int64_t head_;  // the newest bucket written
  bool empty_ = true;
  bool circular_ = false;
  std::uint64_t dropped_ = 0;
};

// The 1 min, 15 min and 1 h windows of one sensor kind in one district. The 1 min window has 1 s
// buckets; the 15 min and 1 h windows share one ring of 15 s buckets. Wind directions are
// circular (is_circular).
class kind_windows {
 public:
  static constexpr time_ms fine_bucket_ms = ms_per_second;
  static constexpr time_ms coarse_bucket_ms = 15 * ms_per_second;

  // future_ms_max: how far ahead of `now` readings may be (ingest_limits::max_future_ms) without
  // pushing buckets that are still inside the windows out of the rings.
  explicit kind_windows(time_ms future_ms_max = 5 * ms_per_minute, bool circular = false);

  void add(time_ms t, double value) {
    fine_.add(t, value);
    coarse_.add(t, value);
  }

  // The ring a window of this width is kept in: 1 min in the fine one, 15 min and 1 h in the
  // coarse one.
  const rolling_window& ring_of(time_ms window_ms) const {
    return window_ms <= ms_per_minute ? fine_ : coarse_;
  }

  window_stats last_1m(time_ms now) const { return fine_.stats(now, ms_per_minute); }
  window_stats last_15m(time_ms now) const { return coarse_.stats(now, 15 * ms_per_minute); }
  window_stats last_1h(time_ms now) const { return coarse_.stats(now, ms_per_hour); }

  bool circular() const { return circular_; }

  // The two rings, for snapshots (restore: rolling_window::restore on each).
  const rolling_window& fine() const { return fine_; }
  const rolling_window& coarse() const { return coarse_; }
  rolling_window& fine() { return fine_; }
  rolling_window& coarse() { return coarse_; }

  // Readings too old for the 1 h ring (the 1 min ring drops more, by design).
  std::uint64_t dropped() const { return coarse_.dropped(); }

 private:
  bool circular_;
  rolling_window fine_;
  rolling_window coarse_;
};

// Kinds whose values are directions in degrees, averaged as unit vectors.
bool is_circular(sensor_kind k);

}  // namespace twin
