#pragma once

#include <cstdint>
#include <mutex>

#include "observability/fwd.hpp"

namespace prometheus {
class Counter;
class Gauge;
}  // namespace prometheus

namespace observability {

// What the node keeps on disk, read from its log at each scrape (the log's counters are totals
// since the node started; the probe turns them into counter increments).
struct storage_sample {
  std::uint64_t appends = 0;  // log records written (one per admitted batch)
  std::uint64_t bytes = 0;    // bytes written to the log, headers and padding included
  std::uint64_t append_errors = 0;
  std::uint64_t segments_rolled = 0;
  std::uint64_t commits = 0;  // group commits (power)
  std::uint64_t commit_errors = 0;
  double fdatasync_p50_s = 0, fdatasync_p99_s = 0, fdatasync_max_s = 0;
  std::uint64_t written_lsn = 0;
  std::uint64_t durable_lsn = 0;
  std::uint32_t acks_waiting = 0;  // applied batches whose acks wait for the group commit
};

// Metrics of the node's storage (README, "Durability: the data directory"): the mode, the log's
// writes and commits, the last snapshot, the recovery at start. Thread-safe.
class storage_probe {
 public:
  enum class mode : std::uint8_t { none, process, power };

  explicit storage_probe(metrics_registry& registry);

  void set_mode(mode m);
  void recovered(double seconds, std::uint64_t batches, std::uint64_t snapshot_lsn);
  void snapshot_written(std::uint64_t lsn, std::uint64_t bytes, double seconds);
  void snapshot_failed();
  void update(const storage_sample& s);

 private:
  std::mutex mutex_;
  storage_sample last_;
  prometheus::Gauge* mode_[3] = {};
  prometheus::Counter *appends_ = nullptr, *bytes_ = nullptr, *append_errors_ = nullptr,
                      *rolled_ = nullptr, *commits_ = nullptr, *commit_errors_ = nullptr,
                      *snapshots_ = nullptr, *snapshot_failures_ = nullptr;
  prometheus::Gauge *sync_p50_ = nullptr, *sync_p99_ = nullptr, *sync_max_ = nullptr,
                    *written_lsn_ = nullptr, *durable_lsn_ = nullptr, *acks_waiting_ = nullptr,
                    *snapshot_lsn_ = nullptr, *snapshot_bytes_ = nullptr,
                    *snapshot_seconds_ = nullptr, *recovery_seconds_ = nullptr,
                    *recovered_batches_ = nullptr;
};

}  // namespace observability
