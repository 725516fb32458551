// `citytwin snapshot inspect` on a snapshot file written here, and every way a file can be bad.

#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cluster/snapshot_file.hpp"
#include "node.hpp"
#include "process.hpp"
#include "twin/city/bundle.hpp"
#include "twin/city/fingerprint.hpp"
#include "twin/live/district_state.hpp"

using namespace std::chrono_literals;

namespace {

// A snapshot of the small bundle after a few readings in every district, and a part-less batch.
twin::node_snapshot test_snapshot(const twin::city_ptr& city) {
  twin::node_snapshot snap;
  snap.city = twin::identity_of(*city);
  snap.lsn = 4242;
  snap.taken_ms = 1'700'000'000'000;
  std::uint64_t sequence = 1;
  for (std::uint32_t d = 0; d < city->districts.size(); ++d) {
    twin::district_state state(city, twin::district_id{d});
    std::vector<twin::reading> readings;
    for (const auto* s : city->sensors_of(twin::district_id{d}))
      readings.push_back({s->id, snap.taken_ms - 1000, 10});
    state.apply({1, 1, sequence++}, readings, snap.taken_ms);
    state.apply({1, 1, sequence++}, readings, snap.taken_ms);  // duplicates
    snap.districts.push_back(state.image());
  }
  twin::batch_dedup partless(4096, 256);
  partless.check_and_record({9, 9, 1});
  snap.router = twin::router_image{partless.image(), 3};
  return snap;
}

std::vector<std::byte> bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(raw.size());
  std::memcpy(out.data(), raw.data(), raw.size());
  return out;
}

void write_bytes(const std::string& path, const std::vector<std::byte>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

twin::city_ptr small_bundle() {
  return std::make_shared<const twin::city>(twin::load_city(systest::small_city).value());
}

}  // namespace

TEST_CASE("snapshot inspect prints what a snapshot file holds, as a table and as JSON") {
  const auto dir = systest::make_temp_dir("snapshot-inspect");
  const auto city = small_bundle();
  const auto snap = test_snapshot(city);
  const auto file = dir + "/state.snap";
  auto written = cluster::write_snapshot_file(file, snap);
  REQUIRE(written.has_value());
  CHECK(*written == std::filesystem::file_size(file));
  CHECK_FALSE(std::filesystem::exists(file + ".tmp"));

  // Read back: the same images, and they fit the city.
  auto read = cluster::read_snapshot_file(file, *city);
  REQUIRE(read.has_value());
  CHECK(*read == snap);

  auto r = systest::run_cli(dir, "inspect", {"snapshot", "inspect", file}, 30s);
  CHECK(r.code == 0);
  CHECK(r.output.find("city        " + city->name + " " +
                      twin::fingerprint_text(snap.city.fingerprint)) != std::string::npos);
  CHECK(r.output.find("lsn         4242\n") != std::string::npos);
  CHECK(r.output.find("taken       2023-11-14T22:13:20.000Z\n") != std::string::npos);
  CHECK(r.output.find("router      1 part-less sessions, 3 readings of unknown sensors") !=
        std::string::npos);
  for (const auto& d : city->districts)
    CHECK(r.output.find("\n" + d.key + " ") != std::string::npos);

  auto j = systest::run_cli(dir, "inspect-json", {"snapshot", "inspect", file, "--json"}, 30s);
  CHECK(j.code == 0);
  auto doc = nlohmann::json::parse(j.output);
  CHECK(doc["city"] == city->name);
  CHECK(doc["lsn"] == 4242);
  CHECK(doc["bytes"] == *written);
  REQUIRE(doc["districts"].size() == city->districts.size());
  const auto& d0 = doc["districts"][0];
  const auto n0 = city->sensors_of(twin::district_id{0}).size();
  CHECK(d0["key"] == city->districts[0].key);
  CHECK(d0["sensors_reporting"] == n0);
  CHECK(d0["readings_applied"] == n0);
  CHECK(d0["late_readings_applied"] == 0);
  CHECK(d0["dedup_sessions"] == 1);
  CHECK(d0["times_remembered"] == n0);
  CHECK(d0["bytes"].get<std::uint64_t>() > 0);
  CHECK(doc["router"]["unknown_sensor_readings"] == 3);
}

TEST_CASE("snapshot inspect and the reader refuse a bad file, naming it and what is wrong") {
  const auto dir = systest::make_temp_dir("snapshot-bad");
  const auto city = small_bundle();
  const auto snap = test_snapshot(city);
  const auto good_file = dir + "/good.snap";
  REQUIRE(cluster::write_snapshot_file(good_file, snap).has_value());
  const auto good = bytes_of(good_file);

  auto refused = [&](const std::string& name, std::vector<std::byte> bytes) {
    const auto file = dir + "/" + name + ".snap";
    write_bytes(file, bytes);
    auto r = systest::run_cli(dir, name, {"snapshot", "inspect", file}, 30s);
    CHECK(r.code == 1);
    CHECK(r.errors.find("snapshot " + file + ": ") != std::string::npos);
    return r.errors;
  };

  CHECK(refused("short", {good.begin(), good.begin() + 10})
            .find("truncated: 10 bytes, the header alone is 24") != std::string::npos);
  auto bad = good;
  bad[0] = std::byte{'X'};
  CHECK(refused("magic", bad).find("bad magic at offset 0") != std::string::npos);
  bad = good;
  bad[8] = std::byte{7};
  CHECK(refused("version", bad).find("format version 7 at offset 8: this build reads version 1") !=
        std::string::npos);
  CHECK(refused("cut", {good.begin(), good.end() - 8})
            .find("truncated: the payload length at offset 16 is ") != std::string::npos);
  bad = good;
  bad[good.size() / 2] ^= std::byte{0x40};
  CHECK(refused("crc", bad).find("CRC-32C mismatch: the header at offset 12 says 0x") !=
        std::string::npos);
  auto missing = systest::run_cli(dir, "missing", {"snapshot", "inspect", dir + "/none"}, 30s);
  CHECK(missing.code == 1);
  CHECK(missing.errors.find("cannot open snapshot " + dir + "/none") != std::string::npos);

  // Against the city.
  auto read_error = [&](const twin::node_snapshot& s) {
    const auto file = dir + "/city.snap";
    REQUIRE(cluster::write_snapshot_file(file, s).has_value());
    auto r = cluster::read_snapshot_file(file, *city);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message.find("snapshot " + file + ": ") == 0);
    return r.error().message;
  };
  auto other = snap;
  other.city.fingerprint ^= 1;
  CHECK(read_error(other).find("field cityFingerprint " +
                               twin::fingerprint_text(other.city.fingerprint)) !=
        std::string::npos);
  other = snap;
  other.districts[0].key = "atlantis";
  CHECK(read_error(other).find("field districts[0]: district key 'atlantis' the city does not "
                               "have") != std::string::npos);
  other = snap;
  other.districts[0].sensors.back().id = twin::sensor_id{999'999};
  CHECK(read_error(other).find("field districts[0]: district '" + city->districts[0].key +
                               "': sensors[") != std::string::npos);
  // And with options the images do not fit.
  twin::district_options narrow;
  narrow.dedup_window_batches_max = 64;
  auto r = cluster::read_snapshot_file(good_file, *city, narrow);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message.find("dedup: window_batches_max 4096 where the memory has 64") !=
        std::string::npos);
}
