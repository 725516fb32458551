#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "twin/live/reading.hpp"

namespace twin {

// What the batch memory knows of a batch key.
enum class batch_seen : std::uint8_t {
  first,    // not applied before: now recorded as applied
  applied,  // recorded as applied before: a resend
  unknown,  // below its session's window: forgotten, so nothing is known (not recorded)
};

// One gateway session of a batch_dedup, as a snapshot holds it.
struct dedup_session_image {
  std::uint64_t gateway = 0;
  std::uint64_t session = 0;
  std::uint64_t base = 0;           // lowest sequence inside the window
  std::uint64_t last_used = 0;      // the clock when last looked up
  std::vector<std::uint64_t> bits;  // (window_batches_max + 63) / 64 words
  friend bool operator==(const dedup_session_image&, const dedup_session_image&) = default;
};

// Everything a batch_dedup remembers, as a snapshot holds it. Sessions in the memory's own order.
struct batch_dedup_image {
  std::uint32_t window_batches_max = 0;
  std::uint32_t sessions_max = 0;
  std::uint64_t clock = 0;
  std::uint64_t sessions_evicted = 0;
  std::uint64_t below_window = 0;
  std::vector<dedup_session_image> sessions;
  friend bool operator==(const batch_dedup_image&, const batch_dedup_image&) = default;
};

// Remembers which batches were applied, per gateway session: the whole-batch fast path of
// deduplication. Per (gateway, session) it keeps a sliding window of window_batches_max sequences
// as a bitmap above a base. It says `applied` only for a sequence it recorded; a sequence below
// the window, or of a session it forgot, is `unknown`, and the caller deduplicates reading by
// reading (reading_times). At most sessions_max sessions are remembered; the least recently seen
// one is forgotten to make room.
class batch_dedup {
 public:
  batch_dedup(std::uint32_t window_batches_max, std::uint32_t sessions_max);

  // Looks the batch up and records it as applied when it is new.
  batch_seen check_and_record(const batch_key& key);
  // Shorthand: true only when check_and_record says `first`.
  bool first_time(const batch_key& key) { return check_and_record(key) == batch_seen::first; }

  std::size_t sessions() const { return by_session_.size(); }
  // Sessions forgotten because sessions_max was reached.
  std::uint64_t sessions_evicted() const { return sessions_evicted_; }
  // Lookups of a sequence below its session's window (answered `unknown`).
  std::uint64_t below_window() const { return below_window_; }

  batch_dedup_image image() const;
  // Takes the state of an image of a memory with the same window_batches_max and at most
  // sessions_max sessions (a smaller sessions_max than the image's is refused: it would have to
  // forget). On an error (its text names the field) the memory is left as it was.
  std::optional<std::string> restore(const batch_dedup_image& image);

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
  batch_seen test_and_set(session& s, std::uint64_t sequence);
  void clear_bit(session& s, std::uint64_t sequence);

  std::uint32_t window_batches_max_;
  std::uint32_t sessions_max_;
  std::vector<session> sessions_;
  std::unordered_map<session_key, std::size_t, session_key_hash> by_session_;
  std::uint64_t clock_ = 0;  // counts lookups; orders sessions by recency
  std::uint64_t sessions_evicted_ = 0;
  std::uint64_t below_window_ = 0;
};

// The times of one sensor's applied readings over the lateness bound: exact deduplication by
// (sensor, time), whatever batch carries a reading, and the test of what is too late.
//
// For a reading at t of a sensor whose latest applied reading is at `latest`:
//   t > latest                          new (and the new latest)
//   t < latest - lateness_ms            too late (reason too_late)
//   t < complete_from()                 too late: older than what the memory holds
//   t one of the remembered times       duplicate
//   otherwise                           new, late: applied, not the latest
// The memory holds the times in [latest - lateness_ms, latest], at most times_max of them; when
// the bound on their number drops a time, complete_from() rises above it, so an answer is never a
// guess. Times are kept as 32-bit offsets from a base, sorted, so a sensor costs 4 bytes per
// remembered reading.
class reading_times {
 public:
  enum class verdict : std::uint8_t { newest, late, duplicate, too_late };

  // Classifies t and, when it is new (newest or late), records it.
  verdict record(time_ms t, time_ms lateness_ms, std::uint32_t times_max);

  bool empty() const { return head_ == offsets_.size(); }
  std::size_t size() const { return offsets_.size() - head_; }
  // The latest recorded time; only when !empty().
  time_ms latest() const { return latest_; }
  // Times below this are not all remembered (no_time_before: every time since the first).
  time_ms complete_from() const { return complete_from_; }
  static constexpr time_ms no_time_before = std::numeric_limits<time_ms>::min();

  // The remembered times, oldest first (for snapshots and tests).
  std::vector<time_ms> times() const;
  // Restores from times() and complete_from() of a snapshot.
  void restore(const std::vector<time_ms>& sorted_times, time_ms complete_from);

 private:
  void forget_before(time_ms t);
  void forget_oldest();
  void rebase(time_ms new_base);
  void compact();
  void oldest_changed() {
    if (!empty()) oldest_ = base_ + offsets_[head_];
  }

  time_ms base_ = 0;
  // The oldest and the newest remembered time (when !empty()), kept beside the offsets so that
  // the common case, a reading newer than every other with nothing to forget, reads no offset.
  time_ms oldest_ = 0;
  time_ms latest_ = 0;
  time_ms complete_from_ = no_time_before;
  std::vector<std::uint32_t> offsets_;  // sorted; [head_, end) are live
  std::size_t head_ = 0;
};

}  // namespace twin
