#include "observability/ingest_probe.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "observability/metrics.hpp"
#include "twin/base/check.hpp"

namespace observability {

namespace {

// From a batch applied in memory (~100 us) to one stuck behind a busy node (~10 s).
const prometheus::Histogram::BucketBoundaries& latency_buckets_s() {
  static const prometheus::Histogram::BucketBoundaries buckets{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};
  return buckets;
}

}  // namespace

ingest_probe::ingest_probe(metrics_registry& registry) {
  auto& reg = registry.native();
  auto& readings = prometheus::BuildCounter()
                       .Name("citytwin_ingest_readings_total")
                       .Help("Readings received, by result: accepted or the reason of rejection.")
                       .Register(reg);
  readings_accepted_ = &readings.Add({{"result", "accepted"}});
  for (std::size_t i = 0; i < twin::reject_reason_count; ++i) {
    auto reason = twin::to_string(static_cast<twin::reject_reason>(i));
    readings_rejected_[i] = &readings.Add({{"result", std::string(reason)}});
  }
  auto& batches = prometheus::BuildCounter()
                      .Name("citytwin_ingest_batches_total")
                      .Help("Batches acknowledged, by status of the acknowledgement.")
                      .Register(reg);
  for (std::size_t i = 0; i < ack_status_count; ++i) {
    auto status = twin::to_string(static_cast<twin::ack_status>(i));
    batches_[i] = &batches.Add({{"result", std::string(status)}});
  }
  decode_failures_ = &prometheus::BuildCounter()
                          .Name("citytwin_ingest_decode_failures_total")
                          .Help("Frames that could not be decoded at all.")
                          .Register(reg)
                          .Add({});
  acks_unsent_ = &prometheus::BuildCounter()
                      .Name("citytwin_ingest_acks_unsent_total")
                      .Help(
                          "Acks formed (and counted) that could not be sent: the gateway was "
                          "gone or had stopped reading.")
                      .Register(reg)
                      .Add({});
  auto& dropped = prometheus::BuildCounter()
                      .Name("citytwin_ingest_frames_dropped_total")
                      .Help("Frames dropped before an ack could be formed, by reason.")
                      .Register(reg);
  for (std::size_t i = 0; i < twin::frame_drop_count; ++i) {
    auto reason = twin::to_string(static_cast<twin::frame_drop>(i));
    frames_dropped_[i] = &dropped.Add({{"reason", std::string(reason)}});
  }
  batch_latency_ = &prometheus::BuildHistogram()
                        .Name("citytwin_ingest_batch_latency_seconds")
                        .Help("Time from the receipt of a batch to its acknowledgement.")
                        .Register(reg)
                        .Add({}, latency_buckets_s());
  in_flight_ = &prometheus::BuildGauge()
                    .Name("citytwin_ingest_batches_in_flight")
                    .Help("Batches received and not yet acknowledged, over all gateways.")
                    .Register(reg)
                    .Add({});
}

void ingest_probe::batch_done(twin::ack_status status, std::uint32_t accepted,
                              const twin::reject_counts& rejected, double latency_s) {
  auto s = static_cast<std::size_t>(status);
  TWIN_CHECK_OP(s, <, ack_status_count);
  batches_[s]->Increment();
  if (accepted > 0) readings_accepted_->Increment(accepted);
  for (std::size_t i = 0; i < twin::reject_reason_count; ++i)
    if (rejected.by_reason[i] > 0) readings_rejected_[i]->Increment(rejected.by_reason[i]);
  batch_latency_->Observe(latency_s);
}

void ingest_probe::decode_failed() {
  decode_failures_->Increment();
}

void ingest_probe::ack_unsent() {
  acks_unsent_->Increment();
}

void ingest_probe::frame_dropped(twin::frame_drop reason) {
  auto r = static_cast<std::size_t>(reason);
  TWIN_CHECK_OP(r, <, twin::frame_drop_count);
  frames_dropped_[r]->Increment();
}

void ingest_probe::in_flight(std::uint32_t batches) {
  in_flight_->Set(batches);
}

}  // namespace observability
