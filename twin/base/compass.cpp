#include "twin/base/compass.hpp"

#include <array>
#include <cctype>
#include <cmath>
#include <numbers>

#include "twin/base/csv.hpp"

namespace twin {

std::optional<double> compass_deg(std::string_view point) {
  static constexpr std::array<std::string_view, 16> points{"N",  "NNE", "NE", "ENE", "E",  "ESE",
                                                           "SE", "SSE", "S",  "SSW", "SW", "WSW",
                                                           "W",  "WNW", "NW", "NNW"};
  point = trim(point);
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto& p = points[i];
    bool same = p.size() == point.size();
    for (std::size_t k = 0; same && k < p.size(); ++k)
      same = std::toupper(static_cast<unsigned char>(point[k])) == p[k];
    if (same) return 22.5 * static_cast<double>(i);
  }
  return std::nullopt;
}

double mean_direction_deg(double east, double north) {
  double deg = std::atan2(east, north) * 180.0 / std::numbers::pi;
  if (deg < 0) deg += 360.0;
  return deg >= 360.0 ? 0.0 : deg;
}

double direction_east(double deg) {
  return std::sin(deg * std::numbers::pi / 180.0);
}

double direction_north(double deg) {
  return std::cos(deg * std::numbers::pi / 180.0);
}

}  // namespace twin
