#pragma once

// Reads the live state of a running node into a twin::live_snapshot, the base of a scenario
// forked from the live twin. Only queries are sent: each is a read-only snapshot on the node, so
// its live ingest goes on untouched.

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "cluster/curve.hpp"
#include "twin/base/expected.hpp"
#include "twin/city/city.hpp"
#include "twin/live/services.hpp"
#include "twin/scenario/live_base.hpp"

namespace cluster {

// The whole read (the city, each district's links, each environment sensor) within this time.
inline constexpr int live_fetch_timeout_ms = 5000;
// At most this many queries per read: a bundle with more districts and environment sensors is
// refused rather than read for minutes.
inline constexpr std::size_t live_fetch_queries_max = 4096;

// Where the live state is read from: a node over ZeroMQ, or a runtime in this process (a node's
// snapshot file started as one, node/snapshot_base.hpp).
struct live_source {
  // Names the source in errors and becomes the snapshot's `node`.
  std::string name;
  // One query, answered within `timeout_ms` (at least 1); an error when it is not, or when the
  // query could not be sent.
  std::function<twin::expected<twin::query_reply, std::string>(const twin::query_request&,
                                                               int timeout_ms)>
      ask;
  // Appended to the error of a query that had no reply in time; may be empty.
  std::function<std::string()> timeout_hint;
};

// The live state of `source` as a snapshot for `bundle`, read as fetch_live_snapshot below reads
// a node's, with the same errors named after `source.name`.
twin::expected<twin::live_snapshot, std::string> fetch_live_snapshot(
    const live_source& source, const twin::city& bundle, int timeout_ms = live_fetch_timeout_ms);

// The node at `address` as a snapshot for `bundle`: its city view; the links of every district
// of its city view; the latest reading of every wind_speed, wind_direction, pm25 and no2 sensor
// of the bundle. When the node runs another city, the snapshot stops after the city's name, for
// twin::check_live_snapshot to name both. Errors: no answer within `timeout_ms`, an undecodable
// or wrong-version reply, or a query the node refused (named with the node's message).
twin::expected<twin::live_snapshot, std::string> fetch_live_snapshot(
    const std::string& address, const twin::city& bundle, int timeout_ms = live_fetch_timeout_ms,
    std::optional<curve_client_keys> curve = {});

}  // namespace cluster
