#pragma once

// The live twin as the base of a scenario. A node's current state is read once (a query is a
// read-only snapshot, so its live ingest goes on untouched) into a `live_snapshot`; the bundle
// still gives the network and the OD matrix, and the snapshot perturbs them into the base the
// baseline and every variant start from:
//
//   (a) capacity: a link observed slower than free flow at a known flow is read as a link whose
//       capacity is lower than the bundle's (an incident, a lane closure, a blocked junction).
//       Inverting the BPR cost t = t0 (1 + b (q/c)^p) at the observed flow q and travel time
//       t = length / observed speed gives c_live = q / ((t/t0 - 1) / b)^(1/p). The link keeps
//       min(bundle capacity, c_live), never less than `capacity_floor_fraction` of the bundle's
//       (a near-standstill at a trickle of flow would otherwise close the link). A link at or
//       above its free speed keeps its capacity: the cost model has nothing to invert there.
//       Nor does a link whose observed time is within `capacity_tolerance` of the bundle's BPR
//       time at the observed flow: at low v/c the inversion is ill-conditioned (a speed 4 %
//       below free flow at night reads as a capacity cut of ~90 %), so sensor noise and ordinary
//       scatter around the curve must not pass for an incident. Such links are counted.
//   (b) demand: one city-wide factor f scales the OD matrix so that the bundle's own equilibrium
//       flows best match the observed flows in the least-squares sense:
//       f = sum(q_obs * q_model) / sum(q_model^2) over the fresh flow observations. The bundle's
//       matrix is one design period (Macau: the AM peak), so f is clamped to
//       [demand_factor_min, demand_factor_max]: from a quiet night to twice the period's demand;
//       the report says when the fit was clamped.
//
// Stale observations are ignored and counted: by the node's rule (live_stale_after_ms: each
// sensor 2 x its cadence; a link, the largest bound of its traffic sensors), or older than
// `stale_after_ms` before the snapshot's as-of time when that is set. A link's time on the wire is
// that of its newest reading (speed, flow or occupancy).
//
// The air-quality and wind parts of the snapshot (district 1-hour means, the latest value of
// every pm25, no2, wind_speed and wind_direction sensor) are not used by the transport model:
// they are there for the environmental models, as the background and the weather of a scenario
// that starts from the live twin (see `fresh_mean`).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "twin/assign/bpr.hpp"
#include "twin/base/expected.hpp"
#include "twin/base/time.hpp"
#include "twin/city/city.hpp"
#include "twin/live/snapshot.hpp"

namespace twin {

struct live_base_options {
  // Empty: each sensor's own bound (2 x its cadence), as the node judges staleness.
  std::optional<time_ms> stale_after_ms;
  double capacity_tolerance = live_capacity_tolerance_default;
  double capacity_floor_fraction = 0.05;
  double demand_factor_min = 0.1;
  double demand_factor_max = 2.0;
};

// One link whose capacity the live state lowered.
struct live_capacity_cut {
  link_id link;
  double observed_speed_kmh = 0;
  double observed_flow_veh_h = 0;
  double bundle_capacity_veh_h = 0;
  double inferred_capacity_veh_h = 0;  // c_live
  double capacity_veh_h = 0;           // applied: max(floor, min(bundle, c_live))
  bool at_floor = false;
};

struct live_base_report {
  std::string node;
  std::optional<live_snapshot_file> snapshot;  // the base is a snapshot file, not a running node
  std::string city_name;
  time_ms as_of = 0;
  std::size_t links_observed = 0;         // links the snapshot has a state for
  std::size_t links_stale = 0;            // ignored: older than the staleness bound
  std::optional<time_ms> stale_after_ms;  // empty: each sensor's own bound
  // Links slower than the bundle's BPR time at their observed flow, but by no more than the
  // tolerance: they keep the bundle's capacity.
  std::size_t links_within_tolerance = 0;
  double capacity_tolerance = 0;
  // Lowered capacities by increasing applied / bundle capacity (ties by link id).
  std::vector<live_capacity_cut> cuts;
  // The demand factor applied; empty when no fresh flow observation rests on a modelled flow.
  std::optional<double> demand_factor;
  double demand_factor_fit = no_value;  // least squares, before clamping
  std::size_t demand_links = 0;         // the links the fit rests on
  bool demand_clamped = false;
  double demand_factor_min = 0;
  double demand_factor_max = 0;
  // The environment as the sensors saw it: fresh_mean of each kind over the staleness bound;
  // empty without a fresh reading.
  std::size_t environment_sensors = 0;  // in the snapshot, reported or not
  std::optional<double> pm25_ug_m3;
  std::optional<double> no2_ug_m3;
  std::optional<double> wind_speed_m_s;
  std::optional<double> wind_from_deg;
};

struct live_base {
  city base;  // the bundle with the live capacities and the scaled demand
  live_base_report report;
};

enum class live_base_failure : std::uint8_t { city_mismatch, unknown_link, bad_value };

struct live_base_error {
  live_base_failure failure = live_base_failure::bad_value;
  std::string message;  // names the node, the city, the link or sensor and the field
};

// Checks that the snapshot describes this bundle: the same city name, link keys, district keys
// and sensor keys of the bundle, finite non-negative speeds and flows (NaN only as "no reading"),
// values for every sensor said to have reported.
expected<bool, live_base_error> check_live_snapshot(const city& bundle, const live_snapshot& s);

// The base a scenario starts from. `bundle_flow_veh_h` are the bundle's own equilibrium link
// flows (one per link), for the demand factor; empty: the demand is left as it is.
expected<live_base, live_base_error> apply_live_base(const city& bundle, const live_snapshot& s,
                                                     std::span<const double> bundle_flow_veh_h,
                                                     const live_base_options& options = {});

}  // namespace twin
