#include "twin/live/snapshot.hpp"

#include <algorithm>
#include <cmath>

#include "twin/base/compass.hpp"

namespace twin {

bool is_live_environment_kind(sensor_kind k) {
  return k == sensor_kind::pm25 || k == sensor_kind::no2 || k == sensor_kind::wind_speed ||
         k == sensor_kind::wind_direction;
}

bool live_fresh(time_ms t, time_ms as_of, time_ms stale_after_ms) {
  return as_of - t <= stale_after_ms;
}

time_ms live_stale_after_ms(const city& bundle, const live_sensor& x,
                            std::optional<time_ms> stale_after_ms) {
  if (stale_after_ms) return *stale_after_ms;
  const sensor* s = bundle.find_sensor(x.key);
  // The snapshot was checked against the bundle; an unknown key gets its kind's bound.
  if (s == nullptr)
    return stale_after_cadences * bundle.cadence_ms[static_cast<std::size_t>(x.kind)];
  return bundle.stale_after_of(*s);
}

std::vector<time_ms> live_link_stale_after_ms(const city& bundle,
                                              std::optional<time_ms> stale_after_ms) {
  if (stale_after_ms) return std::vector<time_ms>(bundle.links.size(), *stale_after_ms);
  std::vector<time_ms> out(bundle.links.size(), 0);
  for (const auto& s : bundle.sensors)
    if (s.link && s.link->value < out.size())
      out[s.link->value] = std::max(out[s.link->value], bundle.stale_after_of(s));
  const time_ms speed = stale_after_cadences *
                        bundle.cadence_ms[static_cast<std::size_t>(sensor_kind::traffic_speed)];
  for (auto& b : out)
    if (b == 0) b = speed;
  return out;
}

std::optional<double> fresh_mean(const live_snapshot& s, sensor_kind kind, const city& bundle,
                                 std::optional<time_ms> stale_after_ms) {
  double sum = 0, east = 0, north = 0;
  std::size_t n = 0;
  for (const auto& x : s.sensors) {
    if (x.kind != kind || !x.reported || !std::isfinite(x.value) ||
        !live_fresh(x.time, s.as_of, live_stale_after_ms(bundle, x, stale_after_ms)))
      continue;
    ++n;
    sum += x.value;
    east += direction_east(x.value);
    north += direction_north(x.value);
  }
  if (n == 0) return std::nullopt;
  if (kind != sensor_kind::wind_direction) return sum / static_cast<double>(n);
  return mean_direction_deg(east, north);
}

}  // namespace twin
