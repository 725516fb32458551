#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "twin/city/city.hpp"
#include "twin/live/reading.hpp"

namespace twin {

struct synth_options {
  // Local time minus UTC, for the daily cycles (rush hours, sea breeze, bin collection).
  // Macau is UTC+8 all year.
  std::int32_t utc_offset_minutes = 8 * 60;
  // Share of readings made bad on purpose (demos, ingest tests): 0 = none. The bad readings come
  // in a fixed rotation of non-finite value, out-of-range value, unknown sensor id, and their
  // count after n readings is exactly floor(n * ppm / 1e6), with ppm = bad_share rounded to parts
  // per million.
  double bad_share = 0;
};

// How many bad readings of each kind a feed has emitted.
struct synth_bad_counts {
  std::uint64_t non_finite = 0;
  std::uint64_t out_of_range = 0;
  std::uint64_t unknown_sensor = 0;
  std::uint64_t total() const { return non_finite + out_of_range + unknown_sensor; }
};

// Realistic synthetic readings for every sensor of a city: daily cycles in local time plus smooth
// per-sensor noise. Road links follow the scenarios' cost model: a link's speed is the BPR speed
// (bpr_b, bpr_power, the link's capacity and free speed) at the flow its flow sensor reports,
// within a travel-time noise that stays inside the live base's capacity tolerance, and its
// occupancy is that flow over that speed. Deterministic for a seed on every platform: only the
// engine comes from the standard library (its output sequence is fully specified), the
// distributions are our own. Never emits two readings of one sensor at the same time: when asked
// for a time at or before a sensor's previous reading, that sensor's reading is placed 1 ms after
// the previous one.
class synthetic_feed {
 public:
  synthetic_feed(city_ptr city, std::uint64_t seed, synth_options options = {});

  // Appends n readings at (or just after) time t, round-robin over the sensors, continuing where
  // the previous call stopped.
  void generate(time_ms t, std::size_t n, std::vector<reading>& out);
  // Appends one reading per sensor, in city order.
  void sample_all(time_ms t, std::vector<reading>& out);

  std::size_t sensor_count() const { return sensors_.size(); }
  std::uint64_t emitted() const { return emitted_; }
  const synth_bad_counts& bad_counts() const { return bad_; }
  // The id used for readings of an unknown sensor: one that no sensor of the city has.
  sensor_id unknown_sensor_id() const { return unknown_id_; }

 private:
  // value = offset + gain * level[kind] * (1 + relative_spread * noise) + spread * noise,
  // clamped to [lo, hi]. Counts (flow, occupancy, visitors) vary in proportion to their level.
  struct sensor_params {
    sensor_id id;
    sensor_kind kind = sensor_kind::pm25;
    double offset = 0;
    double gain = 1;
    double relative_spread = 0;
    double spread = 0;
    double lo = 0;
    double hi = 0;
    double noise = 0;  // AR(1) state, unit variance
    // Traffic speed: the link's capacity and the index of its flow sensor in sensors_ (none: the
    // speed follows the noise-free flow of the daily demand).
    double capacity_veh_h = 0;
    std::size_t flow_index = no_flow_sensor;
    time_ms last_time_ms = 0;
    bool emitted = false;
  };

  static constexpr std::size_t no_flow_sensor = static_cast<std::size_t>(-1);

  void update_levels(time_ms t);
  // The clamped value of the generic formula at the sensor's current noise.
  double level_value(const sensor_params& s) const;
  double speed_value(const sensor_params& s) const;
  reading make_reading(sensor_params& s, time_ms t);
  double next_gaussian();
  static sensor_params params_for(const sensor& s, const city& c, double u);
  static void set_ambient(sensor_params& p, const sensor& s, double u);
  // A speed sensor follows the BPR time at the flow its link's (first) flow sensor reports.
  void pair_speeds_with_flows();

  city_ptr city_;
  synth_options options_;
  std::mt19937_64 engine_;
  std::vector<sensor_params> sensors_;
  std::array<double, sensor_kind_count> level_{};
  time_ms level_time_ms_ = -1;
  bool levels_valid_ = false;
  std::size_t cursor_ = 0;
  std::uint64_t emitted_ = 0;
  std::uint64_t bad_ppm_ = 0;  // bad_share in parts per million
  std::uint64_t bad_credit_ = 0;
  std::uint32_t bad_rotation_ = 0;
  synth_bad_counts bad_;
  sensor_id unknown_id_;
};

}  // namespace twin
