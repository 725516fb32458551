#pragma once

// A node's live state as read by a query client: the part of it a scenario forks (link states,
// district indicators, every air-quality and wind sensor). A value, with no tie to the node.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "twin/base/time.hpp"
#include "twin/city/city.hpp"
#include "twin/live/views.hpp"

namespace twin {

// One link's latest traffic state on the node. NaN where the node has no reading of that kind
// (the query protocol's "no data"): a link may carry a speed without a flow.
struct live_link {
  std::string key;  // the link's key in the bundle
  double speed_kmh = no_value;
  double flow_veh_h = no_value;
  time_ms time = 0;  // of the link's newest reading
};

// One district's indicators, among them the 1-hour means of PM2.5 and NO2 (NaN without data).
struct live_district {
  std::string key;
  district_indicators indicators;
};

// The latest reading of one environmental sensor.
struct live_sensor {
  std::string key;
  sensor_kind kind = sensor_kind::pm25;
  std::string district;   // the district's key
  bool reported = false;  // false: the sensor has sent nothing yet (value NaN, time 0)
  double value = no_value;
  time_ms time = 0;
};

// The kinds whose every sensor the snapshot holds: air quality and wind.
bool is_live_environment_kind(sensor_kind k);

// A live state read from a node's snapshot file (through a runtime started from it) rather than
// from a running node.
struct live_snapshot_file {
  std::string file;       // as given: the scenario's `base.snapshot` or `--snapshot`
  std::uint64_t lsn = 0;  // every log record up to it is in the state
  time_ms taken_ms = 0;   // when the node took it: the state's as-of time
};

struct live_snapshot {
  std::string node;              // the address it was read from (the file, for a snapshot)
  std::string city_name;         // as the node names its city
  time_ms as_of = 0;             // the node's clock when it answered
  std::vector<live_link> links;  // links with at least one traffic reading
  std::vector<live_district> districts;
  std::vector<live_sensor> sensors;            // every sensor of an environment kind
  std::optional<live_snapshot_file> snapshot;  // set when read from a snapshot file
};

// Freshness of the live state, by the node's own rule: an observation at t is fresh when
// as_of - t <= its bound, the bound being `stale_after_ms` when set (one for every sensor), else
// the bundle's bound of the sensor (city::stale_after_of: 2 x its cadence).
time_ms live_stale_after_ms(const city& bundle, const live_sensor& x,
                            std::optional<time_ms> stale_after_ms);
// By link id: a link's bound is the largest of its traffic sensors' (the traffic_speed kind's for
// a link without one).
std::vector<time_ms> live_link_stale_after_ms(const city& bundle,
                                              std::optional<time_ms> stale_after_ms);
bool live_fresh(time_ms t, time_ms as_of, time_ms stale_after_ms);

// The mean of the fresh values of every sensor of `kind` (live_stale_after_ms); empty when none
// is fresh. Wind directions are averaged as unit vectors (the mean of 350 and 10 degrees is 0,
// not 180), in degrees [0, 360).
std::optional<double> fresh_mean(const live_snapshot& s, sensor_kind kind, const city& bundle,
                                 std::optional<time_ms> stale_after_ms);

}  // namespace twin
