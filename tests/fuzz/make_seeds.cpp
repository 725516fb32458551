// Writes the seed corpus of the frame targets: valid frames of each kind as the encoder writes
// them, and a few that the decoder refuses (wrong version, truncated, trailing bytes, odd size).
// Usage: citytwin_fuzz_seeds <directory>; writes <directory>/<target>/<name>.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "twin/base/check.hpp"

namespace {

namespace fs = std::filesystem;
using bytes = std::vector<std::byte>;

void write(const fs::path& dir, const std::string& name, const bytes& b) {
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  TWIN_CHECK(out.good());
}

// The frame with its protocolVersion (the first field of the root struct, which the encoder
// places right after the segment table and the root pointer) set to `version`.
bytes with_version(bytes b, std::uint16_t version) {
  TWIN_CHECK_OP(b.size(), >=, 24u);
  b[16] = static_cast<std::byte>(version & 0xff);
  b[17] = static_cast<std::byte>(version >> 8);
  return b;
}

// The refused variants of a valid frame.
void write_refused(const fs::path& dir, const bytes& valid) {
  write(dir, "refused-truncated", bytes(valid.begin(), valid.end() - 8));
  auto trailing = valid;
  trailing.resize(trailing.size() + 8);
  write(dir, "refused-trailing-bytes", trailing);
  write(dir, "refused-odd-size", bytes(valid.begin(), valid.end() - 3));
  write(dir, "refused-wrong-version", with_version(valid, cluster::ingest_protocol_version + 1));
}

twin::reading at(std::uint32_t sensor, twin::time_ms ago_ms, double value) {
  return {twin::sensor_id{sensor}, fuzz::now_ms - ago_ms, value};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " <directory>\n";
    return 2;
  }
  const fs::path root = argv[1];
  cluster::encoder enc;
  cluster::decoder dec;
  bytes b;

  // Ingest batches: valid readings, and readings each validation rule refuses.
  const auto batch_dir = root / "ingest_batch";
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<std::pair<std::string, std::vector<twin::reading>>> batches = {
      {"empty", {}},
      {"valid", {at(10, 30'000, 31), at(11, 30'000, 72), at(12, 20'000, 12), at(20, 10'000, 40),
                 at(21, 5'000, 350), at(30, 1'000, 55), at(40, 0, 88)}},
      {"rejected", {at(99, 0, 1), at(11, 0, nan), at(11, 0, inf), at(11, 0, -5), at(11, 0, 1e9),
                    at(11, 8 * twin::ms_per_day, 5), at(11, -10 * twin::ms_per_minute, 5),
                    at(12, 0, 5), at(12, 0, 6), at(12, 60'000, 7)}},
      {"one-sensor-series", {at(10, 240'000, 50), at(10, 180'000, 45), at(10, 120'000, 20),
                             at(10, 60'000, 15), at(10, 0, 12)}},
  };
  for (const auto& [name, readings] : batches) {
    b.assign(0, {});
    auto frame = enc.encode_batch({7, 1, 1}, readings, b);
    bytes copy(frame.begin(), frame.end());
    TWIN_CHECK(dec.decode_batch(copy).has_value());
    write(batch_dir, name, copy);
    if (name == "valid") {
      write_refused(batch_dir, copy);
      auto refused = dec.decode_batch(with_version(copy, 2));
      TWIN_CHECK(!refused && refused.error().failure == cluster::decode_failure::wrong_version);
    }
  }

  // Acks: applied with rejections, and each refusal.
  const auto ack_dir = root / "ingest_ack";
  {
    twin::batch_ack ack;
    ack.key = {7, 1, 3};
    ack.accepted = 5;
    ack.rejected[twin::reject_reason::out_of_range] = 2;
    ack.rejected[twin::reject_reason::unknown_sensor] = 1;
    ack.credit = cluster::credit_default;
    enc.encode_ack(ack, b);
    TWIN_CHECK(dec.decode_ack(b).has_value());
    write(ack_dir, "applied", b);
    write_refused(ack_dir, b);
    for (std::size_t s = 1; s < twin::ack_status_count; ++s) {
      const auto status = static_cast<twin::ack_status>(s);
      auto refusal = ack;
      refusal.status = status;
      if (status != twin::ack_status::duplicate)
        refusal = twin::refusal_ack(ack.key, status, 12, std::string(twin::to_string(status)));
      enc.encode_ack(refusal, b);
      TWIN_CHECK(dec.decode_ack(b).has_value());
      write(ack_dir, std::string(twin::to_string(status)), b);
    }
  }

  // Query requests of each kind.
  const auto request_dir = root / "query_request";
  const std::vector<std::pair<std::string, twin::query_request>> requests = {
      {"city", twin::query_city{}},
      {"district", twin::query_district{"fatima"}},
      {"district-unknown", twin::query_district{"atlantis"}},
      {"sensor-key", twin::query_sensor{"f-pm25-a"}},
      {"sensor-id", twin::query_sensor{"21"}},
      {"sensor-unknown", twin::query_sensor{"4294967295"}},
  };
  for (const auto& [name, request] : requests) {
    enc.encode_query_request(42, request, b);
    TWIN_CHECK(dec.decode_query_request(b).has_value());
    write(request_dir, name, b);
    if (name == "district") write_refused(request_dir, b);
  }

  // Query replies of each kind, from a live state with readings and an alert in it.
  const auto reply_dir = root / "query_reply";
  fuzz::live_city live;
  live.apply({{7, 1, 1}, batches[1].second, {}, 0});
  live.apply({{7, 1, 2}, batches[2].second, {}, 0});
  const std::vector<std::pair<std::string, twin::query_reply>> replies = {
      {"city", live.answer(twin::query_city{})},
      {"district", live.answer(twin::query_district{"fatima"})},
      {"district-taipa", live.answer(twin::query_district{"taipa"})},
      {"sensor", live.answer(twin::query_sensor{"11"})},
      {"error", twin::query_error{"unknown district 'atlantis'"}},
  };
  for (const auto& [name, reply] : replies) {
    enc.encode_query_reply(42, reply, b);
    TWIN_CHECK(dec.decode_query_reply(b).has_value());
    write(reply_dir, name, b);
    if (name == "district") write_refused(reply_dir, b);
  }
  return 0;
}
