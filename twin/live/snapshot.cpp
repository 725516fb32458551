#include "twin/live/snapshot.hpp"

#include <cmath>
#include <numbers>

namespace twin {

bool is_live_environment_kind(sensor_kind k) {
  return k == sensor_kind::pm25 || k == sensor_kind::no2 || k == sensor_kind::wind_speed ||
         k == sensor_kind::wind_direction;
}

namespace {

bool fresh(time_ms t, time_ms as_of, time_ms stale_after_ms) {
  return t >= as_of - stale_after_ms;
}

}  // namespace

std::optional<double> fresh_mean(const live_snapshot& s, sensor_kind kind, time_ms stale_after_ms) {
  double sum = 0, east = 0, north = 0;
  std::size_t n = 0;
  for (const auto& x : s.sensors) {
    if (x.kind != kind || !x.reported || !std::isfinite(x.value) ||
        !fresh(x.time, s.as_of, stale_after_ms))
      continue;
    ++n;
    sum += x.value;
    const double rad = x.value * std::numbers::pi / 180.0;
    east += std::sin(rad);
    north += std::cos(rad);
  }
  if (n == 0) return std::nullopt;
  if (kind != sensor_kind::wind_direction) return sum / static_cast<double>(n);
  double deg = std::atan2(east, north) * 180.0 / std::numbers::pi;
  if (deg < 0) deg += 360.0;
  return deg >= 360.0 ? 0.0 : deg;
}

}  // namespace twin
