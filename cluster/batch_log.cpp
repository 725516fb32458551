#include "cluster/batch_log.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>

#include "cluster/codec.hpp"
#include "cluster/little_endian.hpp"
#include "twin/base/check.hpp"

namespace cluster {

// The group commit's news for the I/O thread: the latest commit state behind an eventfd.
class completion_signal {
 public:
  completion_signal() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) { TWIN_CHECK(fd_ >= 0); }
  ~completion_signal() { ::close(fd_); }
  completion_signal(const completion_signal&) = delete;
  completion_signal& operator=(const completion_signal&) = delete;

  void publish(const wal::commit_state& s) {
    {
      std::lock_guard lock(mutex_);
      state_.durable_lsn = std::max(state_.durable_lsn, s.durable_lsn);
      state_.failed = state_.failed || s.failed;
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);
  }
  wal::commit_state take() {
    std::uint64_t count = 0;
    [[maybe_unused]] auto n = ::read(fd_, &count, sizeof count);
    std::lock_guard lock(mutex_);
    return state_;
  }
  int fd() const { return fd_; }

 private:
  int fd_;
  std::mutex mutex_;
  wal::commit_state state_;
};

std::string_view to_string(durability d) {
  switch (d) {
    case durability::process:
      return "process";
    case durability::power:
      return "power";
  }
  TWIN_CHECK(false);
  return {};
}

std::optional<durability> parse_durability(std::string_view text) {
  if (text == "process") return durability::process;
  if (text == "power") return durability::power;
  return std::nullopt;
}

batch_log::batch_log(data_dir dir, durability mode)
    : dir_(std::move(dir)), mode_(mode), commits_(std::make_shared<completion_signal>()) {}

batch_log::~batch_log() = default;

twin::expected<std::unique_ptr<batch_log>, std::string> batch_log::open(
    const std::filesystem::path& dir, durability mode, std::uint64_t from_lsn,
    const replay_fn& replay, std::uint64_t segment_bytes) {
  auto locked = data_dir::open(dir);
  if (!locked) return twin::unexpected{locked.error().message};
  return open(std::move(*locked), mode, from_lsn, replay, segment_bytes);
}

twin::expected<std::unique_ptr<batch_log>, std::string> batch_log::open(
    data_dir dir, durability mode, std::uint64_t from_lsn, const replay_fn& replay,
    std::uint64_t segment_bytes) {
  std::unique_ptr<batch_log> log(new batch_log(std::move(dir), mode));
  const auto start = std::chrono::steady_clock::now();
  // Records were admitted, so they decode; one that does not is corruption the CRC missed or a
  // record of a newer node: either way nothing is skipped silently.
  decoder decode(wal::payload_bytes_max);
  std::optional<std::string> bad;
  auto visit = [&](const wal::record_view& r) {
    if (bad) return;
    auto where = [&] {
      return "write-ahead log " + log->dir_.log_dir().string() + ": record " +
             std::to_string(r.lsn);
    };
    if (r.type != batch_record_type) {
      bad = where() + " has type " + std::to_string(r.type) + ", this node writes only type " +
            std::to_string(batch_record_type);
      return;
    }
    if (r.payload.size() < batch_record_header_bytes) {
      bad = where() + " is too short for a batch record (" + std::to_string(r.payload.size()) +
            " bytes)";
      return;
    }
    auto batch = decode.decode_batch(r.payload.subspan(batch_record_header_bytes));
    if (!batch) {
      bad = where() + " does not hold a batch: " + batch.error().message;
      return;
    }
    batch->received = static_cast<twin::time_ms>(le::get_u64(r.payload.data()));
    ++log->recovery_.batches;
    log->recovery_.readings += batch->readings.size();
    replay(r.lsn, std::move(*batch));
  };
  wal::options o;
  o.segment_bytes = segment_bytes;
  o.first_lsn = std::max<std::uint64_t>(from_lsn, 1);
  if (mode == durability::power) {
    o.group_commit = true;
    o.on_commit = [signal = log->commits_](const wal::commit_state& s) { signal->publish(s); };
  }
  auto opened = wal::writer::open(log->dir_.log_dir(), std::move(o), from_lsn, visit);
  if (!opened) return twin::unexpected{opened.error().message};
  if (bad) return twin::unexpected{*bad};
  log->writer_ = std::move(opened->log);
  log->recovery_.scan = std::move(opened->recovery);
  log->recovery_.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return log;
}

twin::expected<std::uint64_t, storage_error> batch_log::append(twin::time_ms received,
                                                               std::span<const std::byte> frame) {
  std::byte head[batch_record_header_bytes];
  le::put_u64(head, static_cast<std::uint64_t>(received));
  return writer_->append(batch_record_type, std::span<const std::byte>(head), frame);
}

std::uint64_t batch_log::last_lsn() const {
  return std::max(writer_->written_lsn(), recovery_.scan.last_lsn);
}

std::uint64_t batch_log::durable_lsn() const {
  return writer_->durable_lsn();
}

int batch_log::commit_fd() const {
  return mode_ == durability::power ? commits_->fd() : -1;
}

wal::commit_state batch_log::take_commit() {
  return commits_->take();
}

twin::expected<std::size_t, storage_error> batch_log::release_before(std::uint64_t lsn) {
  return writer_->release_before(lsn);
}

twin::expected<std::monostate, storage_error> batch_log::sync_all() {
  return writer_->sync_all();
}

wal::writer_stats batch_log::stats() const {
  return writer_->stats();
}

}  // namespace cluster
