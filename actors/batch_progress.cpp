#include "actors/batch_progress.hpp"

#include <utility>

#include "twin/base/check.hpp"
#include "twin/base/time_text.hpp"

namespace actors {

batch_progress::batch_progress(ack_completion_ptr done, const twin::batch_key& key,
                               twin::time_ms received, const twin::district_options& lateness)
    : done_(std::move(done)),
      key_(key),
      received_(received),
      lateness_ms_(lateness.lateness_ms),
      times_per_sensor_max_(lateness.times_per_sensor_max) {
  TWIN_CHECK(done_ != nullptr);
}

std::span<const twin::reading> batch_progress::part(std::uint32_t begin,
                                                    std::uint32_t count) const {
  TWIN_CHECK_OP(std::size_t{begin} + count, <=, readings_.size());
  return std::span<const twin::reading>(readings_).subspan(begin, count);
}

void batch_progress::count_rejected(twin::reject_reason reason, std::uint32_t n) {
  rejected_[static_cast<std::size_t>(reason)].fetch_add(n, std::memory_order_relaxed);
}

void batch_progress::start(std::uint32_t parts) {
  TWIN_CHECK(!started_parts_);
  TWIN_CHECK_OP(parts, >, 0u);
  started_parts_ = true;
  parts_left_.store(parts, std::memory_order_relaxed);
}

void batch_progress::part_applied(const twin::apply_result& result) {
  if (result.accepted > 0) accepted_.fetch_add(result.accepted, std::memory_order_relaxed);
  for (std::size_t i = 0; i < twin::reject_reason_count; ++i)
    if (result.rejected.by_reason[i] > 0)
      rejected_[i].fetch_add(result.rejected.by_reason[i], std::memory_order_relaxed);
  if (!result.duplicate_batch) every_part_duplicate_.store(false, std::memory_order_relaxed);
  // acq_rel: the last part sees every other part's merge above.
  auto left = parts_left_.fetch_sub(1, std::memory_order_acq_rel);
  TWIN_CHECK_OP(left, >, 0u);
  if (left > 1) return;
  finish(every_part_duplicate_.load(std::memory_order_relaxed) ? twin::ack_status::duplicate
                                                               : twin::ack_status::applied);
}

void batch_progress::finish_now(twin::ack_status status) {
  TWIN_CHECK(!started_parts_);
  finish(status);
}

void batch_progress::finish(twin::ack_status status) {
  twin::batch_ack ack;
  ack.key = key_;
  ack.status = status;
  ack.accepted = accepted_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < twin::reject_reason_count; ++i)
    ack.rejected.by_reason[i] = rejected_[i].load(std::memory_order_relaxed);
  if (auto late = ack.rejected[twin::reject_reason::too_late]; late > 0)
    ack.message = std::to_string(late) +
                  " readings too_late: older than their sensor's latest reading by more than the "
                  "lateness bound of " +
                  twin::duration_text(lateness_ms_) + " (or than the last " +
                  std::to_string(times_per_sensor_max_) + " readings kept per sensor)";
  done_->complete(std::move(ack));
}

}  // namespace actors
