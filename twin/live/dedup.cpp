#include "twin/live/dedup.hpp"

#include <algorithm>

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

bool batch_dedup::test_and_set(session& s, std::uint64_t sequence) {
  if (sequence < s.base) {
    ++below_window_;
    return false;
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
  if (word & mask) return false;
  word |= mask;
  return true;
}

bool batch_dedup::first_time(const batch_key& key) {
  auto& s = find_or_add(session_key{key.gateway, key.session}, key.sequence);
  return test_and_set(s, key.sequence);
}

}  // namespace twin
