#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "twin/base/time.hpp"
#include "twin/city/city.hpp"
#include "twin/live/reading.hpp"

namespace bench {

// Readings that a node will accept: valid values from twin::synthetic_feed, every sensor
// reporting at a steady interval that ends just before `end_ms`, times strictly increasing per
// sensor. Each gateway owns a contiguous block of the city's sensors (as a gateway serves one
// area), so per-sensor order survives sending from several gateways at once.
struct feed_plan {
  std::vector<std::vector<twin::reading>> by_gateway;
  twin::time_ms interval_ms = 0;  // between two readings of one sensor
  twin::time_ms first_ms = 0;
  std::uint64_t total() const;
};

// The longest stretch of time a pre-generated feed covers, so that timestamps stay realistic
// and well inside the node's age limit.
inline constexpr twin::time_ms feed_span_ms_max = 6 * twin::ms_per_hour;

// How many of a city's `sensors` the gateway `g` of `gateways` owns in a feed_plan.
std::size_t sensors_of_gateway(std::size_t sensors, std::uint32_t gateways, std::uint32_t g);

feed_plan make_feed(const twin::city_ptr& city, std::uint64_t readings, std::uint32_t gateways,
                    twin::time_ms end_ms, std::uint64_t seed);

// An endless feed for one gateway, made on the fly so that memory does not grow with the number
// of readings sent: a few rounds of synthetic values for the gateway's sensors, replayed with
// times advancing by `interval_ms` per round.
class endless_feed {
 public:
  // Values for `rounds` rounds of the gateway's sensors are taken from `plan_source`, which must
  // hold readings of those sensors in round order (as make_feed produces them).
  endless_feed(std::span<const twin::reading> plan_source, std::size_t sensors,
               twin::time_ms first_ms, twin::time_ms interval_ms);

  // Fills `out` with the next `n` readings.
  void next(std::size_t n, std::vector<twin::reading>& out);

 private:
  std::vector<twin::reading> values_;  // rounds of readings, times relative to round 0
  std::size_t sensors_;
  std::size_t cursor_ = 0;   // into values_
  std::uint64_t round_ = 0;  // rounds completed since the start
  twin::time_ms first_ms_;
  twin::time_ms interval_ms_;
  twin::time_ms round_span_ms_;  // time covered by values_ once
};

}  // namespace bench
