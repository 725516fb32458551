#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "twin/live/reading.hpp"

namespace twin {

// Remembers which batches were applied, per gateway session, so that a resent batch is not
// applied twice. Per (gateway, session) it keeps a sliding window of window_batches_max sequences
// as a bitmap above a base: a sequence below the base counts as applied (it is too old to tell,
// and re-applying is worse than refusing). At most sessions_max sessions are remembered; the least
// recently seen one is forgotten to make room.
class batch_dedup {
 public:
  batch_dedup(std::uint32_t window_batches_max, std::uint32_t sessions_max);

  // Records the batch as applied. false when it had been recorded before, or is below its
  // session's window.
  bool first_time(const batch_key& key);

  std::size_t sessions() const { return by_session_.size(); }
  // Sessions forgotten because sessions_max was reached.
  std::uint64_t sessions_evicted() const { return sessions_evicted_; }
  // Batches refused because their sequence was below the window.
  std::uint64_t below_window() const { return below_window_; }

 private:
  struct session_key {
    std::uint64_t gateway;
    std::uint64_t session;
    friend bool operator==(const session_key&, const session_key&) = default;
  };
  struct session_key_hash {
    std::size_t operator()(const session_key& k) const noexcept {
      return static_cast<std::size_t>(k.gateway * 0x9e3779b97f4a7c15ull ^ k.session);
    }
  };
  struct session {
    session_key key;
    std::uint64_t base = 0;  // lowest sequence inside the window
    std::uint64_t last_used = 0;
    std::vector<std::uint64_t> bits;  // bit (sequence % window) set when applied
  };

  session& find_or_add(const session_key& key, std::uint64_t first_sequence);
  bool test_and_set(session& s, std::uint64_t sequence);
  void clear_bit(session& s, std::uint64_t sequence);

  std::uint32_t window_batches_max_;
  std::uint32_t sessions_max_;
  std::vector<session> sessions_;
  std::unordered_map<session_key, std::size_t, session_key_hash> by_session_;
  std::uint64_t clock_ = 0;  // counts lookups; orders sessions by recency
  std::uint64_t sessions_evicted_ = 0;
  std::uint64_t below_window_ = 0;
};

}  // namespace twin
