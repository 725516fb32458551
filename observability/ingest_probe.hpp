#pragma once

#include <array>
#include <cstdint>

#include "observability/fwd.hpp"
#include "twin/live/reading.hpp"
#include "twin/live/services.hpp"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace observability {

using twin::ack_status_count;

// Metrics of the ingest path. Every series is created at construction so that an update is a
// cached reference away (a label lookup per update costs an order of magnitude more).
class ingest_probe final : public twin::ingest_observer {
 public:
  explicit ingest_probe(metrics_registry& registry);

  void batch_done(twin::ack_status status, std::uint32_t accepted,
                  const twin::reject_counts& rejected, double latency_s) override;
  void decode_failed() override;
  void ack_unsent() override;
  void frame_dropped(twin::frame_drop reason) override;
  void in_flight(std::uint32_t batches) override;

 private:
  prometheus::Counter* readings_accepted_ = nullptr;
  std::array<prometheus::Counter*, twin::reject_reason_count> readings_rejected_{};
  std::array<prometheus::Counter*, ack_status_count> batches_{};
  prometheus::Counter* decode_failures_ = nullptr;
  prometheus::Counter* acks_unsent_ = nullptr;
  std::array<prometheus::Counter*, twin::frame_drop_count> frames_dropped_{};
  prometheus::Histogram* batch_latency_ = nullptr;
  prometheus::Gauge* in_flight_ = nullptr;
};

}  // namespace observability
