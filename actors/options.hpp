#pragma once

#include <cstdint>
#include <iosfwd>

#include "twin/base/time.hpp"
#include "twin/live/district_state.hpp"
#include "twin/live/reading.hpp"

namespace actors {

struct runtime_options {
  twin::ingest_limits ingest_limits;
  twin::district_options district_options;
  // How often districts re-evaluate windows, staleness and alerts and publish their metrics.
  twin::time_ms tick_interval_ms = 1000;
  // A sensor cluster forwards the parts it holds to its district when its mailbox is empty, or
  // earlier when it holds this many readings or parts: under load a district gets few, large
  // messages, and the buffer stays small.
  std::uint32_t coalesce_readings_max = 8192;
  std::uint32_t coalesce_parts_max = 256;
  // How long the query service waits for a district before it gives up on that part of a query.
  // The ingest path has no timeout: every part is answered by the district it was sent to.
  twin::time_ms request_timeout_ms = 30 * twin::ms_per_second;
  // One line per raised or cleared alert; nullptr for none.
  std::ostream* alert_log = nullptr;
};

}  // namespace actors
