#include "cluster/wal.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster/crc32c.hpp"
#include "storage_test_dir.hpp"

namespace {

namespace wal = cluster::wal;
namespace fs = std::filesystem;

std::span<const std::byte> bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string text(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// "lsn:type:payload" per record, in the order visited.
struct collected {
  std::vector<std::string> records;
  wal::visitor visitor() {
    return [this](const wal::record_view& r) {
      records.push_back(std::to_string(r.lsn) + ":" + std::to_string(r.type) + ":" +
                        text(r.payload));
    };
  }
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << content;
}

void append_file(const fs::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::binary | std::ios::app);
  out << content;
}

std::vector<std::string> segment_names(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::unique_ptr<wal::writer> open_writer(const fs::path& dir, wal::options opts = {}) {
  auto o = wal::writer::open(dir, std::move(opts));
  REQUIRE(o.has_value());
  return std::move(o->log);
}

// Ten-byte payloads take 40 bytes a record; two fit in a segment of 32 + 80 bytes.
constexpr std::uint64_t two_records_per_segment = wal::segment_header_bytes + 2 * 40;

wal::options small_segments() {
  wal::options o;
  o.segment_bytes = two_records_per_segment;
  return o;
}

std::uint32_t le32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t(std::uint8_t(s[at + i])) << (8 * i);
  return v;
}
std::uint64_t le64(const std::string& s, std::size_t at) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t(std::uint8_t(s[at + i])) << (8 * i);
  return v;
}

}  // namespace

TEST_CASE("wal: a segment and a record are laid out byte by byte as documented") {
  testkit::temp_dir dir("wal");
  {
    auto log = open_writer(dir.path());
    CHECK(log->append(7, bytes("abc")).value() == 1);
  }
  const std::string f = read_file(dir.path() / "00000000000000000001.log");
  REQUIRE(f.size() == 64);  // header 32, record header 24, payload 3, padding 5
  CHECK(f.substr(0, 8) == "CTWALSEG");
  CHECK(le32(f, 8) == 1);    // format version
  CHECK(le32(f, 12) == 32);  // header bytes
  CHECK(le64(f, 16) == 1);   // first LSN
  CHECK(le32(f, 24) == 0);   // reserved
  CHECK(le32(f, 28) == cluster::crc32c(bytes(f.substr(0, 28))));
  CHECK(le32(f, 32) == 3);  // payload length
  CHECK(le64(f, 40) == 1);  // LSN
  CHECK(int(std::uint8_t(f[48])) == 7);
  CHECK(f.substr(49, 7) == std::string(7, '\0'));
  CHECK(f.substr(56, 3) == "abc");
  CHECK(f.substr(59, 5) == std::string(5, '\0'));
  // The checksum covers the length, then LSN, type, reserved bytes and payload.
  CHECK(le32(f, 36) ==
        cluster::crc32c(bytes(f.substr(40, 19)), cluster::crc32c(bytes(f.substr(32, 4)))));
  CHECK(wal::record_bytes(0) == 24);
  CHECK(wal::record_bytes(1) == 32);
  CHECK(wal::record_bytes(8) == 32);
  CHECK(wal::record_bytes(6144) == 6168);
}

TEST_CASE("wal: append, reopen and iterate give the exact records and LSNs") {
  testkit::temp_dir dir("wal");
  {
    auto log = open_writer(dir.path());
    CHECK(log->next_lsn() == 1);
    for (int i = 1; i <= 5; ++i)
      CHECK(log->append(std::uint8_t(i % 2 + 1), bytes("record " + std::to_string(i))).value() ==
            std::uint64_t(i));
    CHECK(log->append(3, {}).value() == 6);  // an empty payload is a record too
    const auto s = log->stats();
    CHECK(s.records == 6);
    CHECK(s.bytes == 5 * 32 + 24);
    CHECK(s.written_lsn == 6);
    CHECK(s.durable_lsn == 0);  // nothing is synced without group commit
    CHECK(s.syncs == 0);
  }
  collected seen;
  auto o = wal::writer::open(dir.path(), {}, 0, seen.visitor());
  REQUIRE(o.has_value());
  CHECK(seen.records == std::vector<std::string>{"1:2:record 1", "2:1:record 2", "3:2:record 3",
                                                 "4:1:record 4", "5:2:record 5", "6:3:"});
  CHECK(o->recovery.segments == 1);
  CHECK(o->recovery.records == 6);
  CHECK(o->recovery.first_lsn == 1);
  CHECK(o->recovery.last_lsn == 6);
  CHECK(o->recovery.next_lsn == 7);
  CHECK_FALSE(o->recovery.cut.has_value());
  CHECK(o->log->append(1, bytes("after reopen")).value() == 7);
  o->log.reset();

  collected from5;
  auto r = wal::scan(dir.path(), 5, from5.visitor());
  REQUIRE(r.has_value());
  CHECK(from5.records == std::vector<std::string>{"5:2:record 5", "6:3:", "7:1:after reopen"});
  CHECK(r->records == 7);
  CHECK(r->last_lsn == 7);
}

TEST_CASE("wal: segments roll at the configured size and iteration crosses them") {
  testkit::temp_dir dir("wal");
  auto log = open_writer(dir.path(), small_segments());
  for (int i = 1; i <= 7; ++i)
    CHECK(log->append(1, bytes("payload-" + std::to_string(i) + "!")).value() == std::uint64_t(i));
  CHECK(log->segment_count() == 4);
  CHECK(log->stats().segments_rolled == 3);
  CHECK(segment_names(dir.path()) ==
        std::vector<std::string>{"00000000000000000001.log", "00000000000000000003.log",
                                 "00000000000000000005.log", "00000000000000000007.log"});
  CHECK(fs::file_size(dir.path() / "00000000000000000003.log") == two_records_per_segment);
  collected from4;
  auto r = wal::scan(dir.path(), 4, from4.visitor());
  REQUIRE(r.has_value());
  CHECK(from4.records == std::vector<std::string>{"4:1:payload-4!", "5:1:payload-5!",
                                                  "6:1:payload-6!", "7:1:payload-7!"});
  CHECK(r->segments == 4);
  CHECK(r->records == 7);
  CHECK(r->first_lsn == 1);
  CHECK(r->last_lsn == 7);
  // Segment 1 was not read (wholly below LSN 4); the other three were.
  CHECK(r->bytes_read == 2 * two_records_per_segment + 32 + 40);
  // A record larger than a segment gets a segment of its own.
  CHECK(log->append(2, bytes(std::string(200, 'x'))).value() == 8);
  CHECK(log->append(2, bytes("0123456789")).value() == 9);
  CHECK(log->segment_count() == 6);
}

TEST_CASE("wal: release_before removes only the segments wholly below the LSN") {
  testkit::temp_dir dir("wal");
  auto log = open_writer(dir.path(), small_segments());
  for (int i = 1; i <= 7; ++i) REQUIRE(log->append(1, bytes("0123456789")).has_value());
  CHECK(log->release_before(4).value() == 1);  // segment 3 holds LSN 3, below 4, and 4: kept
  CHECK(log->release_before(5).value() == 1);
  CHECK(segment_names(dir.path()) ==
        std::vector<std::string>{"00000000000000000005.log", "00000000000000000007.log"});
  collected all;
  auto r = wal::scan(dir.path(), 0, all.visitor());
  REQUIRE(r.has_value());
  CHECK(all.records ==
        std::vector<std::string>{"5:1:0123456789", "6:1:0123456789", "7:1:0123456789"});
  CHECK(r->first_lsn == 5);
  // The segment being written is never removed.
  CHECK(log->release_before(100).value() == 1);
  CHECK(segment_names(dir.path()) == std::vector<std::string>{"00000000000000000007.log"});
  CHECK(log->append(1, bytes("0123456789")).value() == 8);
}

TEST_CASE("wal: a torn tail is cut at the last whole record") {
  // Three 40-byte records after the 32-byte header: whole records end at 72, 112 and 152.
  struct tear {
    std::uint64_t size;
    std::uint64_t records_kept;
    std::uint64_t bytes_cut;
  };
  for (const tear t : {tear{151, 2, 39}, tear{140, 2, 28}, tear{117, 2, 5}, tear{113, 2, 1},
                       tear{112, 2, 0}, tear{100, 1, 28}, tear{33, 0, 1}, tear{32, 0, 0}}) {
    CAPTURE(t.size);
    testkit::temp_dir dir("wal");
    const auto file = dir.path() / "00000000000000000001.log";
    {
      auto log = open_writer(dir.path());
      for (int i = 1; i <= 3; ++i) REQUIRE(log->append(1, bytes("0123456789")).has_value());
    }
    fs::resize_file(file, t.size);
    // A read-only scan reports the tear and leaves the file alone.
    auto s = wal::scan(dir.path(), 0, {});
    REQUIRE(s.has_value());
    CHECK(s->records == t.records_kept);
    CHECK(s->cut.has_value() == (t.bytes_cut > 0));
    CHECK(fs::file_size(file) == t.size);

    auto o = wal::writer::open(dir.path(), {});
    REQUIRE(o.has_value());
    CHECK(o->recovery.records == t.records_kept);
    CHECK(o->recovery.last_lsn == t.records_kept);
    if (t.bytes_cut > 0) {
      REQUIRE(o->recovery.cut.has_value());
      CHECK(o->recovery.cut->bytes == t.bytes_cut);
      CHECK(o->recovery.cut->offset == 32 + 40 * t.records_kept);
      CHECK(o->recovery.cut->file == file);
    } else {
      CHECK_FALSE(o->recovery.cut.has_value());
    }
    CHECK(fs::file_size(file) == 32 + 40 * t.records_kept);
    CHECK(o->log->append(1, bytes("after tear")).value() == t.records_kept + 1);
    o->log.reset();
    auto again = wal::scan(dir.path(), 0, {});
    REQUIRE(again.has_value());
    CHECK(again->records == t.records_kept + 1);
    CHECK_FALSE(again->cut.has_value());
  }
}

TEST_CASE("wal: garbage or zeros after the last whole record are cut") {
  for (const std::string& junk : {std::string(13, '\xAB'), std::string(4096, '\0'),
                                  std::string("\x05\0\0\0garbage that is not a record", 33)}) {
    CAPTURE(junk.size());
    testkit::temp_dir dir("wal");
    const auto file = dir.path() / "00000000000000000001.log";
    {
      auto log = open_writer(dir.path());
      for (int i = 1; i <= 3; ++i) REQUIRE(log->append(1, bytes("0123456789")).has_value());
    }
    append_file(file, junk);
    auto o = wal::writer::open(dir.path(), {});
    REQUIRE(o.has_value());
    CHECK(o->recovery.records == 3);
    REQUIRE(o->recovery.cut.has_value());
    CHECK(o->recovery.cut->bytes == junk.size());
    CHECK(o->recovery.cut->offset == 152);
    CHECK(fs::file_size(file) == 152);
    CHECK(o->log->append(1, bytes("next")).value() == 4);
  }
}

TEST_CASE("wal: a last segment whose header is cut short is removed and the log goes on") {
  testkit::temp_dir dir("wal");
  {
    auto log = open_writer(dir.path(), small_segments());
    for (int i = 1; i <= 3; ++i) REQUIRE(log->append(1, bytes("0123456789")).has_value());
  }
  // A roll cut short by a crash: the new segment holds part of its header.
  const auto torn = dir.path() / "00000000000000000004.log";
  write_file(torn, "CTWALSEG\x01");
  auto o = wal::writer::open(dir.path(), small_segments());
  REQUIRE(o.has_value());
  REQUIRE(o->recovery.cut.has_value());
  CHECK(o->recovery.cut->file == torn);
  CHECK(o->recovery.cut->bytes == 9);
  CHECK(o->recovery.records == 3);
  CHECK(o->log->append(1, bytes("0123456789")).value() == 4);  // beside LSN 3, in segment 3
  CHECK_FALSE(fs::exists(torn));
  CHECK(fs::file_size(dir.path() / "00000000000000000003.log") == two_records_per_segment);
}

TEST_CASE("wal: a corrupt record in an older segment is an error naming the file and offset") {
  testkit::temp_dir dir("wal");
  {
    auto log = open_writer(dir.path(), small_segments());
    for (int i = 1; i <= 5; ++i) REQUIRE(log->append(1, bytes("0123456789")).has_value());
  }
  const auto file = dir.path() / "00000000000000000003.log";
  std::string content = read_file(file);
  content[72 + 24 + 4] ^= 0x01;  // a payload byte of the second record (LSN 4)
  write_file(file, content);
  const std::string expected =
      "write-ahead log " + file.string() + " at offset 72: checksum mismatch";
  auto s = wal::scan(dir.path(), 0, {});
  REQUIRE_FALSE(s.has_value());
  CHECK(s.error().code == cluster::storage_errc::corrupt);
  CHECK(s.error().message == expected);
  collected seen;
  auto o = wal::writer::open(dir.path(), {}, 0, seen.visitor());
  REQUIRE_FALSE(o.has_value());
  CHECK(o.error().message == expected);
  CHECK(seen.records.size() == 3);  // visited up to the bad record, nothing cut
  CHECK(fs::file_size(file) == two_records_per_segment);
  // Replay from after the bad segment does not need it.
  auto after = wal::scan(dir.path(), 5, {});
  CHECK(after.has_value());
}

TEST_CASE("wal: a missing segment in the middle is an error") {
  testkit::temp_dir dir("wal");
  {
    auto log = open_writer(dir.path(), small_segments());
    for (int i = 1; i <= 5; ++i) REQUIRE(log->append(1, bytes("0123456789")).has_value());
  }
  fs::remove(dir.path() / "00000000000000000003.log");
  auto s = wal::scan(dir.path(), 0, {});
  REQUIRE_FALSE(s.has_value());
  CHECK(s.error().message == "write-ahead log " +
                                 (dir.path() / "00000000000000000005.log").string() +
                                 " at offset 0: segment starts at LSN 5 where 3 was expected "
                                 "(a segment is missing)");
}

TEST_CASE("wal: a write that fails for want of space is rolled back and the writer recovers") {
  testkit::temp_dir dir("wal");
  int out[2];
  REQUIRE(::pipe(out) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child: a file size limit of 172 bytes (room for three 40-byte records after the header
    // and half of a fourth); SIGXFSZ ignored so the write fails with EFBIG instead of killing us.
    ::close(out[0]);
    ::signal(SIGXFSZ, SIG_IGN);
    std::string report;
    {
      auto o = wal::writer::open(dir.path(), {});
      if (!o) ::_exit(2);
      auto& log = *o->log;
      rlimit limit{};
      ::getrlimit(RLIMIT_FSIZE, &limit);
      const rlim_t old_soft = limit.rlim_cur;
      limit.rlim_cur = 172;
      ::setrlimit(RLIMIT_FSIZE, &limit);
      for (int i = 1; i <= 3; ++i)
        report += "lsn " + std::to_string(log.append(1, bytes("0123456789")).value()) + "\n";
      auto failed = log.append(1, bytes("0123456789"));
      report += failed ? "appended\n" : "error " + failed.error().message + "\n";
      report +=
          "code " + std::to_string(failed ? -1 : static_cast<int>(failed.error().code)) + "\n";
      report +=
          "size " + std::to_string(fs::file_size(dir.path() / "00000000000000000001.log")) + "\n";
      auto again = log.append(1, bytes("0123456789"));
      report += again ? "appended\n" : "still failing\n";
      limit.rlim_cur = old_soft;  // space comes back
      ::setrlimit(RLIMIT_FSIZE, &limit);
      report += "lsn " + std::to_string(log.append(1, bytes("0123456789")).value()) + "\n";
      report += "append errors " + std::to_string(log.stats().append_errors) + "\n";
    }
    [[maybe_unused]] auto n = ::write(out[1], report.data(), report.size());
    ::_exit(0);
  }
  ::close(out[1]);
  std::string report;
  char buf[512];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) report.append(buf, std::size_t(n));
  ::close(out[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  const auto file = dir.path() / "00000000000000000001.log";
  CHECK(report == "lsn 1\nlsn 2\nlsn 3\nerror cannot append to " + file.string() +
                      ": File too large\ncode " +
                      std::to_string(static_cast<int>(cluster::storage_errc::file_too_large)) +
                      "\nsize 152\nstill failing\nlsn 4\nappend errors 2\n");
  collected seen;
  auto r = wal::scan(dir.path(), 0, seen.visitor());
  REQUIRE(r.has_value());
  CHECK(seen.records.size() == 4);
  CHECK(r->last_lsn == 4);
  CHECK_FALSE(r->cut.has_value());
}

TEST_CASE("wal: group commit makes every appended LSN durable, commits reported in LSN order") {
  testkit::temp_dir dir("wal");
  std::mutex mutex;
  std::vector<wal::commit_state> commits;
  wal::options opts;
  opts.segment_bytes = 4096;
  opts.group_commit = true;
  opts.on_commit = [&](const wal::commit_state& s) {
    std::lock_guard lock(mutex);
    commits.push_back(s);
  };
  auto o = wal::writer::open(dir.path(), opts);
  REQUIRE(o.has_value());
  auto& log = *o->log;
  const std::string payload(100, 'p');
  for (int i = 0; i < 300; ++i) {
    const auto lsn = log.append(1, bytes(payload));
    REQUIRE(lsn.has_value());
    CHECK(*lsn == std::uint64_t(i + 1));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (log.durable_lsn() < 300 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(log.durable_lsn() == 300);
  {
    std::lock_guard lock(mutex);
    REQUIRE_FALSE(commits.empty());
    CHECK(commits.back().durable_lsn == 300);
    int not_rising = 0, failed = 0;
    for (std::size_t i = 0; i < commits.size(); ++i) {
      if (i > 0 && commits[i].durable_lsn <= commits[i - 1].durable_lsn) ++not_rising;
      if (commits[i].failed) ++failed;
    }
    CHECK(not_rising == 0);
    CHECK(failed == 0);
  }
  const auto s = log.stats();
  CHECK(s.durable_lsn == 300);
  CHECK(s.written_lsn == 300);
  CHECK(s.syncs >= 1);
  CHECK(s.sync_errors == 0);
  CHECK(s.segments_rolled == 9);  // 31 records of 128 bytes fit a segment of 4096
  CHECK(s.sync_ns_p50 > 0);
  CHECK(s.sync_ns_p50 <= s.sync_ns_p99);
  CHECK(s.sync_ns_p99 <= s.sync_ns_max);
  // Reopened with group commit, the log starts durable at its last record.
  o->log.reset();
  opts.on_commit = {};
  auto again = wal::writer::open(dir.path(), opts);
  REQUIRE(again.has_value());
  CHECK(again->log->durable_lsn() == 300);
  CHECK(again->recovery.records == 300);
}
