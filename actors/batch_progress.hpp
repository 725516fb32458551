#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "actors/completion.hpp"
#include "twin/live/district_state.hpp"
#include "twin/live/reading.hpp"

namespace actors {

using ack_completion_ptr = std::shared_ptr<completion<twin::batch_ack>>;

// One batch between its arrival and its ack, shared by its district parts. The router groups the
// readings by district and sends each part as a plain message; whoever applies the last part
// acks the batch. No reply travels back, so nothing waits on a timer; memory is bounded by the
// batches the transport lets in flight.
//
// Thread-safety: readings() is written by the router only, before any part is sent, and read-only
// afterwards; part_applied() may be called from any thread.
class batch_progress {
 public:
  // An unfinished batch (its actors stopped) is answered by its completion's fallback.
  // received: the time its readings are judged at (reading_batch::received). lateness: the bound
  // a `too_late` reading missed, for the ack's message.
  batch_progress(ack_completion_ptr done, const twin::batch_key& key, twin::time_ms received,
                 const twin::district_options& lateness = {});
  batch_progress(const batch_progress&) = delete;
  batch_progress& operator=(const batch_progress&) = delete;

  const twin::batch_key& key() const { return key_; }
  twin::time_ms received() const { return received_; }

  // The batch's readings grouped by district; a part is a range of it.
  std::vector<twin::reading>& readings() { return readings_; }
  std::span<const twin::reading> part(std::uint32_t begin, std::uint32_t count) const;

  // Router, before sending: readings refused before any part (unknown sensors).
  void count_rejected(twin::reject_reason reason, std::uint32_t n);
  // Router: the batch now waits for `parts` parts.
  void start(std::uint32_t parts);
  // Any thread: merges one part's result; the last part acks the batch.
  void part_applied(const twin::apply_result& result);
  // Router: acks a batch that has no part at all (every reading refused before routing).
  void finish_now(twin::ack_status status);

 private:
  void finish(twin::ack_status status);

  ack_completion_ptr done_;
  twin::batch_key key_;
  twin::time_ms received_;
  twin::time_ms lateness_ms_;
  std::uint32_t times_per_sensor_max_;
  std::vector<twin::reading> readings_;
  bool started_parts_ = false;
  std::atomic<std::uint32_t> parts_left_{0};
  std::atomic<std::uint32_t> accepted_{0};
  std::array<std::atomic<std::uint64_t>, twin::reject_reason_count> rejected_{};
  std::atomic<bool> every_part_duplicate_{true};
};
using batch_progress_ptr = std::shared_ptr<batch_progress>;

}  // namespace actors
