#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace bench {

struct raw_result {
  std::uint64_t frames = 0;
  std::uint64_t readings = 0;
  std::uint64_t bytes = 0;
  double seconds = 0;
  double frames_per_s() const { return seconds > 0 ? double(frames) / seconds : 0; }
  double readings_per_s() const { return seconds > 0 ? double(readings) / seconds : 0; }
};

// The reference for the ingest path: the same encoded frames pushed through ZeroMQ over TCP
// loopback from one thread to another (PUSH -> PULL), with nothing done to them on arrival.
// Sends `frames_total` frames, cycling through `frames`; each frame holds `readings_per_frame`.
raw_result run_raw_transport(const std::vector<std::vector<std::byte>>& frames,
                             std::uint64_t frames_total, std::uint32_t readings_per_frame);

}  // namespace bench
