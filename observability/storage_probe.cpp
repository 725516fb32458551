#include "observability/storage_probe.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "observability/metrics.hpp"

namespace observability {

namespace {

prometheus::Gauge* gauge(prometheus::Registry& reg, const char* name, const char* help) {
  return &prometheus::BuildGauge().Name(name).Help(help).Register(reg).Add({});
}

prometheus::Counter* counter(prometheus::Registry& reg, const char* name, const char* help) {
  return &prometheus::BuildCounter().Name(name).Help(help).Register(reg).Add({});
}

// Counters follow totals read from the log: only what was added since the last scrape.
void advance(prometheus::Counter* c, std::uint64_t now, std::uint64_t before) {
  if (now > before) c->Increment(static_cast<double>(now - before));
}

}  // namespace

storage_probe::storage_probe(metrics_registry& registry) {
  auto& reg = registry.native();
  auto& modes = prometheus::BuildGauge()
                    .Name("citytwin_storage_durability")
                    .Help(
                        "1 for the node's durability: none (no data directory, nothing kept), "
                        "process (acked once logged) or power (acked once fdatasync'ed).")
                    .Register(reg);
  mode_[0] = &modes.Add({{"mode", "none"}});
  mode_[1] = &modes.Add({{"mode", "process"}});
  mode_[2] = &modes.Add({{"mode", "power"}});
  set_mode(mode::none);
  appends_ = counter(reg, "citytwin_storage_log_appends_total",
                     "Records written to the write-ahead log: one per admitted batch.");
  bytes_ = counter(reg, "citytwin_storage_log_bytes_total",
                   "Bytes written to the write-ahead log, record headers and padding included.");
  append_errors_ = counter(reg, "citytwin_storage_log_append_errors_total",
                           "Writes to the log that failed (no space, a file size limit, an I/O "
                           "error, an earlier failed fdatasync): each batch acked "
                           "storage_unavailable.");
  rolled_ = counter(reg, "citytwin_storage_log_segments_rolled_total",
                    "Log segments closed because the next record would pass the segment size.");
  commits_ = counter(reg, "citytwin_storage_log_commits_total",
                     "Group commits (durability power): one fdatasync covering every batch "
                     "written since the last.");
  commit_errors_ = counter(reg, "citytwin_storage_log_commit_errors_total",
                           "Failed fdatasyncs: after one the node acks storage_unavailable until "
                           "it is restarted.");
  auto& sync = prometheus::BuildGauge()
                   .Name("citytwin_storage_fdatasync_seconds")
                   .Help(
                       "fdatasync time of the group commit over the last 4096 commits: stat "
                       "p50, p99 or max (0 before the first).")
                   .Register(reg);
  sync_p50_ = &sync.Add({{"stat", "p50"}});
  sync_p99_ = &sync.Add({{"stat", "p99"}});
  sync_max_ = &sync.Add({{"stat", "max"}});
  written_lsn_ = gauge(reg, "citytwin_storage_log_written_lsn",
                       "LSN of the last record in the log (0: an empty log).");
  durable_lsn_ = gauge(reg, "citytwin_storage_log_durable_lsn",
                       "Every record up to this LSN is on stable storage (durability power).");
  acks_waiting_ = gauge(reg, "citytwin_storage_acks_waiting",
                        "Applied batches whose acks wait for the group commit.");
  snapshots_ = counter(reg, "citytwin_storage_snapshots_total", "Snapshots written.");
  snapshot_failures_ = counter(reg, "citytwin_storage_snapshot_failures_total",
                               "Snapshots that could not be written.");
  snapshot_lsn_ = gauge(reg, "citytwin_storage_snapshot_lsn",
                        "LSN covered by the newest snapshot (loaded at start or written since).");
  snapshot_bytes_ =
      gauge(reg, "citytwin_storage_snapshot_bytes", "Size of the last snapshot written.");
  snapshot_seconds_ = gauge(reg, "citytwin_storage_snapshot_seconds",
                            "Time the last snapshot took, from the barrier to the file synced.");
  recovery_seconds_ = gauge(reg, "citytwin_storage_recovery_seconds",
                            "Time the start took to restore the snapshot and replay the log.");
  recovered_batches_ = gauge(reg, "citytwin_storage_recovered_batches",
                             "Batches of the log replayed at start (after the snapshot).");
}

void storage_probe::set_mode(mode m) {
  for (int i = 0; i < 3; ++i) mode_[i]->Set(i == static_cast<int>(m) ? 1 : 0);
}

void storage_probe::recovered(double seconds, std::uint64_t batches, std::uint64_t snapshot_lsn) {
  recovery_seconds_->Set(seconds);
  recovered_batches_->Set(static_cast<double>(batches));
  snapshot_lsn_->Set(static_cast<double>(snapshot_lsn));
}

void storage_probe::snapshot_written(std::uint64_t lsn, std::uint64_t bytes, double seconds) {
  snapshots_->Increment();
  snapshot_lsn_->Set(static_cast<double>(lsn));
  snapshot_bytes_->Set(static_cast<double>(bytes));
  snapshot_seconds_->Set(seconds);
}

void storage_probe::snapshot_failed() {
  snapshot_failures_->Increment();
}

void storage_probe::update(const storage_sample& s) {
  std::lock_guard lock(mutex_);
  advance(appends_, s.appends, last_.appends);
  advance(bytes_, s.bytes, last_.bytes);
  advance(append_errors_, s.append_errors, last_.append_errors);
  advance(rolled_, s.segments_rolled, last_.segments_rolled);
  advance(commits_, s.commits, last_.commits);
  advance(commit_errors_, s.commit_errors, last_.commit_errors);
  sync_p50_->Set(s.fdatasync_p50_s);
  sync_p99_->Set(s.fdatasync_p99_s);
  sync_max_->Set(s.fdatasync_max_s);
  written_lsn_->Set(static_cast<double>(s.written_lsn));
  durable_lsn_->Set(static_cast<double>(s.durable_lsn));
  acks_waiting_->Set(s.acks_waiting);
  last_ = s;
}

}  // namespace observability
