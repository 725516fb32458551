#include "twin/live/window.hpp"

#include <algorithm>
#include <bit>
#include <limits>

#include "twin/base/check.hpp"
#include "twin/base/compass.hpp"

namespace twin {

namespace {

constexpr std::int64_t no_bucket = std::numeric_limits<std::int64_t>::min();

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  auto q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

void window_sum::add(double value) {
  add(1, value, value, value, circular_ ? direction_east(value) : 0,
      circular_ ? direction_north(value) : 0);
}

void window_sum::add(std::uint64_t count, double sum, double min, double max, double east,
                     double north) {
  if (count == 0) return;
  if (count_ == 0) {
    min_ = min;
    max_ = max;
  } else {
    min_ = std::min(min_, min);
    max_ = std::max(max_, max);
  }
  count_ += count;
  sum_ += sum;
  east_ += east;
  north_ += north;
}

window_stats window_sum::stats() const {
  window_stats out;
  out.count = count_;
  if (count_ == 0) return out;
  if (circular_) {
    out.mean = mean_direction_deg(east_, north_);
  } else {
    out.mean = sum_ / static_cast<double>(count_);
    out.min = min_;
    out.max = max_;
  }
  return out;
}

rolling_window::rolling_window(time_ms bucket_ms, std::uint32_t buckets_max, bool circular)
    : bucket_ms_(bucket_ms),
      buckets_(buckets_max, bucket{no_bucket, 0, 0, 0, 0, 0, 0}),
      head_(0),
      circular_(circular) {
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
  if (b.index != k) b = bucket{k, 0, 0, value, value, 0, 0};
  ++b.count;
  b.sum += value;
  b.min = std::min(b.min, value);
  b.max = std::max(b.max, value);
  if (circular_) {
    b.east += direction_east(value);
    b.north += direction_north(value);
  }
  return true;
}

time_ms rolling_window::window_start(time_ms now, time_ms window_ms) const {
  return floor_div(now - window_ms, bucket_ms_) * bucket_ms_;
}

window_stats rolling_window::stats(time_ms now, time_ms window_ms) const {
  window_sum sum(circular_);
  sum_into(sum, now, window_ms);
  return sum.stats();
}

void rolling_window::sum_into(window_sum& sum, time_ms now, time_ms window_ms) const {
  TWIN_REQUIRE_OP(window_ms % bucket_ms_, ==, 0);
  auto n = window_ms / bucket_ms_;
  TWIN_REQUIRE_OP(n, <, static_cast<std::int64_t>(buckets_.size()));
  if (empty_) return;
  // Every bucket that overlaps (now - W, now]: from the one after floor(now - W) to ceil(now).
  auto last = bucket_of(now);
  auto first = floor_div(now - window_ms, bucket_ms_) + 1;
  // Buckets newer than the newest written hold nothing, and older ones than the ring were reused.
  first = std::max(first, head_ - static_cast<std::int64_t>(buckets_.size()) + 1);
  last = std::min(last, head_);
  for (auto k = first; k <= last; ++k) {
    const auto& b = buckets_[slot_of(k)];
    if (b.index != k) continue;
    sum.add(b.count, b.sum, b.min, b.max, b.east, b.north);
  }
}

bool operator==(const window_bucket_image& a, const window_bucket_image& b) {
  auto same = [](double x, double y) {
    return std::bit_cast<std::uint64_t>(x) == std::bit_cast<std::uint64_t>(y);
  };
  return a.index == b.index && a.count == b.count && same(a.sum, b.sum) && same(a.min, b.min) &&
         same(a.max, b.max) && same(a.east, b.east) && same(a.north, b.north);
}

rolling_window_image rolling_window::image() const {
  rolling_window_image out;
  out.bucket_ms = bucket_ms_;
  out.buckets_max = buckets_max();
  out.head = head_;
  out.empty = empty_;
  out.dropped = dropped_;
  if (empty_) return out;
  const auto n = static_cast<std::int64_t>(buckets_.size());
  for (auto k = head_ - n + 1; k <= head_; ++k) {
    const auto& b = buckets_[slot_of(k)];
    if (b.index != k) continue;
    out.buckets.push_back(
        window_bucket_image{b.index, b.count, b.sum, b.min, b.max, b.east, b.north});
  }
  return out;
}

std::optional<std::string> rolling_window::restore(const rolling_window_image& image) {
  if (image.bucket_ms != bucket_ms_)
    return "bucket_ms " + std::to_string(image.bucket_ms) + " where the window has " +
           std::to_string(bucket_ms_);
  if (image.buckets_max != buckets_max())
    return "buckets_max " + std::to_string(image.buckets_max) + " where the window has " +
           std::to_string(buckets_max());
  if (image.empty && (!image.buckets.empty() || image.head != 0))
    return std::string("an empty window with buckets");
  const auto n = static_cast<std::int64_t>(buckets_.size());
  // Far from the ends of the range, so that head - n and the buckets' bounds do not overflow.
  const auto index_max = std::numeric_limits<std::int64_t>::max() / 2 / bucket_ms_;
  if (image.head > index_max || image.head < -index_max)
    return "head " + std::to_string(image.head) + " out of range";
  std::int64_t previous = image.head - n;
  for (std::size_t i = 0; i < image.buckets.size(); ++i) {
    const auto& b = image.buckets[i];
    if (b.index <= previous || b.index > image.head)
      return "buckets[" + std::to_string(i) + "]: index " + std::to_string(b.index) +
             " not after the previous bucket and within " + std::to_string(n) +
             " buckets up to head " + std::to_string(image.head);
    if (b.count == 0) return "buckets[" + std::to_string(i) + "]: count 0";
    previous = b.index;
  }
  std::fill(buckets_.begin(), buckets_.end(), bucket{no_bucket, 0, 0, 0, 0, 0, 0});
  for (const auto& b : image.buckets)
    buckets_[slot_of(b.index)] = bucket{b.index, b.count, b.sum, b.min, b.max, b.east, b.north};
  head_ = image.head;
  empty_ = image.empty;
  dropped_ = image.dropped;
  cached_from_ = cached_to_ = 0;  // an empty range: the next add finds its bucket
  cached_index_ = 0;
  cached_slot_ = 0;
  return std::nullopt;
}

namespace {

std::uint32_t buckets_for(time_ms window_ms, time_ms future_ms_max, time_ms bucket_ms) {
  TWIN_REQUIRE_OP(future_ms_max, >=, 0);
  // The window overlaps one bucket more than W / bucket_ms when `now` is inside a bucket, and
  // readings ahead of `now` reach ceil(future / bucket_ms) buckets further; one more for margin.
  auto n = window_ms / bucket_ms + (future_ms_max + bucket_ms - 1) / bucket_ms + 2;
  return static_cast<std::uint32_t>(n);
}

}  // namespace

kind_windows::kind_windows(time_ms future_ms_max, bool circular)
    : circular_(circular),
      fine_(fine_bucket_ms, buckets_for(ms_per_minute, future_ms_max, fine_bucket_ms), circular),
      coarse_(coarse_bucket_ms, buckets_for(ms_per_hour, future_ms_max, coarse_bucket_ms),
              circular) {}

bool is_circular(sensor_kind k) {
  return k == sensor_kind::wind_direction;
}

}  // namespace twin
