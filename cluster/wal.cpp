#include "cluster/wal.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cluster/crc32c.hpp"
#include "cluster/little_endian.hpp"
#include "twin/base/check.hpp"

namespace cluster::wal {

namespace {

using cluster::le::get_u32;
using cluster::le::get_u64;
using cluster::le::put_u32;
using cluster::le::put_u64;

std::array<std::byte, segment_header_bytes> segment_header(std::uint64_t first_lsn) {
  std::array<std::byte, segment_header_bytes> h{};
  std::memcpy(h.data(), segment_magic, sizeof segment_magic);
  put_u32(h.data() + 8, format_version);
  put_u32(h.data() + 12, static_cast<std::uint32_t>(segment_header_bytes));
  put_u64(h.data() + 16, first_lsn);
  put_u32(h.data() + 28, crc32c(std::span(h.data(), 28)));
  return h;
}

// The checksum of a record: its length field, then everything after the checksum field up to
// the end of the payload (LSN, type, reserved bytes, payload). Padding is not covered (it must be
// zero, which the reader checks).
std::uint32_t record_crc(const std::byte* header, std::span<const std::byte> payload) {
  const std::uint32_t c = crc32c(std::span(header, 4));
  return crc32c(payload, crc32c(std::span(header + 8, record_header_bytes - 8), c));
}

// The header of a record whose payload is `head` followed by `body`.
std::array<std::byte, record_header_bytes> record_header(std::uint64_t lsn, std::uint8_t type,
                                                         std::span<const std::byte> head,
                                                         std::span<const std::byte> body) {
  std::array<std::byte, record_header_bytes> h{};
  put_u32(h.data(), static_cast<std::uint32_t>(head.size() + body.size()));
  put_u64(h.data() + 8, lsn);
  h[16] = std::byte(type);
  put_u32(h.data() + 4, crc32c(body, record_crc(h.data(), head)));
  return h;
}

storage_error sys_error(const std::string& what, const std::filesystem::path& file, int e) {
  storage_errc code = storage_errc::io_error;
  if (e == ENOSPC || e == EDQUOT) code = storage_errc::no_space;
  if (e == EFBIG) code = storage_errc::file_too_large;
  return {code, e, what + " " + file.string() + ": " + std::strerror(e)};
}

storage_error corrupt(const std::filesystem::path& file, std::uint64_t offset,
                      const std::string& why) {
  return {storage_errc::corrupt, 0,
          "write-ahead log " + file.string() + " at offset " + std::to_string(offset) + ": " + why};
}

// Writes all of `iov` at `offset`, continuing after short writes; false with errno set when a
// write fails (a short write followed by a failure leaves the bytes written so far).
bool write_all(int fd, std::uint64_t offset, iovec* iov, int count) {
  while (count > 0) {
    const ssize_t n = ::pwritev(fd, iov, count, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) {
      errno = EIO;
      return false;
    }
    offset += static_cast<std::uint64_t>(n);
    auto left = static_cast<std::size_t>(n);
    while (count > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return true;
}

// A segment mapped read-only for the scan: checksums read the page cache, no copy. The node's
// data directory lock keeps a writer from truncating it meanwhile (which would fault).
class mapped_segment {
 public:
  mapped_segment(int fd, std::size_t size) : size_(size) {
    if (size_ == 0) return;
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) return;
    ::madvise(p, size_, MADV_SEQUENTIAL);
    data_ = static_cast<const std::byte*>(p);
  }
  ~mapped_segment() {
    if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
  }
  mapped_segment(const mapped_segment&) = delete;
  mapped_segment& operator=(const mapped_segment&) = delete;

  bool failed() const { return size_ > 0 && data_ == nullptr; }
  const std::byte* data() const { return data_; }

 private:
  std::size_t size_;
  const std::byte* data_ = nullptr;
};

struct segment_on_disk {
  std::uint64_t first_lsn;
  std::filesystem::path path;
};

// The segments of `dir` in LSN order; other files are ignored.
twin::expected<std::vector<segment_on_disk>, storage_error> list_segments(
    const std::filesystem::path& dir) {
  std::vector<segment_on_disk> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() != 24 || !name.ends_with(".log")) continue;
    if (!std::all_of(name.begin(), name.begin() + 20, [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    out.push_back({std::stoull(name.substr(0, 20)), it->path()});
  }
  if (ec) return twin::unexpected(sys_error("cannot list", dir, ec.value()));
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.first_lsn < b.first_lsn; });
  return out;
}

// The recovery scan shared by scan() (read only) and writer::open() (which cuts the tail).
struct scan_result {
  scan_report report;
  std::vector<segment_on_disk> segments;  // the segments left after a cut
  bool last_segment_removed = false;      // the cut removed a last segment whose header was torn
};

twin::expected<scan_result, storage_error> scan_segments(const std::filesystem::path& dir,
                                                         std::uint64_t from_lsn,
                                                         const visitor& visit) {
  auto listed = list_segments(dir);
  if (!listed) return twin::unexpected(listed.error());
  scan_result r;
  r.segments = std::move(*listed);
  auto& rep = r.report;
  rep.segments = r.segments.size();
  if (!r.segments.empty()) rep.next_lsn = r.segments.front().first_lsn;
  for (std::size_t i = 0; i < r.segments.size(); ++i) {
    const auto& seg = r.segments[i];
    const bool last = i + 1 == r.segments.size();
    if (seg.first_lsn != rep.next_lsn)
      return twin::unexpected(corrupt(seg.path, 0,
                                      "segment starts at LSN " + std::to_string(seg.first_lsn) +
                                          " where " + std::to_string(rep.next_lsn) +
                                          " was expected (a segment is missing)"));
    // Wholly below from_lsn: the next segment's name says where it ends; not read.
    if (!last && r.segments[i + 1].first_lsn <= from_lsn) {
      rep.records += r.segments[i + 1].first_lsn - seg.first_lsn;
      if (rep.first_lsn == 0 && r.segments[i + 1].first_lsn > seg.first_lsn)
        rep.first_lsn = seg.first_lsn;
      rep.next_lsn = r.segments[i + 1].first_lsn;
      continue;
    }
    const int fd = ::open(seg.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return twin::unexpected(sys_error("cannot open", seg.path, errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int e = errno;
      ::close(fd);
      return twin::unexpected(sys_error("cannot stat", seg.path, e));
    }
    const auto size = static_cast<std::size_t>(st.st_size);
    const mapped_segment mapped(fd, size);
    const int map_errno = errno;
    ::close(fd);
    if (mapped.failed()) return twin::unexpected(sys_error("cannot map", seg.path, map_errno));
    rep.bytes_read += size;
    const std::byte* b = mapped.data();

    // A bad place: the torn tail of the last segment, or corruption anywhere else.
    auto bad = [&](std::uint64_t offset, const std::string& why) -> std::optional<storage_error> {
      if (!last) return corrupt(seg.path, offset, why);
      rep.cut = tail_cut{seg.path, offset, size - offset, why};
      return std::nullopt;
    };

    if (size < segment_header_bytes || std::memcmp(b, segment_magic, sizeof segment_magic) != 0 ||
        get_u32(b + 28) != crc32c(std::span(b, 28))) {
      // Only a segment no longer than its header can be a roll cut short by a crash: one with
      // records after a bad header is corrupt, last or not.
      if (!last || size > segment_header_bytes)
        return twin::unexpected(corrupt(seg.path, 0, "bad segment header"));
      rep.cut = tail_cut{seg.path, 0, size, "segment header cut short"};
      r.last_segment_removed = true;
      break;
    }
    if (get_u32(b + 8) != format_version)
      return twin::unexpected(corrupt(seg.path, 8,
                                      "format version " + std::to_string(get_u32(b + 8)) +
                                          " (this build reads " + std::to_string(format_version) +
                                          ")"));
    if (get_u64(b + 16) != seg.first_lsn)
      return twin::unexpected(corrupt(seg.path, 16,
                                      "header says first LSN " + std::to_string(get_u64(b + 16)) +
                                          ", the file name " + std::to_string(seg.first_lsn)));

    std::uint64_t p = segment_header_bytes;
    while (p < size) {
      if (size - p < record_header_bytes) {
        if (auto e = bad(p, "record header cut short")) return twin::unexpected(*e);
        break;
      }
      const std::byte* h = b + p;
      const std::uint32_t len = get_u32(h);
      const std::uint64_t lsn = get_u64(h + 8);
      const auto type = static_cast<std::uint8_t>(h[16]);
      const bool reserved_zero = std::all_of(h + 17, h + record_header_bytes,
                                             [](std::byte x) { return x == std::byte{0}; });
      if (len > payload_bytes_max || type == 0 || !reserved_zero) {
        if (auto e = bad(p, "not a record header")) return twin::unexpected(*e);
        break;
      }
      const std::uint64_t total = record_bytes(len);
      if (total > size - p) {
        if (auto e = bad(p, "record cut short")) return twin::unexpected(*e);
        break;
      }
      const std::span<const std::byte> payload(h + record_header_bytes, len);
      if (get_u32(h + 4) != record_crc(h, payload)) {
        if (auto e = bad(p, "checksum mismatch")) return twin::unexpected(*e);
        break;
      }
      if (!std::all_of(h + record_header_bytes + len, h + total,
                       [](std::byte x) { return x == std::byte{0}; })) {
        if (auto e = bad(p, "padding not zero")) return twin::unexpected(*e);
        break;
      }
      // A whole, verified record with the wrong LSN is not a tear: never cut it.
      if (lsn != rep.next_lsn)
        return twin::unexpected(corrupt(seg.path, p,
                                        "record LSN " + std::to_string(lsn) + " where " +
                                            std::to_string(rep.next_lsn) + " was expected"));
      if (lsn >= from_lsn && visit) visit(record_view{lsn, type, payload});
      if (rep.first_lsn == 0) rep.first_lsn = lsn;
      rep.last_lsn = lsn;
      ++rep.records;
      ++rep.next_lsn;
      p += total;
    }
  }
  rep.last_lsn = rep.records > 0 ? rep.next_lsn - 1 : 0;
  if (r.last_segment_removed) r.segments.pop_back();
  return r;
}

}  // namespace

std::string segment_name(std::uint64_t first_lsn) {
  std::string digits = std::to_string(first_lsn);
  return std::string(20 - digits.size(), '0') + digits + ".log";
}

twin::expected<scan_report, storage_error> scan(const std::filesystem::path& log_dir,
                                                std::uint64_t from_lsn, const visitor& visit) {
  auto r = scan_segments(log_dir, from_lsn, visit);
  if (!r) return twin::unexpected(r.error());
  return std::move(r->report);
}

// ---- writer ----

// An open segment, shared by the writer and the syncer: the last one to let go closes it.
struct writer::segment_file {
  segment_file(int fd_, std::filesystem::path path_) : fd(fd_), path(std::move(path_)) {}
  segment_file(const segment_file&) = delete;
  segment_file& operator=(const segment_file&) = delete;
  ~segment_file() { ::close(fd); }

  int fd;
  std::filesystem::path path;
};

writer::writer(std::filesystem::path dir, int dir_fd, options opts)
    : dir_(std::move(dir)), dir_fd_(dir_fd), opts_(std::move(opts)) {
  sync_ns_.reserve(sync_samples_max);
}

twin::expected<opened, storage_error> writer::open(const std::filesystem::path& log_dir,
                                                   options opts, std::uint64_t from_lsn,
                                                   const visitor& visit) {
  TWIN_REQUIRE_OP(opts.segment_bytes, >=, segment_bytes_min);
  std::error_code ec;
  std::filesystem::create_directories(log_dir, ec);
  if (ec) return twin::unexpected(sys_error("cannot create", log_dir, ec.value()));
  auto scanned = scan_segments(log_dir, from_lsn, visit);
  if (!scanned) return twin::unexpected(scanned.error());

  const int dir_fd = ::open(log_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return twin::unexpected(sys_error("cannot open", log_dir, errno));
  std::unique_ptr<writer> w(new writer(log_dir, dir_fd, std::move(opts)));
  const auto& rep = scanned->report;
  w->next_lsn_ = rep.next_lsn;
  for (const auto& s : scanned->segments) w->segments_.push_back({s.first_lsn, s.path});

  if (rep.cut) {
    // Cut the torn tail, and make the cut itself durable before anything is appended after it.
    if (scanned->last_segment_removed) {
      if (::unlink(rep.cut->file.c_str()) != 0)
        return twin::unexpected(sys_error("cannot remove", rep.cut->file, errno));
    } else if (::truncate(rep.cut->file.c_str(), static_cast<off_t>(rep.cut->offset)) != 0) {
      return twin::unexpected(sys_error("cannot truncate", rep.cut->file, errno));
    }
    if (::fsync(dir_fd) != 0) return twin::unexpected(sys_error("cannot sync", log_dir, errno));
  }

  if (w->segments_.empty()) {
    TWIN_REQUIRE_OP(w->opts_.first_lsn, >=, 1u);
    w->next_lsn_ = w->opts_.first_lsn;
    if (auto r = w->roll(); !r) return twin::unexpected(r.error());
  } else {
    const auto& path = w->segments_.back().path;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return twin::unexpected(sys_error("cannot open", path, errno));
    w->current_ = std::make_shared<segment_file>(fd, path);
    struct stat st {};
    if (::fstat(fd, &st) != 0) return twin::unexpected(sys_error("cannot stat", path, errno));
    w->end_ = static_cast<std::uint64_t>(st.st_size);
  }
  if (w->opts_.group_commit) {
    // What an earlier run wrote (in `process` mode, or before a crash) may not be on disk yet:
    // sync every segment before calling any of it durable.
    for (const auto& seg : w->segments_) {
      const int fd = ::open(seg.path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return twin::unexpected(sys_error("cannot open", seg.path, errno));
      const int synced = ::fdatasync(fd);
      const int e = errno;
      ::close(fd);
      if (synced != 0) return twin::unexpected(sys_error("cannot sync", seg.path, e));
    }
  }
  if (w->opts_.group_commit && ::fsync(dir_fd) != 0)
    return twin::unexpected(sys_error("cannot sync", log_dir, errno));
  const std::uint64_t last = w->next_lsn_ - 1;
  w->written_lsn_.store(last);
  if (w->opts_.group_commit) {
    w->durable_lsn_.store(last);
    w->dir_dirty_ = false;
    w->retired_.clear();
    w->sync_current_ = w->current_;
    w->syncer_ = std::thread([raw = w.get()] { raw->sync_loop(); });
  }
  return opened{std::move(w), scanned->report};
}

writer::~writer() {
  if (syncer_.joinable()) {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    syncer_.join();
  }
  ::close(dir_fd_);
}

// A new segment starting at next_lsn_. On failure the old segment stays current and the next
// append tries again.
twin::expected<std::monostate, storage_error> writer::roll() {
  const auto path = dir_ / segment_name(next_lsn_);
  // O_TRUNC: a file of that name can only be what an earlier failed roll left.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return twin::unexpected(sys_error("cannot create", path, errno));
  auto header = segment_header(next_lsn_);
  iovec iov{header.data(), header.size()};
  if (!write_all(fd, 0, &iov, 1)) {
    const int e = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return twin::unexpected(sys_error("cannot write the header of", path, e));
  }
  auto file = std::make_shared<segment_file>(fd, path);
  if (opts_.group_commit) {
    std::lock_guard lock(mutex_);
    if (current_) retired_.push_back(current_);
    sync_current_ = file;
    dir_dirty_ = true;
  }
  if (current_) rolled_.fetch_add(1, std::memory_order_relaxed);
  current_ = std::move(file);
  {
    std::lock_guard lock(segments_mutex_);
    segments_.push_back({next_lsn_, path});
  }
  end_ = segment_header_bytes;
  return std::monostate{};
}

twin::expected<std::uint64_t, storage_error> writer::append(std::uint8_t type,
                                                            std::span<const std::byte> payload) {
  return append(type, payload, {});
}

twin::expected<std::uint64_t, storage_error> writer::append(std::uint8_t type,
                                                            std::span<const std::byte> head,
                                                            std::span<const std::byte> body) {
  TWIN_REQUIRE_OP(int(type), !=, 0);
  const std::size_t payload_size = head.size() + body.size();
  TWIN_REQUIRE_OP(payload_size, <=, payload_bytes_max);
  if (sync_failed_.load(std::memory_order_acquire)) {
    append_errors_.fetch_add(1, std::memory_order_relaxed);
    return twin::unexpected(storage_error{
        storage_errc::sync_failed, 0,
        "write-ahead log " + dir_.string() + ": an earlier fdatasync failed; reopen the log"});
  }
  auto fail = [&](storage_error e) -> twin::expected<std::uint64_t, storage_error> {
    append_errors_.fetch_add(1, std::memory_order_relaxed);
    return twin::unexpected(std::move(e));
  };
  if (tail_dirty_) {
    if (::ftruncate(current_->fd, static_cast<off_t>(end_)) != 0)
      return fail(sys_error("cannot cut the failed write from", current_->path, errno));
    tail_dirty_ = false;
  }
  const std::uint64_t total = record_bytes(payload_size);
  if (end_ > segment_header_bytes && end_ + total > opts_.segment_bytes) {
    if (auto r = roll(); !r) return fail(r.error());
  }
  const std::uint64_t lsn = next_lsn_;
  auto header = record_header(lsn, type, head, body);
  static constexpr std::byte zeros[record_alignment] = {};
  iovec iov[4];
  int parts = 0;
  iov[parts++] = {header.data(), header.size()};
  for (auto part : {head, body})
    if (!part.empty()) iov[parts++] = {const_cast<std::byte*>(part.data()), part.size()};
  if (const auto padding = total - record_header_bytes - payload_size; padding > 0)
    iov[parts++] = {const_cast<std::byte*>(zeros), padding};
  if (!write_all(current_->fd, end_, iov, parts)) {
    const int e = errno;
    // Never leave part of a record behind: a later record after it would be lost to recovery.
    if (::ftruncate(current_->fd, static_cast<off_t>(end_)) != 0) tail_dirty_ = true;
    return fail(sys_error("cannot append to", current_->path, e));
  }
  end_ += total;
  ++next_lsn_;
  records_.fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add(total, std::memory_order_relaxed);
  written_lsn_.store(lsn, std::memory_order_seq_cst);
  // Only an idle syncer needs a wake-up (and the mutex); a busy one sees written_lsn_ next round.
  if (opts_.group_commit && syncer_idle_.load(std::memory_order_seq_cst)) {
    std::lock_guard lock(mutex_);
    wake_.notify_one();
  }
  return lsn;
}

twin::expected<std::monostate, storage_error> writer::sync_all() {
  std::vector<std::filesystem::path> paths;
  {
    std::lock_guard lock(segments_mutex_);
    for (const auto& s : segments_) paths.push_back(s.path);
  }
  for (const auto& path : paths) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return twin::unexpected(sys_error("cannot open", path, errno));
    const int synced = ::fdatasync(fd);
    const int e = errno;
    ::close(fd);
    if (synced != 0) return twin::unexpected(sys_error("cannot sync", path, e));
  }
  if (::fsync(dir_fd_) != 0) return twin::unexpected(sys_error("cannot sync", dir_, errno));
  return std::monostate{};
}

twin::expected<std::size_t, storage_error> writer::release_before(std::uint64_t lsn) {
  std::size_t removed = 0;
  std::lock_guard lock(segments_mutex_);
  while (segments_.size() > 1 && segments_[1].first_lsn <= lsn) {
    if (::unlink(segments_.front().path.c_str()) != 0 && errno != ENOENT)
      return twin::unexpected(sys_error("cannot remove", segments_.front().path, errno));
    segments_.erase(segments_.begin());
    ++removed;
  }
  return removed;
}

void writer::sync_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    syncer_idle_.store(true, std::memory_order_seq_cst);
    wake_.wait(lock, [&] {
      return stop_ || written_lsn_.load(std::memory_order_seq_cst) >
                          durable_lsn_.load(std::memory_order_relaxed);
    });
    syncer_idle_.store(false, std::memory_order_relaxed);
    const std::uint64_t target = written_lsn_.load(std::memory_order_seq_cst);
    if (target <= durable_lsn_.load(std::memory_order_relaxed)) break;  // stopping, all synced
    // Every record <= target is in a retired segment or the current one, taken after target.
    auto retired = std::move(retired_);
    retired_.clear();
    auto current = sync_current_;
    const bool dir_dirty = std::exchange(dir_dirty_, false);
    lock.unlock();

    const auto start = std::chrono::steady_clock::now();
    int err = 0;
    for (const auto& s : retired)
      if (::fdatasync(s->fd) != 0 && err == 0) err = errno;
    if (dir_dirty && ::fsync(dir_fd_) != 0 && err == 0) err = errno;
    if (::fdatasync(current->fd) != 0 && err == 0) err = errno;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    retired.clear();  // closes the segments left behind
    record_sync_ns(static_cast<std::uint64_t>(ns));
    if (err != 0) {
      {
        std::lock_guard stats(stats_mutex_);
        ++sync_errors_;
      }
      sync_failed_.store(true, std::memory_order_release);
      if (opts_.on_commit) opts_.on_commit({durable_lsn_.load(), true});
      return;
    }
    durable_lsn_.store(target, std::memory_order_release);
    if (opts_.on_commit) opts_.on_commit({target, false});
    lock.lock();
  }
}

void writer::record_sync_ns(std::uint64_t ns) {
  std::lock_guard lock(stats_mutex_);
  ++syncs_;
  if (sync_ns_.size() < sync_samples_max) {
    sync_ns_.push_back(ns);
  } else {
    sync_ns_[sync_ns_next_] = ns;
    sync_ns_next_ = (sync_ns_next_ + 1) % sync_samples_max;
  }
}

writer_stats writer::stats() const {
  writer_stats s;
  s.records = records_.load(std::memory_order_relaxed);
  s.bytes = bytes_.load(std::memory_order_relaxed);
  s.append_errors = append_errors_.load(std::memory_order_relaxed);
  s.segments_rolled = rolled_.load(std::memory_order_relaxed);
  s.written_lsn = written_lsn_.load(std::memory_order_acquire);
  s.durable_lsn = durable_lsn_.load(std::memory_order_acquire);
  std::vector<std::uint64_t> samples;
  {
    std::lock_guard lock(stats_mutex_);
    s.syncs = syncs_;
    s.sync_errors = sync_errors_;
    samples = sync_ns_;
  }
  if (!samples.empty()) {
    std::sort(samples.begin(), samples.end());
    // Nearest rank: the smallest sample with at least p % of the samples at or below it.
    auto rank = [&](std::size_t pct) {
      const std::size_t k = (samples.size() * pct + 99) / 100;
      return samples[k == 0 ? 0 : k - 1];
    };
    s.sync_ns_p50 = rank(50);
    s.sync_ns_p99 = rank(99);
    s.sync_ns_max = samples.back();
  }
  return s;
}

}  // namespace cluster::wal
