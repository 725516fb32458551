#pragma once

// What the flow map and the heat maps share: the document, its titles, the projections of a map
// area, round scale ends, the colour scales, district outlines and text clipping. Every number is
// written with a fixed count of decimals, so that a map is as reproducible as the figures.

#include <functional>
#include <iosfwd>
#include <span>
#include <string>

#include "twin/city/city.hpp"

namespace twin::svg {

// A round number (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten) at or above v, for a scale's
// end; 1 when v is not positive. `tolerance` is relative: a value at most that far above a round
// number takes it, so that a value a rounding error above a round number does not double the
// scale. The flow map takes none, the heat maps 1e-12.
double nice_ceiling(double v, double tolerance = 0);

// Blue - white - red, t in [-1, 1] (clamped; not finite: white), as "#rrggbb".
std::string diverging(double t);
// ColorBrewer YlOrRd in 9 classes, interpolated; t in [0, 1] (clamped; not finite: 0).
std::string sequential(double t);

// `text` when it has at most `size_max` bytes, else its first size_max - 3 code points and "...".
std::string ellipsis(const std::string& text, std::size_t size_max);

// A point on the page.
struct point {
  double x = 0;
  double y = 0;
};

// Longitude and latitude onto a map area: equirectangular at the mean latitude of the frame.
struct lon_lat_projection {
  double lon0 = 0, lat1 = 0, scale = 1, cos_lat = 1, x0 = 0, y0 = 0;
  double x(lon_lat p) const { return x0 + (p.lon - lon0) * cos_lat * scale; }
  double y(lon_lat p) const { return y0 + (lat1 - p.lat) * scale; }
  point operator()(lon_lat p) const { return {x(p), y(p)}; }
};
// Frames `points` with a margin of 8 % of their extent (at least 0.002 degrees) in a map area of
// `width` (20 px aside) by `map_height` starting at `map_top`, centred horizontally.
lon_lat_projection fit_lon_lat(std::span<const lon_lat> points, double width, double map_top,
                               double map_height);

// Plane metres (x east, y north from the frame's south-west corner) onto a map area.
struct plane_projection {
  double x0 = 0, px = 1, map_top = 0, map_height = 0, west = 0, south = 0;
  double x(double metres_east) const { return x0 + (metres_east - west) * px; }
  double y(double metres_north) const { return map_top + map_height - (metres_north - south) * px; }
};
// Fits an extent of `extent_x` by `extent_y` metres whose south-west corner is (west, south) into
// `width` (20 px aside) and at most `map_height_max`, centred horizontally.
plane_projection fit_plane(double west, double south, double extent_x, double extent_y,
                           double width, double map_top, double map_height_max);

// The opening tag of a document of `width` x `height` px.
void open_document(std::ostream& os, double width, double height);
// A white page.
void page_background(std::ostream& os);
// The title and the subtitle at the top left.
void titles(std::ostream& os, const std::string& title, const std::string& subtitle);
// The path data of a district's polygons ("M x y L x y ... Z" per ring, 0.1 px).
std::string outline(const district& d, const std::function<point(lon_lat)>& to_page);

}  // namespace twin::svg
