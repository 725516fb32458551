#pragma once

#include <vector>

#include "twin/city/city.hpp"

// Plane-free geometry on WGS84 coordinates, good enough at city scale (errors well below 0.5%).
namespace twin {

// Mean earth radius (IUGG), the usual choice for haversine.
inline constexpr double earth_radius_m = 6371008.8;

// Great-circle distance.
double haversine_m(lon_lat a, lon_lat b);

// The point halfway along the segment, in degrees (fine for segments of a few kilometres).
lon_lat midpoint(lon_lat a, lon_lat b);

// Even-odd rule over every ring, so holes are excluded. Points exactly on an edge may go either
// way.
bool contains(const polygon& p, lon_lat point);
bool contains(const std::vector<polygon>& multipolygon, lon_lat point);

// Area on the sphere: outer ring minus holes, whatever the winding of the rings.
double area_km2(const polygon& p);
double area_km2(const std::vector<polygon>& multipolygon);

}  // namespace twin
