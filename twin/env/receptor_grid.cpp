#include "twin/env/receptor_grid.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "twin/city/geo.hpp"

namespace twin::env {

namespace {

struct box {
  double lon_min = 180, lon_max = -180, lat_min = 90, lat_max = -90;
  bool empty() const { return lon_min > lon_max; }
  void add(lon_lat p) {
    lon_min = std::min(lon_min, p.lon);
    lon_max = std::max(lon_max, p.lon);
    lat_min = std::min(lat_min, p.lat);
    lat_max = std::max(lat_max, p.lat);
  }
  bool holds(lon_lat p) const {
    return p.lon >= lon_min && p.lon <= lon_max && p.lat >= lat_min && p.lat <= lat_max;
  }
};

box box_of(const district& d) {
  box b;
  for (const auto& poly : d.area)
    if (!poly.rings.empty())
      for (const auto& p : poly.rings.front()) b.add(p);
  return b;
}

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

std::array<lon_lat, 4> receptor_grid::corners(std::size_t cell) const {
  TWIN_REQUIRE_OP(cell, <, cells.size());
  const double h = resolution_m / 2;
  const xy c = cells[cell].centre;
  return {frame.to_lon_lat({c.x - h, c.y - h}), frame.to_lon_lat({c.x + h, c.y - h}),
          frame.to_lon_lat({c.x + h, c.y + h}), frame.to_lon_lat({c.x - h, c.y + h})};
}

std::vector<xy> receptor_grid::centres() const {
  std::vector<xy> out;
  out.reserve(cells.size());
  for (const auto& c : cells) out.push_back(c.centre);
  return out;
}

expected<receptor_grid, std::string> plan_receptor_grid(const city& c,
                                                        const grid_options& options) {
  if (!(options.resolution_m > 0) || !std::isfinite(options.resolution_m))
    return unexpected{std::string("the grid resolution must be a positive number of metres")};
  if (!(options.margin_m >= 0) || !std::isfinite(options.margin_m))
    return unexpected{std::string("the grid margin must not be negative")};
  box all;
  std::vector<box> boxes;
  for (const auto& d : c.districts) {
    boxes.push_back(box_of(d));
    if (!boxes.back().empty()) {
      all.add({boxes.back().lon_min, boxes.back().lat_min});
      all.add({boxes.back().lon_max, boxes.back().lat_max});
    }
  }
  if (all.empty())
    return unexpected{std::string("the city has no district with an area to lay a grid on")};

  receptor_grid g;
  g.frame = local_frame({(all.lon_min + all.lon_max) / 2, (all.lat_min + all.lat_max) / 2});
  g.resolution_m = options.resolution_m;
  const xy sw = g.frame.to_xy({all.lon_min, all.lat_min});
  const xy ne = g.frame.to_xy({all.lon_max, all.lat_max});
  const double columns = std::ceil((ne.x - sw.x + 2 * options.margin_m) / options.resolution_m);
  const double rows = std::ceil((ne.y - sw.y + 2 * options.margin_m) / options.resolution_m);
  const double cells = std::max(columns, 1.0) * std::max(rows, 1.0);
  if (!(cells <= static_cast<double>(grid_cells_max)))
    return unexpected{"a grid of " + std::to_string(static_cast<long long>(columns)) + " x " +
                      std::to_string(static_cast<long long>(rows)) + " cells at " +
                      number_text(options.resolution_m) + " m is above the bound of " +
                      std::to_string(grid_cells_max) + " cells: use a coarser resolution"};
  g.columns = static_cast<std::uint32_t>(std::max(columns, 1.0));
  g.rows = static_cast<std::uint32_t>(std::max(rows, 1.0));
  // Centred on the frame's origin, so that the margin is the same on opposite sides.
  g.south_west = {-static_cast<double>(g.columns) * g.resolution_m / 2,
                  -static_cast<double>(g.rows) * g.resolution_m / 2};
  return g;
}

expected<receptor_grid, std::string> build_receptor_grid(const city& c,
                                                         const grid_options& options) {
  auto planned = plan_receptor_grid(c, options);
  if (!planned) return planned;
  receptor_grid g = std::move(*planned);
  std::vector<box> boxes;
  for (const auto& d : c.districts) boxes.push_back(box_of(d));

  g.cells.reserve(static_cast<std::size_t>(g.columns) * g.rows);
  g.cells_of_district.assign(c.districts.size(), {});
  for (std::uint32_t row = 0; row < g.rows; ++row) {
    for (std::uint32_t col = 0; col < g.columns; ++col) {
      receptor_cell cell;
      cell.centre = {g.south_west.x + (col + 0.5) * g.resolution_m,
                     g.south_west.y + (row + 0.5) * g.resolution_m};
      cell.position = g.frame.to_lon_lat(cell.centre);
      for (std::size_t d = 0; d < c.districts.size(); ++d) {
        if (!boxes[d].holds(cell.position) || !contains(c.districts[d].area, cell.position))
          continue;
        cell.district = c.districts[d].id;
        g.cells_of_district[d].push_back(static_cast<std::uint32_t>(g.cells.size()));
        break;
      }
      g.cells.push_back(cell);
    }
  }
  for (std::size_t d = 0; d < c.districts.size(); ++d) {
    const auto& ids = g.cells_of_district[d];
    if (ids.empty()) continue;
    const double each = c.districts[d].population / static_cast<double>(ids.size());
    for (auto i : ids) g.cells[i].population = each;
  }
  return g;
}

}  // namespace twin::env
