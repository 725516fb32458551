#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cluster/data_dir.hpp"
#include "cluster/storage_error.hpp"
#include "cluster/wal.hpp"
#include "twin/base/expected.hpp"
#include "twin/base/time.hpp"
#include "twin/live/reading.hpp"

namespace cluster {

class completion_signal;

// When a node acks a batch it keeps (docs/STORAGE.md, "Durability modes").
enum class durability : std::uint8_t {
  process,  // after the log write (pwritev into the page cache): survives kill -9
  power,    // after the group commit's fdatasync covering it: survives a power loss
};
std::string_view to_string(durability d);
// "process" or "power"; nullopt otherwise.
std::optional<durability> parse_durability(std::string_view text);

// The log record of an admitted batch: type batch_record_type, payload = the time the node
// received it (int64 ms since the epoch, little-endian) then the batch frame exactly as it
// arrived (8-byte aligned inside the payload, as Cap'n Proto wants).
inline constexpr std::uint8_t batch_record_type = 1;
inline constexpr std::size_t batch_record_header_bytes = 8;

// What recovery found and replayed.
struct log_recovery {
  wal::scan_report scan;
  std::uint64_t batches = 0;   // batch records replayed (lsn >= from_lsn)
  std::uint64_t readings = 0;  // readings in them
  double seconds = 0;          // scanning and decoding (the caller's apply is not included)
};

// The node's log of admitted batches in its data directory: the directory lock, the write-ahead
// log and its group commit (with `power`), recovery. append() is called by the ingest thread
// only; everything else from any thread.
class batch_log {
 public:
  using replay_fn = std::function<void(std::uint64_t lsn, twin::reading_batch batch)>;

  // Locks `dir` (data_dir), recovers its log — cutting a torn tail, refusing corruption — and
  // hands every batch record with lsn >= from_lsn to `replay`, in log order, before returning.
  // A log without any segment starts at from_lsn (a directory restored from a snapshot).
  // Errors name the directory or file (and offset) involved.
  static twin::expected<std::unique_ptr<batch_log>, std::string> open(
      const std::filesystem::path& dir, durability mode, std::uint64_t from_lsn,
      const replay_fn& replay, std::uint64_t segment_bytes = wal::segment_bytes_default);
  // The same on a data directory the caller has locked already (to read its snapshots first).
  static twin::expected<std::unique_ptr<batch_log>, std::string> open(
      data_dir dir, durability mode, std::uint64_t from_lsn, const replay_fn& replay,
      std::uint64_t segment_bytes = wal::segment_bytes_default);
  ~batch_log();
  batch_log(const batch_log&) = delete;
  batch_log& operator=(const batch_log&) = delete;

  // Writes the record of one admitted batch and returns its LSN. An error (no space, a file
  // size limit, an I/O error, a failed sync before) means nothing was written: refuse the batch.
  twin::expected<std::uint64_t, storage_error> append(twin::time_ms received,
                                                      std::span<const std::byte> frame);

  durability mode() const { return mode_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  const data_dir& directory() const { return dir_; }
  const log_recovery& recovery() const { return recovery_; }
  // The LSN the log goes on after: its last record's, recovered or written since (0: none; for a
  // log started after a snapshot, that snapshot's LSN). Any thread.
  std::uint64_t last_lsn() const;
  // Every record with an LSN at or below this is on stable storage (`power` only).
  std::uint64_t durable_lsn() const;
  // `power`: readable (poll) after each group commit; take_commit() then returns the latest
  // state. -1 with `process`.
  int commit_fd() const;
  wal::commit_state take_commit();
  twin::expected<std::size_t, storage_error> release_before(std::uint64_t lsn);
  // Every record written so far on stable storage (before a snapshot is written). Any thread.
  twin::expected<std::monostate, storage_error> sync_all();
  wal::writer_stats stats() const;

 private:
  batch_log(data_dir dir, durability mode);

  data_dir dir_;
  durability mode_;
  std::shared_ptr<completion_signal> commits_;
  std::unique_ptr<wal::writer> writer_;
  log_recovery recovery_;
};

}  // namespace cluster
