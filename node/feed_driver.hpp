#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "cluster/gateway.hpp"
#include "twin/base/time.hpp"
#include "twin/city/city.hpp"
#include "twin/feed/csv_replay.hpp"
#include "twin/feed/synth.hpp"

namespace node {

struct feed_config {
  std::string to;  // the node's ingest endpoint
  std::uint64_t gateway_id = 1;
  std::optional<std::uint64_t> session;
  std::size_t batch_readings = 256;
  double rate_per_s = 0;    // readings per second; 0: as fast as the node acks
  std::uint64_t count = 0;  // readings to send; 0: no limit (synthetic) or the whole file
  double seconds = 0;       // stop after this long; 0: no limit
  // Synthetic streams.
  std::uint64_t seed = 1;
  double bad_share = 0;  // share of deliberately bad readings (NaN, out of range, unknown)
  std::int32_t utc_offset_minutes = 480;
  double backfill_hours = 0;  // first send this much history, one sample per sensor per minute
  // Replay.
  std::optional<std::filesystem::path> replay;
  std::filesystem::path mapping;
  std::string time_column;
  std::int32_t replay_utc_offset_minutes = 0;
  double speed = 0;        // x real time; 0: full speed
  bool keep_time = false;  // keep the file's timestamps instead of rebasing them to now
  std::size_t bad_rows_max = 0;
  int flush_timeout_ms = 60000;
  // CURVE keys for a node that requires them; none: plain TCP.
  std::optional<cluster::curve_client_keys> curve;
};

struct feed_summary {
  cluster::gateway_stats gateway;
  twin::replay_stats replay;
  twin::synth_bad_counts injected;
  double elapsed_s = 0;
  std::uint64_t readings = 0;  // handed to the gateway
  std::string error;           // empty on success
};

// Runs a feed against a node until the count, the time or the file is exhausted, or
// `keep_going` returns false. Sends through cluster::gateway (credit, resend) and waits for every
// ack before returning. `progress` (may be empty) is called about once a second.
feed_summary run_feed(const twin::city_ptr& city, const feed_config& config,
                      const twin::clock& clock, const std::function<bool()>& keep_going,
                      const std::function<void(const feed_summary&)>& progress);

}  // namespace node
