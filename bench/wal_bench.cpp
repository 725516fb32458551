// The write-ahead log's throughput: 256-reading batches (6 KiB payloads, ~24 bytes a reading)
// appended with plain write() (`process` durability), and through the group-commit syncer
// (`power` durability) with 1, 8, 64 and unbounded batches waiting for their commit; beside each,
// a REFERENCE measured in the same run on the same disk: the same payload bytes written with
// write() to a plain file, and fdatasync every 1, 8 or 64 batches. Then the recovery scan of what
// was written (checksums verified) beside a plain read() of the same files.
// Run by hand (`make bench`); `--quick` is a smoke test and asserts no speed, only that every
// record written is read back.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "cluster/wal.hpp"

namespace {

namespace wal = cluster::wal;
namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

constexpr std::size_t readings_per_batch = 256;
constexpr std::size_t reading_bytes = 24;  // sensor id, time, value: what the node will log
constexpr std::size_t payload_bytes = readings_per_batch * reading_bytes;

struct bench_options {
  std::uint64_t write_mib = 1024;  // the write-only runs and the recovery scan
  double sync_seconds = 3;         // each run that syncs
  std::string dir = CITYTWIN_BENCH_SCRATCH;
  int rounds = 3;
  bool quick = false;
};

struct figure {
  std::uint64_t batches = 0;
  double seconds = 0;
  double readings_per_s() const { return double(batches * readings_per_batch) / seconds; }
  double mb_per_s() const { return double(batches * payload_bytes) / seconds / 1e6; }
};

std::string millions(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f M", x / 1e6);
  return buf;
}

std::vector<std::byte> make_payload() {
  std::vector<std::byte> p(payload_bytes);
  std::uint32_t x = 2463534242u;
  for (auto& b : p) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = std::byte(x);
  }
  return p;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "citytwin_bench_wal: %s\n", what.c_str());
  std::exit(1);
}

// The reference: the payloads written to a plain file with write(), fdatasync every `sync_every`
// batches (0: never), for `batches` batches or until `seconds` passed.
figure raw_write(const fs::path& file, const std::vector<std::byte>& payload, std::uint64_t batches,
                 double seconds, std::uint64_t sync_every) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die("cannot create " + file.string());
  figure f;
  const auto start = steady::now();
  while (f.batches < batches) {
    if (::write(fd, payload.data(), payload.size()) != ssize_t(payload.size())) die("write failed");
    ++f.batches;
    if (sync_every > 0 && f.batches % sync_every == 0) {
      if (::fdatasync(fd) != 0) die("fdatasync failed");
      if (std::chrono::duration<double>(steady::now() - start).count() > seconds) break;
    }
  }
  if (sync_every > 0 && ::fdatasync(fd) != 0) die("fdatasync failed");
  f.seconds = std::chrono::duration<double>(steady::now() - start).count();
  ::close(fd);
  fs::remove(file);
  return f;
}

figure log_write_only(const fs::path& dir, const std::vector<std::byte>& payload,
                      std::uint64_t batches) {
  auto o = wal::writer::open(dir, {});
  if (!o) die(o.error().message);
  figure f;
  const auto start = steady::now();
  for (; f.batches < batches; ++f.batches)
    if (!o->log->append(1, payload)) die("append failed");
  f.seconds = std::chrono::duration<double>(steady::now() - start).count();
  return f;
}

struct synced_figure {
  figure f;
  wal::writer_stats stats;
};

// `power` durability: at most `window` batches appended and not yet durable (0: no bound), as
// the node will have at most so many acks waiting; until `seconds` passed, then every commit.
synced_figure log_group_commit(const fs::path& dir, const std::vector<std::byte>& payload,
                               double seconds, std::uint64_t window) {
  std::mutex mutex;
  std::condition_variable committed;
  std::uint64_t durable = 0;
  wal::options opts;
  opts.group_commit = true;
  opts.on_commit = [&](const wal::commit_state& s) {
    {
      std::lock_guard lock(mutex);
      durable = s.durable_lsn;
    }
    committed.notify_one();
  };
  auto o = wal::writer::open(dir, opts);
  if (!o) die(o.error().message);
  auto& log = *o->log;
  const std::uint64_t base = log.next_lsn() - 1;
  synced_figure r;
  std::uint64_t last = base;
  const auto start = steady::now();
  for (;;) {
    if (window > 0 && last - base >= window) {
      std::unique_lock lock(mutex);
      committed.wait(lock, [&] { return last - std::max(durable, base) < window; });
    }
    auto lsn = log.append(1, payload);
    if (!lsn) die(lsn.error().message);
    last = *lsn;
    ++r.f.batches;
    if ((r.f.batches & 15) == 0 &&
        std::chrono::duration<double>(steady::now() - start).count() > seconds)
      break;
  }
  {
    std::unique_lock lock(mutex);
    committed.wait(lock, [&] { return durable >= last; });
  }
  r.f.seconds = std::chrono::duration<double>(steady::now() - start).count();
  r.stats = log.stats();
  return r;
}

// Writes back whatever is dirty on the file system of `dir`, so the next run starts clean.
void settle(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::syncfs(fd) != 0) die("cannot sync " + dir.string());
  ::close(fd);
}

void print_ratio(const char* what, const figure& f, const char* ref_what, const figure& ref) {
  std::printf("  %-34s %10s readings/s %8.0f MB/s\n", what, millions(f.readings_per_s()).c_str(),
              f.mb_per_s());
  std::printf("  %-34s %10s readings/s %8.0f MB/s   ratio %.2f\n", ref_what,
              millions(ref.readings_per_s()).c_str(), ref.mb_per_s(),
              f.readings_per_s() / ref.readings_per_s());
}

}  // namespace

int main(int argc, char** argv) {
  bench_options opt;
  CLI::App app{"citytwin write-ahead log benchmark"};
  app.add_option("--write-mib", opt.write_mib, "payload MiB for the write-only runs and the scan");
  app.add_option("--sync-seconds", opt.sync_seconds, "seconds of each run that syncs");
  app.add_option("--dir", opt.dir, "where to write (a disk, not tmpfs, for fdatasync to mean it)");
  app.add_option("--rounds", opt.rounds, "rounds of the write-only runs (the fastest counts)");
  app.add_flag("--quick", opt.quick, "a short smoke run");
  CLI11_PARSE(app, argc, argv);
  if (opt.quick) {
    opt.write_mib = 16;
    opt.sync_seconds = 0.2;
    opt.rounds = 1;
  }
  std::string pattern = (fs::path(opt.dir) / "wal-bench-XXXXXX").string();
  fs::create_directories(opt.dir);
  if (!::mkdtemp(pattern.data())) die("cannot create a directory in " + opt.dir);
  const fs::path scratch = pattern;
  const auto payload = make_payload();
  const std::uint64_t batches = opt.write_mib * (1u << 20) / payload_bytes;

  std::printf("write-ahead log, %zu-reading batches of %zu payload bytes (%" PRIu64
              " bytes a record), in %s\n",
              readings_per_batch, payload_bytes, wal::record_bytes(payload_bytes), scratch.c_str());

  // Fastest of several rounds, the order alternating, every run starting with nothing dirty in
  // the page cache: what one run leaves to write back would slow the next.
  std::printf("\nwrite() only (`process` durability), %" PRIu64 " batches, fastest of %d rounds:\n",
              batches, opt.rounds);
  figure raw, written;
  for (int round = 0; round < opt.rounds; ++round) {
    for (int k = 0; k < 2; ++k) {
      settle(scratch);
      if ((round + k) % 2 == 0) {
        const figure f = raw_write(scratch / "raw", payload, batches, 1e9, 0);
        if (raw.batches == 0 || f.seconds < raw.seconds) raw = f;
      } else {
        fs::remove_all(scratch / "log");
        const figure f = log_write_only(scratch / "log", payload, batches);
        if (written.batches == 0 || f.seconds < written.seconds) written = f;
      }
    }
  }
  print_ratio("log append (pwritev, no sync)", written, "REFERENCE write() to a plain file", raw);

  std::printf("\ngroup commit (`power` durability), %.1f s a run; fdatasync per commit:\n",
              opt.sync_seconds);
  for (const std::uint64_t window : {1, 8, 64, 0}) {
    fs::remove_all(scratch / "synced");
    settle(scratch);
    const auto s = log_group_commit(scratch / "synced", payload, opt.sync_seconds, window);
    const std::string what = window == 0 ? "log, unbounded waiting acks"
                                         : "log, at most " + std::to_string(window) + " waiting";
    std::printf(
        "  %-34s %10s readings/s %8.0f MB/s   %5.1f batches a commit, fdatasync p50 "
        "%.2f ms p99 %.2f ms max %.2f ms\n",
        what.c_str(), millions(s.f.readings_per_s()).c_str(), s.f.mb_per_s(),
        double(s.f.batches) / double(std::max<std::uint64_t>(1, s.stats.syncs)),
        s.stats.sync_ns_p50 / 1e6, s.stats.sync_ns_p99 / 1e6, s.stats.sync_ns_max / 1e6);
    if (window > 0) {
      settle(scratch);
      const figure ref = raw_write(scratch / "raw-sync", payload, ~0ull, opt.sync_seconds, window);
      std::printf("  %-34s %10s readings/s %8.0f MB/s   ratio %.2f\n",
                  ("REFERENCE write()+fdatasync every " + std::to_string(window)).c_str(),
                  millions(ref.readings_per_s()).c_str(), ref.mb_per_s(),
                  s.f.readings_per_s() / ref.readings_per_s());
    }
  }

  std::printf("\nrecovery scan of the write-only log (page cache warm), checksums verified:\n");
  std::uint64_t records = 0, payload_seen = 0;
  const auto scan_start = steady::now();
  auto scanned = wal::scan(scratch / "log", 0, [&](const wal::record_view& r) {
    ++records;
    payload_seen += r.payload.size();
  });
  const double scan_s = std::chrono::duration<double>(steady::now() - scan_start).count();
  if (!scanned) die(scanned.error().message);
  // The reference: read() of the same files into a buffer, nothing checked.
  std::vector<std::byte> buf(1u << 20);
  std::uint64_t raw_bytes = 0;
  const auto read_start = steady::now();
  for (const auto& e : fs::directory_iterator(scratch / "log")) {
    const int fd = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
    for (ssize_t n; (n = ::read(fd, buf.data(), buf.size())) > 0;) raw_bytes += std::uint64_t(n);
    ::close(fd);
  }
  const double read_s = std::chrono::duration<double>(steady::now() - read_start).count();
  const double scan_gb_s = double(scanned->bytes_read) / scan_s / 1e9;
  const double read_gb_s = double(raw_bytes) / read_s / 1e9;
  std::printf("  %-34s %8.2f GB/s (%.2f s a GB), %" PRIu64 " records in %zu segments\n", "log scan",
              scan_gb_s, 1 / scan_gb_s, records, scanned->segments);
  std::printf("  %-34s %8.2f GB/s   ratio %.2f\n", "REFERENCE read() of the same files", read_gb_s,
              scan_gb_s / read_gb_s);

  fs::remove_all(scratch);
  const bool whole = records == written.batches &&
                     payload_seen == written.batches * payload_bytes && !scanned->cut.has_value();
  std::printf("\n%s\n", whole ? "every record written was read back"
                              : "RECORDS MISSING OR CHANGED IN THE SCAN");
  return whole ? 0 : 1;
}
