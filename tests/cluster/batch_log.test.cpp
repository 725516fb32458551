#include "cluster/batch_log.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "cluster/codec.hpp"
#include "storage_test_dir.hpp"

namespace {

namespace fs = std::filesystem;

std::vector<std::byte> frame_of(const twin::batch_key& key, std::vector<twin::reading> readings) {
  cluster::encoder e;
  std::vector<std::byte> out;
  auto bytes = e.encode_batch(key, readings, out);
  return {bytes.begin(), bytes.end()};
}

struct replayed {
  std::vector<std::uint64_t> lsns;
  std::vector<twin::reading_batch> batches;
  cluster::batch_log::replay_fn fn() {
    return [this](std::uint64_t lsn, twin::reading_batch b) {
      lsns.push_back(lsn);
      batches.push_back(std::move(b));
    };
  }
};

fs::path only_segment(const fs::path& dir) {
  fs::path found;
  for (const auto& e : fs::directory_iterator(dir / "log")) found = e.path();
  return found;
}

}  // namespace

TEST_CASE("batch log: admitted batches come back in log order with their receive times") {
  testkit::temp_dir dir("batch-log");
  const auto a =
      frame_of({1, 2, 3}, {{twin::sensor_id{5}, 1000, 12.5}, {twin::sensor_id{7}, 1001, 3}});
  const auto b = frame_of({1, 2, 4}, {{twin::sensor_id{5}, 2000, -0.25}});
  {
    replayed none;
    auto log = cluster::batch_log::open(dir.path(), cluster::durability::process, 0, none.fn());
    REQUIRE_MESSAGE(log.has_value(), (log ? "" : log.error()));
    CHECK(none.batches.empty());
    CHECK((*log)->last_lsn() == 0);
    CHECK((*log)->append(1'700'000'000'123, a).value() == 1);
    CHECK((*log)->append(-5, b).value() == 2);
    CHECK((*log)->last_lsn() == 2);
    // The directory is held: a second opener is told who holds it.
    replayed other;
    auto second = cluster::batch_log::open(dir.path(), cluster::durability::process, 0, other.fn());
    REQUIRE_FALSE(second.has_value());
    CHECK(second.error().find("is in use by process " + std::to_string(::getpid())) !=
          std::string::npos);
  }
  replayed r;
  auto log = cluster::batch_log::open(dir.path(), cluster::durability::power, 0, r.fn());
  REQUIRE(log.has_value());
  REQUIRE(r.batches.size() == 2);
  CHECK(r.lsns == std::vector<std::uint64_t>{1, 2});
  CHECK(r.batches[0].key == twin::batch_key{1, 2, 3});
  CHECK(r.batches[0].received == 1'700'000'000'123);
  REQUIRE(r.batches[0].readings.size() == 2);
  CHECK(r.batches[0].readings[1].sensor == twin::sensor_id{7});
  CHECK(r.batches[0].readings[1].value == 3.0);
  CHECK(r.batches[1].received == -5);
  CHECK(r.batches[1].readings[0].value == -0.25);
  CHECK((*log)->recovery().batches == 2);
  CHECK((*log)->recovery().readings == 3);
  CHECK((*log)->last_lsn() == 2);
  // Reopened with group commit, what the log holds is durable from the start.
  CHECK((*log)->durable_lsn() == 2);
  CHECK((*log)->append(7, b).value() == 3);
  // From an LSN: only the records at or after it.
  log->reset();
  replayed tail;
  auto again = cluster::batch_log::open(dir.path(), cluster::durability::process, 3, tail.fn());
  REQUIRE(again.has_value());
  CHECK(tail.lsns == std::vector<std::uint64_t>{3});
  CHECK(tail.batches[0].received == 7);
}

TEST_CASE("batch log: a torn tail is cut and reported, the whole records replay") {
  testkit::temp_dir dir("batch-log");
  const auto a = frame_of({1, 1, 1}, {{twin::sensor_id{5}, 1000, 1}});
  {
    replayed none;
    auto log = cluster::batch_log::open(dir.path(), cluster::durability::process, 0, none.fn());
    REQUIRE(log.has_value());
    REQUIRE((*log)->append(10, a).has_value());
    REQUIRE((*log)->append(11, a).has_value());
  }
  const auto segment = only_segment(dir.path());
  const auto size = fs::file_size(segment);
  // A crash in the middle of the third record's write: half of it is there.
  {
    std::ofstream out(segment, std::ios::binary | std::ios::app);
    out << std::string(20, '\x07');
  }
  replayed r;
  auto log = cluster::batch_log::open(dir.path(), cluster::durability::process, 0, r.fn());
  REQUIRE(log.has_value());
  CHECK(r.batches.size() == 2);
  const auto& cut = (*log)->recovery().scan.cut;
  REQUIRE(cut.has_value());
  CHECK(cut->offset == size);
  CHECK(cut->bytes == 20);
  CHECK(fs::file_size(segment) == size);
  CHECK((*log)->append(12, a).value() == 3);
}

TEST_CASE("batch log: a record that is not a batch is an error naming the log and the LSN") {
  testkit::temp_dir dir("batch-log");
  {
    fs::create_directories(dir.path() / "log");
    auto opened = cluster::wal::writer::open(dir.path() / "log", {});
    REQUIRE(opened.has_value());
    const std::string junk = "not a batch at all, but long enough";
    REQUIRE(opened->log
                ->append(cluster::batch_record_type,
                         {reinterpret_cast<const std::byte*>(junk.data()), junk.size()})
                .has_value());
    REQUIRE(opened->log->append(9, std::span<const std::byte>()).has_value());
  }
  replayed r;
  auto log = cluster::batch_log::open(dir.path(), cluster::durability::process, 0, r.fn());
  REQUIRE_FALSE(log.has_value());
  CHECK(log.error().find((dir.path() / "log").string() + ": record 1 does not hold a batch") !=
        std::string::npos);
  // From LSN 2 on, the other record's type is named.
  auto from2 = cluster::batch_log::open(dir.path(), cluster::durability::process, 2, r.fn());
  REQUIRE_FALSE(from2.has_value());
  CHECK(from2.error().find("record 2 has type 9, this node writes only type 1") !=
        std::string::npos);
}

TEST_CASE("batch log: durability names") {
  CHECK(cluster::parse_durability("process") == cluster::durability::process);
  CHECK(cluster::parse_durability("power") == cluster::durability::power);
  CHECK_FALSE(cluster::parse_durability("fsync").has_value());
  CHECK(cluster::to_string(cluster::durability::power) == "power");
}

TEST_CASE("batch log: a log without segments starts after the snapshot it is restored from") {
  testkit::temp_dir dir("batch-log");
  const auto a = frame_of({1, 1, 1}, {{twin::sensor_id{5}, 1000, 1}});
  {
    replayed none;
    auto log = cluster::batch_log::open(dir.path(), cluster::durability::process, 43, none.fn());
    REQUIRE(log.has_value());
    CHECK((*log)->last_lsn() == 42);  // the log goes on after the snapshot's LSN
    CHECK((*log)->append(10, a).value() == 43);
  }
  CHECK(fs::exists(dir.path() / "log" / "00000000000000000043.log"));
  replayed r;
  auto log = cluster::batch_log::open(dir.path(), cluster::durability::process, 0, r.fn());
  REQUIRE(log.has_value());
  CHECK(r.lsns == std::vector<std::uint64_t>{43});
  CHECK((*log)->last_lsn() == 43);
}
