#pragma once

// Shared vocabulary of the environmental models: pollutants, atmospheric stability, weather and
// the local metric frame the dispersion works in. The models themselves live in emission.hpp
// (road traffic), noise.hpp, dispersion.hpp and env_scenario.hpp.

#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <optional>
#include <string_view>

#include "twin/city/city.hpp"

namespace twin::env {

// Pollutants the models carry. NOx is counted as NO2 mass (the convention of emission
// inventories); dispersed NOx becomes NO2 through a conversion ratio (see env_scenario.hpp).
enum class pollutant : std::uint8_t { nox, pm25, co2 };
inline constexpr std::size_t pollutant_count = 3;
std::string_view to_string(pollutant p);
std::optional<pollutant> parse_pollutant(std::string_view text);

// Mass per pollutant, indexed by pollutant (g, g/s, g/km, ... as the context says).
using per_pollutant = std::array<double, pollutant_count>;
inline constexpr std::size_t index(pollutant p) {
  return static_cast<std::size_t>(p);
}

// Pasquill-Gifford stability classes, A (very unstable) to F (moderately stable).
enum class stability : std::uint8_t { a, b, c, d, e, f };
inline constexpr std::size_t stability_count = 6;
char to_char(stability s);                                        // 'A'..'F'
std::optional<stability> parse_stability(std::string_view text);  // "A".."F", either case

// The weather a dispersion run assumes: one hour, steady and uniform over the city.
struct weather {
  double wind_speed_m_s = 3;   // at the 10 m reference height
  double wind_from_deg = 180;  // meteorological: where the wind blows FROM, clockwise from north
  stability stability_class = stability::d;
  double mixing_height_m = 800;  // the lid of the mixed layer
  double air_temperature_k = 293.15;
};

// East/north metres around an origin (equirectangular): errors well below 0.1 % over a city of
// 20 km, which is far below the uncertainty of any dispersion model.
struct xy {
  double x = 0;  // east, m
  double y = 0;  // north, m
};

class local_frame {
 public:
  local_frame() = default;
  explicit local_frame(lon_lat origin)
      : origin_(origin),
        m_per_deg_lat_(earth_m_per_deg),
        m_per_deg_lon_(earth_m_per_deg * std::cos(origin.lat * std::numbers::pi / 180.0)) {}

  xy to_xy(lon_lat p) const {
    return {(p.lon - origin_.lon) * m_per_deg_lon_, (p.lat - origin_.lat) * m_per_deg_lat_};
  }
  lon_lat to_lon_lat(xy p) const {
    return {origin_.lon + p.x / m_per_deg_lon_, origin_.lat + p.y / m_per_deg_lat_};
  }
  lon_lat origin() const { return origin_; }

 private:
  // 2 pi R / 360 with the mean earth radius (IUGG), as in geo.hpp.
  static constexpr double earth_m_per_deg = 6371008.8 * std::numbers::pi / 180.0;
  lon_lat origin_;
  double m_per_deg_lat_ = earth_m_per_deg;
  double m_per_deg_lon_ = earth_m_per_deg;
};

}  // namespace twin::env
