#include "twin/feed/synth.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "twin/assign/bpr.hpp"
#include "twin/base/check.hpp"

namespace twin {

namespace {

// Per-reading AR(1) coefficient: successive readings of a sensor are strongly correlated, so the
// noise wanders smoothly instead of jumping.
constexpr double noise_phi = 0.98;
const double noise_innovation = std::sqrt(1.0 - noise_phi * noise_phi);

// The daily levels depend on time at the scale of minutes; recomputing them for every call of a
// hot loop that feeds millions of readings per second would be waste.
constexpr time_ms level_refresh_ms = 10 * ms_per_second;

// Bad readings are counted in parts per million so that their number is exact (no float drift).
constexpr std::uint64_t bad_scale = 1'000'000;

double bell(double h, double centre, double width) {
  double x = (h - centre) / width;
  return std::exp(-0.5 * x * x);
}

double logistic(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

// Road demand through the day as a share of capacity: a night floor, a daytime plateau and two
// rush-hour humps (08:30 and 18:30 local).
double traffic_demand(double h) {
  h = std::fmod(h + 24.0, 24.0);
  double plateau = logistic((h - 6.5) * 2.0) * logistic((22.5 - h) * 1.2);
  double d = 0.08 + 0.42 * plateau + 0.5 * bell(h, 8.5, 0.9) + 0.5 * bell(h, 18.5, 1.1);
  return std::min(d, 1.0);
}

// The flow at full demand as a share of capacity: the peaks run just below capacity.
constexpr double peak_flow_share = 0.97;

// Standard deviation of a speed reading's travel time around the BPR time, relative. The noise is
// bounded at +-3.46 sd (next_gaussian), so the speed's own scatter is at most 5.2 %. A link's
// speed and flow sensors report one after the other, and the flow may take one step of its own
// noise in between (an innovation of at most 0.69 sd, plus the small pull to the mean): about 5 %
// of the flow at most, under 3.5 % on the BPR time near capacity. Both together stay inside the
// live base's capacity tolerance, as sensor scatter should.
constexpr double speed_time_spread = 0.015;
constexpr double flow_step_allowance = 0.035;
static_assert((1 + 3.47 * speed_time_spread) * (1 + flow_step_allowance) <
              1 + live_capacity_tolerance_default);

// A cycle peaking at 15:00 local: the warmest hour and the strongest sea breeze.
double afternoon_cycle(double h) {
  return std::cos(2.0 * std::numbers::pi * (h - 15.0) / 24.0);
}

}  // namespace

namespace {

// The smallest id no sensor of the city has: the synthetic feed's "unknown sensor".
sensor_id first_free_id(const city& c) {
  std::uint32_t id_max = 0;
  for (const auto& s : c.sensors) id_max = std::max(id_max, s.id.value);
  std::vector<bool> used(c.sensors.empty() ? 1 : id_max + 2, false);
  for (const auto& s : c.sensors) used[s.id.value] = true;
  std::uint32_t free_id = 0;
  while (free_id < used.size() && used[free_id]) ++free_id;
  return sensor_id{free_id};
}

}  // namespace

synthetic_feed::synthetic_feed(city_ptr city, std::uint64_t seed, synth_options options)
    : city_(std::move(city)), options_(options), engine_(seed) {
  TWIN_REQUIRE(city_ != nullptr);
  TWIN_REQUIRE(options_.bad_share >= 0 && options_.bad_share <= 1);
  bad_ppm_ = static_cast<std::uint64_t>(std::llround(options_.bad_share * bad_scale));
  unknown_id_ = first_free_id(*city_);

  sensors_.reserve(city_->sensors.size());
  for (const auto& s : city_->sensors) {
    // One uniform, then one gaussian per sensor, in the city's order: the stream of a seed.
    const double u = static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0);  // [0, 1)
    sensor_params p = params_for(s, *city_, u);
    p.noise = next_gaussian();
    p.last_time_ms = std::numeric_limits<time_ms>::min();
    sensors_.push_back(p);
  }
  pair_speeds_with_flows();
}

synthetic_feed::sensor_params synthetic_feed::params_for(const sensor& s, const city& c, double u) {
  double free_kmh = 50;
  double capacity_veh_h = 1800;
  double lanes = 1;
  if (s.link && s.link->value < c.links.size()) {
    const auto& l = c.links[s.link->value];
    if (l.free_speed_kmh > 0) free_kmh = l.free_speed_kmh;
    lanes = std::max<std::uint32_t>(l.lanes, 1);
    capacity_veh_h = l.capacity_veh_h > 0 ? l.capacity_veh_h : 1800 * lanes;
  }
  auto range = plausible_range(s.kind);
  sensor_params p;
  p.id = s.id;
  p.kind = s.kind;
  p.lo = range.min;
  p.hi = range.max;
  switch (s.kind) {
    case sensor_kind::traffic_speed:
      // See speed_value: gain is the free speed, relative_spread that of the travel time.
      p.gain = free_kmh;
      p.relative_spread = speed_time_spread;
      p.capacity_veh_h = capacity_veh_h;
      p.lo = std::max(range.min, 2.0);
      p.hi = std::min(range.max, 1.15 * free_kmh);
      break;
    case sensor_kind::traffic_flow:
      p.gain = peak_flow_share * capacity_veh_h;
      p.relative_spread = 0.06;
      p.hi = std::min(range.max, 1.1 * capacity_veh_h);
      break;
    case sensor_kind::traffic_occupancy:
      // Occupancy = density x effective vehicle length (6.5 m) per lane, with density =
      // flow / speed: the level is the demand times the BPR travel time ratio.
      p.gain = 0.65 * peak_flow_share * capacity_veh_h / (free_kmh * lanes);
      p.relative_spread = 0.08;
      p.hi = std::min(range.max, 95.0);
      break;
    default:
      set_ambient(p, s, u);
      break;
  }
  return p;
}

void synthetic_feed::set_ambient(sensor_params& p, const sensor& s, double u) {
  const auto range = plausible_range(s.kind);
  switch (s.kind) {
    case sensor_kind::pm25:
      p.offset = 8 + 6 * u;
      p.gain = 22;
      p.spread = 3;
      p.lo = 1;
      break;
    case sensor_kind::pm10:
      p.offset = 14 + 10 * u;
      p.gain = 35;
      p.spread = 5;
      p.lo = 2;
      break;
    case sensor_kind::no2:
      p.offset = 8 + 6 * u;
      p.gain = 55;
      p.spread = 5;
      p.lo = 1;
      break;
    case sensor_kind::co2:
      p.offset = 414 + 6 * u;
      p.gain = 55;
      p.spread = 4;
      p.lo = 400;
      break;
    case sensor_kind::noise:
      p.offset = 55 + 3 * u;
      p.gain = 16;
      p.spread = 1.5;
      p.lo = 35;
      p.hi = 95;
      break;
    case sensor_kind::wind_speed:
      p.offset = 2 + u;
      p.gain = 2;
      p.spread = 0.8;
      p.hi = 40;
      break;
    case sensor_kind::wind_direction:
      // South-easterly on average, turning with the afternoon sea breeze.
      p.offset = 125 + 20 * u;
      p.gain = 40;
      p.spread = 15;
      p.lo = -720;
      p.hi = 720;  // wrapped into [0, 360) after the noise is added
      break;
    case sensor_kind::temperature:
      p.offset = 25.5 + u;
      p.gain = 4;
      p.spread = 0.4;
      break;
    case sensor_kind::humidity:
      p.offset = 76 + 4 * u;
      p.gain = -12;  // the air is driest at the warmest hour
      p.spread = 3;
      p.lo = 30;
      break;
    case sensor_kind::visitors: {
      double capacity = s.capacity > 0 ? s.capacity : 500;
      p.gain = capacity;
      p.relative_spread = 0.08;
      p.spread = 0.005 * capacity;
      p.hi = std::min(range.max, 1.2 * capacity);
      break;
    }
    case sensor_kind::waste_fill:
      p.offset = 1 + 2 * u;
      p.gain = 75 + 20 * u;
      p.spread = 1.5;
      break;
    default:
      TWIN_CHECK(!"traffic kinds are set in params_for");
  }
}

void synthetic_feed::pair_speeds_with_flows() {
  std::vector<std::size_t> flow_of_link(city_->links.size(), no_flow_sensor);
  for (std::size_t i = 0; i < sensors_.size(); ++i) {
    const auto& link = city_->sensors[i].link;
    if (sensors_[i].kind == sensor_kind::traffic_flow && link &&
        link->value < flow_of_link.size() && flow_of_link[link->value] == no_flow_sensor)
      flow_of_link[link->value] = i;
  }
  for (std::size_t i = 0; i < sensors_.size(); ++i) {
    const auto& link = city_->sensors[i].link;
    if (sensors_[i].kind == sensor_kind::traffic_speed && link && link->value < flow_of_link.size())
      sensors_[i].flow_index = flow_of_link[link->value];
  }
}

double synthetic_feed::next_gaussian() {
  // Sum of four 16-bit uniforms (Irwin-Hall): close to normal, bounded at +-3.46, one engine
  // call per value, and the same on every platform.
  std::uint64_t r = engine_();
  double sum = static_cast<double>((r & 0xffff) + ((r >> 16) & 0xffff) + ((r >> 32) & 0xffff) +
                                   ((r >> 48) & 0xffff));
  constexpr double mean = 4 * 32767.5;
  constexpr double inv_sd = 1.0 / 37837.22725;  // 1 / (65536 / sqrt(3))
  return (sum - mean) * inv_sd;
}

void synthetic_feed::update_levels(time_ms t) {
  if (levels_valid_ && t >= level_time_ms_ && t - level_time_ms_ < level_refresh_ms) return;
  levels_valid_ = true;
  level_time_ms_ = t;
  time_ms local = t + static_cast<time_ms>(options_.utc_offset_minutes) * ms_per_minute;
  time_ms in_day = ((local % ms_per_day) + ms_per_day) % ms_per_day;
  double h = static_cast<double>(in_day) / static_cast<double>(ms_per_hour);

  double d = traffic_demand(h);
  // Particles lag traffic: they build up and linger for an hour or two.
  double d_lagged = traffic_demand(h - 1.5);
  double afternoon = afternoon_cycle(h);
  auto set = [this](sensor_kind k, double v) { level_[static_cast<std::size_t>(k)] = v; };
  set(sensor_kind::traffic_speed, 1.0);  // unused: see speed_value
  set(sensor_kind::traffic_flow, d);
  set(sensor_kind::traffic_occupancy, d * bpr_time_ratio(peak_flow_share * d, 1.0));
  set(sensor_kind::pm25, d_lagged);
  set(sensor_kind::pm10, d_lagged);
  set(sensor_kind::no2, d);
  set(sensor_kind::co2, d);
  set(sensor_kind::noise, d);
  set(sensor_kind::wind_speed, 0.5 + 0.5 * afternoon);
  set(sensor_kind::wind_direction, afternoon);
  set(sensor_kind::temperature, afternoon);
  set(sensor_kind::humidity, afternoon);
  // Sites fill from mid-morning and peak late afternoon into the evening.
  set(sensor_kind::visitors, 0.03 + 0.9 * bell(h, 17.0, 3.2));
  // Bins are emptied at 04:00 local and fill through the day.
  set(sensor_kind::waste_fill, std::fmod(h - 4.0 + 24.0, 24.0) / 24.0);
}

double synthetic_feed::level_value(const sensor_params& s) const {
  const double v =
      s.offset +
      s.gain * level_[static_cast<std::size_t>(s.kind)] * (1 + s.relative_spread * s.noise) +
      s.spread * s.noise;
  return std::clamp(v, s.lo, s.hi);
}

// The BPR speed at the flow the link's flow sensor reports (at its latest noise), so that a live
// base inverting a link's latest speed and flow finds the bundle's own capacity, give or take the
// speed's own noise on the travel time.
double synthetic_feed::speed_value(const sensor_params& s) const {
  const double v_c =
      s.flow_index != no_flow_sensor
          ? level_value(sensors_[s.flow_index]) / s.capacity_veh_h
          : peak_flow_share * level_[static_cast<std::size_t>(sensor_kind::traffic_flow)];
  const double time_ratio = bpr_time_ratio(v_c, 1.0) * (1 + s.relative_spread * s.noise);
  return std::clamp(s.gain / time_ratio, s.lo, s.hi);
}

reading synthetic_feed::make_reading(sensor_params& s, time_ms t) {
  time_ms time = t > s.last_time_ms ? t : s.last_time_ms + 1;
  s.last_time_ms = time;
  s.noise = noise_phi * s.noise + noise_innovation * next_gaussian();
  double v = s.kind == sensor_kind::traffic_speed ? speed_value(s) : level_value(s);
  if (s.kind == sensor_kind::wind_direction) {
    v = std::fmod(v, 360.0);
    if (v < 0) v += 360.0;
    if (v >= 360.0) v = 0;
  } else if (s.kind == sensor_kind::visitors) {
    v = std::round(v);
  }
  reading r{s.id, time, v};
  ++emitted_;

  if (bad_ppm_ > 0) {
    bad_credit_ += bad_ppm_;
    if (bad_credit_ >= bad_scale) {
      bad_credit_ -= bad_scale;
      switch (bad_rotation_++ % 3) {
        case 0:
          r.value = std::numeric_limits<double>::quiet_NaN();
          ++bad_.non_finite;
          break;
        case 1:
          r.value = plausible_range(s.kind).max * 2 + 1;
          ++bad_.out_of_range;
          break;
        default:
          r.sensor = unknown_id_;
          ++bad_.unknown_sensor;
          break;
      }
    }
  }
  return r;
}

void synthetic_feed::generate(time_ms t, std::size_t n, std::vector<reading>& out) {
  if (sensors_.empty()) return;
  update_levels(t);
  out.reserve(out.size() + n);
  for (std::size_t i = 0; i < n; ++i) {
    auto& s = sensors_[cursor_];
    if (++cursor_ == sensors_.size()) cursor_ = 0;
    out.push_back(make_reading(s, t));
  }
}

void synthetic_feed::sample_all(time_ms t, std::vector<reading>& out) {
  update_levels(t);
  out.reserve(out.size() + sensors_.size());
  for (auto& s : sensors_) out.push_back(make_reading(s, t));
}

}  // namespace twin
