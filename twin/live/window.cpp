#include "twin/live/window.hpp"

#include <algorithm>
#include <limits>

#include "twin/base/check.hpp"

namespace twin {

namespace {

constexpr std::int64_t no_bucket = std::numeric_limits<std::int64_t>::min();

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  auto q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

rolling_window::rolling_window(time_ms bucket_ms, std::uint32_t buckets_max)
    : bucket_ms_(bucket_ms), buckets_(buckets_max, bucket{no_bucket, 0, 0, 0, 0}), head_(0) {
  TWIN_REQUIRE_OP(bucket_ms, >, 0);
  TWIN_REQUIRE_OP(buckets_max, >, 0u);
}

std::int64_t rolling_window::bucket_of(time_ms t) const {
  // Buckets are closed at their end so that a window ending on a boundary includes `now`.
  return floor_div(t - 1, bucket_ms_) + 1;
}

std::size_t rolling_window::slot_of(std::int64_t index) const {
  auto n = static_cast<std::int64_t>(buckets_.size());
  auto m = index % n;
  return static_cast<std::size_t>(m < 0 ? m + n : m);
}

bool rolling_window::add(time_ms t, double value) {
  std::int64_t k = cached_index_;
  std::size_t slot = cached_slot_;
  if (t <= cached_from_ || t > cached_to_) {
    k = bucket_of(t);
    slot = slot_of(k);
    time_ms to = 0, from = 0;
    // Near the ends of the time range the bucket's bounds overflow: leave the cache as it is.
    if (!__builtin_mul_overflow(k, bucket_ms_, &to) &&
        !__builtin_sub_overflow(to, bucket_ms_, &from)) {
      cached_from_ = from;
      cached_to_ = to;
      cached_index_ = k;
      cached_slot_ = slot;
    }
  }
  auto n = static_cast<std::int64_t>(buckets_.size());
  if (!empty_ && k <= head_ - n) {
    ++dropped_;
    return false;
  }
  if (empty_ || k > head_) head_ = k;
  empty_ = false;
  auto& b = buckets_[slot];
  if (b.index != k) b = bucket{k, 0, 0, value, value};
  ++b.count;
  b.sum += value;
  b.min = std::min(b.min, value);
  b.max = std::max(b.max, value);
  return true;
}

window_stats rolling_window::stats(time_ms now, time_ms window_ms) const {
  TWIN_REQUIRE_OP(window_ms % bucket_ms_, ==, 0);
  auto n = window_ms / bucket_ms_;
  TWIN_REQUIRE_OP(n, <=, static_cast<std::int64_t>(buckets_.size()));
  window_stats out;
  if (empty_) return out;
  auto last = bucket_of(now);
  // Buckets newer than the newest written hold nothing, and older ones than the ring were reused.
  auto first = std::max(last - n + 1, head_ - static_cast<std::int64_t>(buckets_.size()) + 1);
  last = std::min(last, head_);
  double sum = 0;
  for (auto k = first; k <= last; ++k) {
    const auto& b = buckets_[slot_of(k)];
    if (b.index != k) continue;
    if (out.count == 0) {
      out.min = b.min;
      out.max = b.max;
    } else {
      out.min = std::min(out.min, b.min);
      out.max = std::max(out.max, b.max);
    }
    out.count += b.count;
    sum += b.sum;
  }
  if (out.count > 0) out.mean = sum / static_cast<double>(out.count);
  return out;
}

namespace {

std::uint32_t buckets_for(time_ms window_ms, time_ms future_ms_max, time_ms bucket_ms) {
  TWIN_REQUIRE_OP(future_ms_max, >=, 0);
  // One extra bucket because a reading ahead of `now` may sit in a partly covered bucket.
  auto n = window_ms / bucket_ms + (future_ms_max + bucket_ms - 1) / bucket_ms + 1;
  return static_cast<std::uint32_t>(n);
}

}  // namespace

kind_windows::kind_windows(time_ms future_ms_max)
    : fine_(fine_bucket_ms, buckets_for(ms_per_minute, future_ms_max, fine_bucket_ms)),
      coarse_(coarse_bucket_ms, buckets_for(ms_per_hour, future_ms_max, coarse_bucket_ms)) {}

}  // namespace twin
