#pragma once

// The receptors of an environmental scenario: a regular grid of square cells over the city's
// districts, in the city's local metric frame (origin: the centre of the districts' bounding box).
//
// A cell belongs to the district whose polygon holds its centre, or to none (sea, or land outside
// every district): such cells are kept, for the maps, but carry no population and count in no
// exposure. The residents of a district are spread uniformly over its cells (population / cells):
// the census gives one figure per district and nothing finer, so this is the least assuming
// choice; it makes a district's population-weighted exposure the plain mean over its cells, and
// the city's the population-weighted mean of the districts'. A district whose census population is
// 0 (Macau's Cotai, whose residents the 2021 census counts in Coloane) has cells of population 0.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "twin/base/expected.hpp"
#include "twin/city/city.hpp"
#include "twin/env/types.hpp"

namespace twin::env {

// A bound on the grid (a 100 m grid over a 30 x 30 km city has 90,000 cells).
inline constexpr std::size_t grid_cells_max = 250'000;

struct grid_options {
  double resolution_m = 100;  // the side of a cell
  double margin_m = 500;      // added around the districts' bounding box on every side
};

struct receptor_cell {
  xy centre;         // in the grid's frame
  lon_lat position;  // the centre, WGS84
  std::optional<district_id> district;
  double population = 0;
};

struct receptor_grid {
  local_frame frame;
  double resolution_m = 0;
  std::uint32_t columns = 0;  // west to east
  std::uint32_t rows = 0;     // south to north
  xy south_west;              // the outer corner of cell 0
  // Row-major from the south-west corner: cell (row, column) = cells[row * columns + column].
  std::vector<receptor_cell> cells;
  // By district id: the indices of the district's cells, in increasing order.
  std::vector<std::vector<std::uint32_t>> cells_of_district;

  std::size_t size() const { return cells.size(); }
  // The four corners of a cell (south-west, south-east, north-east, north-west), WGS84.
  std::array<lon_lat, 4> corners(std::size_t cell) const;
  // The cell centres as receptors, in cell order.
  std::vector<xy> centres() const;
};

// Builds the grid of a city with districts. Errors: no district with an area, a resolution that is
// not positive, a negative margin, more than grid_cells_max cells.
expected<receptor_grid, std::string> build_receptor_grid(const city& c,
                                                         const grid_options& options = {});
// The same checks and the grid's frame and shape, without its cells (cheap: no polygon tests).
expected<receptor_grid, std::string> plan_receptor_grid(const city& c,
                                                        const grid_options& options = {});

}  // namespace twin::env
