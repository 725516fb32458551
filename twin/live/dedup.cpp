#include "twin/live/dedup.hpp"

#include <algorithm>
#include <limits>

#include "twin/base/check.hpp"

namespace twin {

batch_dedup::batch_dedup(std::uint32_t window_batches_max, std::uint32_t sessions_max)
    : window_batches_max_(window_batches_max), sessions_max_(sessions_max) {
  TWIN_REQUIRE_OP(window_batches_max, >, 0u);
  TWIN_REQUIRE_OP(sessions_max, >, 0u);
  sessions_.reserve(sessions_max);
  by_session_.reserve(sessions_max);
}

batch_dedup::session& batch_dedup::find_or_add(const session_key& key,
                                               std::uint64_t first_sequence) {
  ++clock_;
  if (auto it = by_session_.find(key); it != by_session_.end()) {
    auto& s = sessions_[it->second];
    s.last_used = clock_;
    return s;
  }
  std::size_t index = sessions_.size();
  if (sessions_.size() < sessions_max_) {
    sessions_.emplace_back();
    sessions_.back().bits.assign((window_batches_max_ + 63) / 64, 0);
  } else {
    // A linear scan is fine: it runs only when a new session appears with the table full.
    auto lru =
        std::min_element(sessions_.begin(), sessions_.end(),
                         [](const auto& a, const auto& b) { return a.last_used < b.last_used; });
    index = static_cast<std::size_t>(lru - sessions_.begin());
    by_session_.erase(lru->key);
    std::fill(lru->bits.begin(), lru->bits.end(), 0);
    ++sessions_evicted_;
  }
  auto& s = sessions_[index];
  s.key = key;
  s.last_used = clock_;
  // The first sequence seen sits at the top of the window, so that earlier sequences of the same
  // session arriving late are still accepted once.
  s.base = first_sequence >= window_batches_max_ ? first_sequence - window_batches_max_ + 1 : 0;
  by_session_.emplace(key, index);
  return s;
}

void batch_dedup::clear_bit(session& s, std::uint64_t sequence) {
  auto bit = sequence % window_batches_max_;
  s.bits[bit / 64] &= ~(std::uint64_t{1} << (bit % 64));
}

batch_seen batch_dedup::test_and_set(session& s, std::uint64_t sequence) {
  if (sequence < s.base) {
    ++below_window_;
    return batch_seen::unknown;
  }
  if (sequence - s.base >= window_batches_max_) {
    auto new_base = sequence - window_batches_max_ + 1;
    if (new_base - s.base >= window_batches_max_) {
      std::fill(s.bits.begin(), s.bits.end(), 0);
    } else {
      for (auto q = s.base; q < new_base; ++q) clear_bit(s, q);
    }
    s.base = new_base;
  }
  auto bit = sequence % window_batches_max_;
  auto& word = s.bits[bit / 64];
  auto mask = std::uint64_t{1} << (bit % 64);
  if (word & mask) return batch_seen::applied;
  word |= mask;
  return batch_seen::first;
}

batch_seen batch_dedup::check_and_record(const batch_key& key) {
  auto& s = find_or_add(session_key{key.gateway, key.session}, key.sequence);
  return test_and_set(s, key.sequence);
}

batch_dedup_image batch_dedup::image() const {
  batch_dedup_image out;
  out.window_batches_max = window_batches_max_;
  out.sessions_max = sessions_max_;
  out.clock = clock_;
  out.sessions_evicted = sessions_evicted_;
  out.below_window = below_window_;
  out.sessions.reserve(sessions_.size());
  for (const auto& s : sessions_)
    out.sessions.push_back({s.key.gateway, s.key.session, s.base, s.last_used, s.bits});
  return out;
}

std::optional<std::string> batch_dedup::restore(const batch_dedup_image& image) {
  if (image.window_batches_max != window_batches_max_)
    return "window_batches_max " + std::to_string(image.window_batches_max) +
           " where the memory has " + std::to_string(window_batches_max_);
  if (image.sessions.size() > sessions_max_)
    return std::to_string(image.sessions.size()) + " sessions where the memory holds at most " +
           std::to_string(sessions_max_);
  const std::size_t words = (window_batches_max_ + 63) / 64;
  std::unordered_map<session_key, std::size_t, session_key_hash> index;
  index.reserve(sessions_max_);
  for (std::size_t i = 0; i < image.sessions.size(); ++i) {
    const auto& s = image.sessions[i];
    const auto where = "sessions[" + std::to_string(i) + "]: ";
    if (s.bits.size() != words)
      return where + std::to_string(s.bits.size()) + " words of bits where the window needs " +
             std::to_string(words);
    if (s.last_used > image.clock)
      return where + "last_used " + std::to_string(s.last_used) + " after the clock " +
             std::to_string(image.clock);
    if (!index.emplace(session_key{s.gateway, s.session}, i).second)
      return where + "gateway " + std::to_string(s.gateway) + " session " +
             std::to_string(s.session) + " twice";
  }
  sessions_.clear();
  for (const auto& s : image.sessions)
    sessions_.push_back(session{session_key{s.gateway, s.session}, s.base, s.last_used, s.bits});
  by_session_ = std::move(index);
  clock_ = image.clock;
  sessions_evicted_ = image.sessions_evicted;
  below_window_ = image.below_window;
  return std::nullopt;
}

namespace {
constexpr time_ms offset_max = std::numeric_limits<std::uint32_t>::max();
}

reading_times::verdict reading_times::record(time_ms t, time_ms lateness_ms,
                                             std::uint32_t times_max) {
  TWIN_CHECK_OP(times_max, >, 0u);
  TWIN_CHECK_OP(lateness_ms, >=, 0);
  TWIN_CHECK_OP(lateness_ms, <, offset_max);
  if (empty()) {
    if (t < complete_from_) return verdict::too_late;
    offsets_.clear();
    head_ = 0;
    base_ = t;
    offsets_.push_back(0);
    oldest_ = latest_ = t;
    return verdict::newest;
  }
  const time_ms latest_time = latest_;
  if (t > latest_time) {
    forget_before(t - lateness_ms);
    if (empty()) {
      offsets_.clear();
      head_ = 0;
      base_ = t;
      oldest_ = t;
    } else if (t - base_ > offset_max) {
      rebase(oldest_);  // what is left lies within lateness_ms of t
    }
    offsets_.push_back(static_cast<std::uint32_t>(t - base_));
    latest_ = t;
    while (size() > times_max) forget_oldest();
    return verdict::newest;
  }
  if (t < latest_time - lateness_ms || t < complete_from_) return verdict::too_late;
  if (t < base_) rebase(t);
  const auto off = static_cast<std::uint32_t>(t - base_);
  auto begin = offsets_.begin() + static_cast<std::ptrdiff_t>(head_);
  auto it = std::lower_bound(begin, offsets_.end(), off);
  if (it != offsets_.end() && *it == off) return verdict::duplicate;
  offsets_.insert(it, off);
  if (t < oldest_) oldest_ = t;
  while (size() > times_max) forget_oldest();
  // The insert may have been the one forgotten: then it is older than what is remembered now.
  return verdict::late;
}

void reading_times::forget_before(time_ms t) {
  if (empty() || t <= oldest_) return;
  if (t - base_ > offset_max) {
    head_ = offsets_.size();
  } else {
    auto begin = offsets_.begin() + static_cast<std::ptrdiff_t>(head_);
    auto it = std::lower_bound(begin, offsets_.end(), static_cast<std::uint32_t>(t - base_));
    head_ = static_cast<std::size_t>(it - offsets_.begin());
  }
  complete_from_ = std::max(complete_from_, t);
  if (empty()) {
    offsets_.clear();
    head_ = 0;
  }
  compact();
  oldest_changed();
}

void reading_times::forget_oldest() {
  TWIN_CHECK(!empty());
  complete_from_ = std::max(complete_from_, oldest_ + 1);
  ++head_;
  compact();
  oldest_changed();
}

void reading_times::compact() {
  if (head_ < 64 || head_ * 2 < offsets_.size()) return;
  offsets_.erase(offsets_.begin(), offsets_.begin() + static_cast<std::ptrdiff_t>(head_));
  head_ = 0;
}

void reading_times::rebase(time_ms new_base) {
  if (new_base == base_) return;
  if (new_base < base_) {
    const auto shift = static_cast<std::uint32_t>(base_ - new_base);
    for (auto i = head_; i < offsets_.size(); ++i) offsets_[i] += shift;
  } else {
    TWIN_CHECK(empty() || new_base <= base_ + offsets_[head_]);
    const auto shift = static_cast<std::uint32_t>(new_base - base_);
    for (auto i = head_; i < offsets_.size(); ++i) offsets_[i] -= shift;
  }
  base_ = new_base;
}

std::vector<time_ms> reading_times::times() const {
  std::vector<time_ms> out;
  out.reserve(size());
  for (auto i = head_; i < offsets_.size(); ++i) out.push_back(base_ + offsets_[i]);
  return out;
}

void reading_times::restore(const std::vector<time_ms>& sorted_times, time_ms complete_from) {
  TWIN_CHECK(std::is_sorted(sorted_times.begin(), sorted_times.end()));
  offsets_.clear();
  head_ = 0;
  complete_from_ = complete_from;
  if (sorted_times.empty()) return;
  base_ = sorted_times.front();
  TWIN_CHECK_OP(sorted_times.back() - base_, <=, offset_max);
  for (auto t : sorted_times) offsets_.push_back(static_cast<std::uint32_t>(t - base_));
  oldest_ = sorted_times.front();
  latest_ = sorted_times.back();
}

}  // namespace twin
