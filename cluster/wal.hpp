#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "cluster/storage_error.hpp"
#include "twin/base/expected.hpp"

// The node's write-ahead log: segment files of checksummed records in a directory, written with
// plain write() by one thread and made durable by a group-commit syncer thread (the format, byte
// by byte, is in docs/STORAGE.md).
namespace cluster::wal {

// ---- The format ----
inline constexpr char segment_magic[8] = {'C', 'T', 'W', 'A', 'L', 'S', 'E', 'G'};
inline constexpr std::uint32_t format_version = 1;
inline constexpr std::size_t segment_header_bytes = 32;
inline constexpr std::size_t record_header_bytes = 24;
// Records start on multiples of 8 (payloads are zero-padded), so a payload read into an aligned
// buffer is word-aligned for Cap'n Proto.
inline constexpr std::size_t record_alignment = 8;
// The largest batch frame (cluster::frame_bytes_max, 16 MiB) with the node's record header.
inline constexpr std::uint32_t payload_bytes_max = (16u << 20) + 4096;
inline constexpr std::uint64_t segment_bytes_default = 64u << 20;
// The smallest segment size accepted (tests use tiny segments to roll often).
inline constexpr std::uint64_t segment_bytes_min = 64;

// The bytes a record with `payload_bytes` of payload takes in a segment.
constexpr std::uint64_t record_bytes(std::uint64_t payload_bytes) {
  return record_header_bytes +
         (payload_bytes + record_alignment - 1) / record_alignment * record_alignment;
}

// "00000000000000000001.log": a segment is named by the LSN of its first record.
std::string segment_name(std::uint64_t first_lsn);

// ---- Reading ----
struct record_view {
  std::uint64_t lsn = 0;
  std::uint8_t type = 0;
  std::span<const std::byte> payload;  // valid during the visit only
};
using visitor = std::function<void(const record_view&)>;

// A torn tail: the bytes after the last whole record of the last segment (a record cut short by
// a crash, or garbage). Recovery cuts them; a read-only scan only reports them.
struct tail_cut {
  std::filesystem::path file;
  std::uint64_t offset = 0;  // where the first bad byte was, = the file's size after the cut
  std::uint64_t bytes = 0;   // how many bytes are (or would be) cut
  std::string why;
};

struct scan_report {
  std::size_t segments = 0;
  std::uint64_t records = 0;    // whole, verified records (visited or skipped by from_lsn)
  std::uint64_t first_lsn = 0;  // of the first record; 0 when the log has none
  std::uint64_t last_lsn = 0;   // of the last whole record; 0 when the log has none
  std::uint64_t next_lsn = 1;   // what the next append gets
  std::uint64_t bytes_read = 0;
  std::optional<tail_cut> cut;
};

// Reads every segment of `log_dir` in order, verifying each record (checksum, LSN continuity)
// and calls `visit` for each record with lsn >= from_lsn (segments wholly below it are not read).
// A bad record or trailing bytes in a segment other than the last is a `corrupt` error naming
// the file and offset; in the last segment it is a torn tail, reported in `cut`. Never writes.
twin::expected<scan_report, storage_error> scan(const std::filesystem::path& log_dir,
                                                std::uint64_t from_lsn, const visitor& visit);

// ---- Writing ----

// What the syncer published: every record with lsn <= durable_lsn is on stable storage. When
// `failed`, an fdatasync failed: nothing after durable_lsn will ever be reported durable (after a
// failed fdatasync the page cache cannot be trusted), and appends fail with sync_failed.
struct commit_state {
  std::uint64_t durable_lsn = 0;
  bool failed = false;
};

struct options {
  std::uint64_t segment_bytes = segment_bytes_default;
  // `power` durability: a syncer thread fdatasyncs whatever was written (group commit) and
  // publishes the durable LSN. Without it (`process` durability) nothing is synced.
  bool group_commit = false;
  // Called on the syncer thread after every commit (and once on a failure). Must not block for
  // long: it delays the next commit, never the appends. What it calls must outlive the writer:
  // the writer's destructor makes what was written durable and reports it first.
  std::function<void(const commit_state&)> on_commit;
  // The LSN of the first record of a log that has no segment yet (a data directory restored from
  // a snapshot covering LSN n starts its log at n + 1). Ignored when the log has segments.
  std::uint64_t first_lsn = 1;
};

// The latest fdatasync latencies kept for the percentiles.
inline constexpr std::size_t sync_samples_max = 4096;

struct writer_stats {
  std::uint64_t records = 0;  // appended by this writer
  std::uint64_t bytes = 0;    // written by appends (headers and padding included)
  std::uint64_t append_errors = 0;
  std::uint64_t segments_rolled = 0;
  std::uint64_t written_lsn = 0;  // last record written (0: none since open)
  std::uint64_t durable_lsn = 0;  // last record known durable (group commit only)
  std::uint64_t syncs = 0;        // commits (one or more fdatasyncs each)
  std::uint64_t sync_errors = 0;
  // Over the last sync_samples_max commits; 0 when none.
  std::uint64_t sync_ns_p50 = 0;
  std::uint64_t sync_ns_p99 = 0;
  std::uint64_t sync_ns_max = 0;
};

class writer;

struct opened {
  std::unique_ptr<writer> log;
  scan_report recovery;  // what the recovery scan found, `cut` included when it cut a torn tail
};

// Appends records to the log. append() is called from one thread (the ingest thread);
// release_before(), stats() and durable_lsn() from any.
class writer {
 public:
  // Recovery then open: scans the log as scan() does (visiting records >= from_lsn, which is how
  // the node replays after its snapshots), cuts a torn tail of the last segment (and syncs the
  // cut), and opens the last segment for appending (creating the first one when the log is
  // empty). With group_commit, whatever the log holds is synced before this returns, so the
  // durable LSN starts at the last record.
  static twin::expected<opened, storage_error> open(const std::filesystem::path& log_dir,
                                                    options opts, std::uint64_t from_lsn = 0,
                                                    const visitor& visit = {});

  ~writer();
  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;

  // Writes one record (one pwritev of header, payload and padding; no sync) and returns its LSN
  // (the previous one + 1). After it returns the record survives the process being killed.
  // type: 1..255 (0 is reserved); payload: at most payload_bytes_max.
  // On a failed or short write the segment is cut back to the last whole record and the error
  // returned (no_space, file_too_large, io_error): nothing was appended and the next append
  // tries again. After a failed fdatasync every append fails with sync_failed.
  twin::expected<std::uint64_t, storage_error> append(std::uint8_t type,
                                                      std::span<const std::byte> payload);
  // The same with the payload in two parts, written as one (head, then body), without a copy.
  twin::expected<std::uint64_t, storage_error> append(std::uint8_t type,
                                                      std::span<const std::byte> head,
                                                      std::span<const std::byte> body);

  // Removes the segments all of whose records have lsn < `lsn` (after a snapshot that covers
  // them); the segment being written is never removed. Returns how many were removed. Any thread
  // (a snapshot is written beside the ingest thread).
  twin::expected<std::size_t, storage_error> release_before(std::uint64_t lsn);

  // fdatasyncs every segment (and the directory): every record appended before the call is then
  // on stable storage, whatever the durability. For a snapshot, which must never cover records
  // the log could lose. Any thread; appends go on meanwhile.
  twin::expected<std::monostate, storage_error> sync_all();

  std::uint64_t next_lsn() const { return next_lsn_; }
  std::uint64_t durable_lsn() const { return durable_lsn_.load(std::memory_order_acquire); }
  // The last record appended since open (0: none). Any thread.
  std::uint64_t written_lsn() const { return written_lsn_.load(std::memory_order_acquire); }
  std::size_t segment_count() const {
    std::lock_guard lock(segments_mutex_);
    return segments_.size();
  }
  writer_stats stats() const;

 private:
  struct segment_file;
  struct segment_entry {
    std::uint64_t first_lsn;
    std::filesystem::path path;
  };

  writer(std::filesystem::path dir, int dir_fd, options opts);
  twin::expected<std::monostate, storage_error> roll();
  void sync_loop();
  void record_sync_ns(std::uint64_t ns);

  std::filesystem::path dir_;
  int dir_fd_;
  options opts_;

  // segments_: appended by the ingest thread (roll), trimmed by release_before from any thread.
  mutable std::mutex segments_mutex_;
  std::vector<segment_entry> segments_;
  // Ingest thread only.
  std::shared_ptr<segment_file> current_;
  std::uint64_t end_ = 0;  // the offset after the last whole record of the current segment
  std::uint64_t next_lsn_ = 1;
  bool tail_dirty_ = false;  // a failed write left bytes after end_ that a truncate did not cut

  std::atomic<std::uint64_t> written_lsn_{0};
  std::atomic<std::uint64_t> durable_lsn_{0};
  std::atomic<bool> sync_failed_{false};
  std::atomic<std::uint64_t> records_{0}, bytes_{0}, append_errors_{0}, rolled_{0};

  // The syncer's hand-over, under mutex_: segments left behind by a roll (synced once more, then
  // closed), the current segment, whether the directory gained an entry.
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<bool> syncer_idle_{false};
  bool stop_ = false;
  std::vector<std::shared_ptr<segment_file>> retired_;
  std::shared_ptr<segment_file> sync_current_;
  bool dir_dirty_ = false;
  std::thread syncer_;

  mutable std::mutex stats_mutex_;
  std::vector<std::uint64_t> sync_ns_;  // ring of the latest sync_samples_max
  std::size_t sync_ns_next_ = 0;
  std::uint64_t syncs_ = 0, sync_errors_ = 0;
};

}  // namespace cluster::wal
