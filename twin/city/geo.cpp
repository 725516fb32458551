#include "twin/city/geo.hpp"

#include <cmath>
#include <numbers>

namespace twin {

namespace {

constexpr double radians(double deg) {
  return deg * std::numbers::pi / 180.0;
}

bool ring_contains(const ring& r, lon_lat p) {
  bool inside = false;
  const std::size_t n = r.size();
  for (std::size_t i = 0, j = n - 1; i < n; j = i++) {
    const lon_lat& a = r[i];
    const lon_lat& b = r[j];
    if ((a.lat > p.lat) != (b.lat > p.lat)) {
      double lon_cross = (b.lon - a.lon) * (p.lat - a.lat) / (b.lat - a.lat) + a.lon;
      if (p.lon < lon_cross) inside = !inside;
    }
  }
  return inside;
}

// Signed spherical area of a ring (Chamberlain & Duquette, "Some algorithms for polygons on a
// sphere", 2007); an open ring is closed implicitly.
double ring_area_m2(const ring& r) {
  const std::size_t n = r.size();
  if (n < 3) return 0;
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const lon_lat& a = r[i];
    const lon_lat& b = r[(i + 1) % n];
    sum += radians(b.lon - a.lon) * (2 + std::sin(radians(a.lat)) + std::sin(radians(b.lat)));
  }
  return sum * earth_radius_m * earth_radius_m / 2;
}

}  // namespace

double haversine_m(lon_lat a, lon_lat b) {
  double dlat = radians(b.lat - a.lat);
  double dlon = radians(b.lon - a.lon);
  double h = std::sin(dlat / 2) * std::sin(dlat / 2) + std::cos(radians(a.lat)) *
                                                           std::cos(radians(b.lat)) *
                                                           std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * earth_radius_m * std::asin(std::min(1.0, std::sqrt(h)));
}

lon_lat midpoint(lon_lat a, lon_lat b) {
  return {(a.lon + b.lon) / 2, (a.lat + b.lat) / 2};
}

bool contains(const polygon& p, lon_lat point) {
  bool inside = false;
  for (const auto& r : p.rings)
    if (ring_contains(r, point)) inside = !inside;
  return inside;
}

bool contains(const std::vector<polygon>& multipolygon, lon_lat point) {
  for (const auto& p : multipolygon)
    if (contains(p, point)) return true;
  return false;
}

double area_km2(const polygon& p) {
  if (p.rings.empty()) return 0;
  double m2 = std::abs(ring_area_m2(p.rings.front()));
  for (std::size_t i = 1; i < p.rings.size(); ++i) m2 -= std::abs(ring_area_m2(p.rings[i]));
  return m2 / 1e6;
}

double area_km2(const std::vector<polygon>& multipolygon) {
  double km2 = 0;
  for (const auto& p : multipolygon) km2 += area_km2(p);
  return km2;
}

}  // namespace twin
