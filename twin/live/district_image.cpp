#include "twin/live/district_image.hpp"

#include <bit>

namespace twin {

bool same_bits(double a, double b) {
  return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

bool operator==(const sensor_image& a, const sensor_image& b) {
  return a.id == b.id && a.has_value == b.has_value && same_bits(a.value, b.value) &&
         a.time == b.time && a.readings == b.readings && a.times == b.times &&
         a.complete_from == b.complete_from;
}

bool operator==(const link_image& a, const link_image& b) {
  return a.link == b.link && same_bits(a.speed_kmh, b.speed_kmh) &&
         same_bits(a.flow_veh_h, b.flow_veh_h) && same_bits(a.occupancy_pct, b.occupancy_pct) &&
         a.speed_time == b.speed_time && a.flow_time == b.flow_time &&
         a.occupancy_time == b.occupancy_time;
}

bool operator==(const rule_image& a, const rule_image& b) {
  return a.key == b.key && a.firing == b.firing && a.since == b.since &&
         same_bits(a.value, b.value);
}

std::uint32_t district_image::sensors_reporting() const {
  std::uint32_t n = 0;
  for (const auto& s : sensors) n += s.has_value ? 1 : 0;
  return n;
}

std::uint64_t district_image::times_remembered() const {
  std::uint64_t n = 0;
  for (const auto& s : sensors) n += s.times.size();
  return n;
}

std::uint32_t district_image::alerts_active() const {
  std::uint32_t n = 0;
  for (const auto& r : rules) n += r.firing ? 1 : 0;
  return n;
}

}  // namespace twin
