#include "twin/env/receptor_grid.hpp"

#include <doctest/doctest.h>

#include <string>

#include "env_fixture.hpp"

namespace {

using env_fixture::frame;
using env_fixture::rectangle;
using twin::env::xy;

}  // namespace

TEST_CASE("a square district of 1 km on a 100 m grid: 10 x 10 cells share its population") {
  twin::city c;
  c.name = "square";
  c.districts.push_back(rectangle(0, "square", -500, -500, 500, 500, 1000));
  c.index();
  // 1000 m + 2 x 80 m of margin = 1160 m: 12 cells a side, centred on the square, so that the
  // centres fall at -550, -450, ..., 550 and none on an edge of the district.
  auto g = twin::env::build_receptor_grid(c, {100, 80});
  REQUIRE(g.has_value());
  CHECK(g->columns == 12);
  CHECK(g->rows == 12);
  CHECK(g->size() == 144);
  CHECK(g->south_west.x == doctest::Approx(-600));
  CHECK(g->south_west.y == doctest::Approx(-600));
  REQUIRE(g->cells_of_district.size() == 1);
  CHECK(g->cells_of_district[0].size() == 100);
  double population = 0;
  std::size_t sea = 0;
  for (const auto& cell : g->cells) {
    population += cell.population;
    if (!cell.district) {
      ++sea;
      CHECK(cell.population == 0);
    } else {
      CHECK(cell.population == doctest::Approx(10.0));
      CHECK(std::abs(cell.centre.x) < 500);
      CHECK(std::abs(cell.centre.y) < 500);
    }
  }
  CHECK(sea == 44);
  CHECK(population == doctest::Approx(1000));
  // Row-major from the south-west: cell 13 is row 1, column 1, the district's south-west cell.
  CHECK(g->cells[13].centre.x == doctest::Approx(-450));
  CHECK(g->cells[13].centre.y == doctest::Approx(-450));
  CHECK(g->cells[13].district.has_value());
  CHECK(g->cells_of_district[0].front() == 13);
  // The frame's origin is the centre of the districts' bounding box.
  CHECK(g->frame.origin().lon == doctest::Approx(113.55).epsilon(1e-12));
  CHECK(g->frame.origin().lat == doctest::Approx(22.15).epsilon(1e-12));
  const auto corners = g->corners(13);
  CHECK(frame.to_xy(corners[0]).x == doctest::Approx(-500));
  CHECK(frame.to_xy(corners[2]).y == doctest::Approx(-400));
}

TEST_CASE("two districts: populations spread over their own cells, and a district of 0 people") {
  twin::city c;
  c.name = "halves";
  c.districts.push_back(rectangle(0, "west", -500, -500, 0, 500, 600));
  c.districts.push_back(rectangle(1, "east", 0, -500, 500, 500, 0));
  c.index();
  auto g = twin::env::build_receptor_grid(c, {100, 80});
  REQUIRE(g.has_value());
  CHECK(g->cells_of_district[0].size() == 50);
  CHECK(g->cells_of_district[1].size() == 50);
  for (auto i : g->cells_of_district[0]) {
    CHECK(g->cells[i].population == doctest::Approx(12.0));
    CHECK(g->cells[i].centre.x < 0);
  }
  for (auto i : g->cells_of_district[1]) CHECK(g->cells[i].population == 0);
}

TEST_CASE("a grid beyond the cell bound, a bad resolution or no district is refused") {
  twin::city c;
  c.name = "square";
  c.districts.push_back(rectangle(0, "square", -500, -500, 500, 500, 1000));
  c.index();
  auto fine = twin::env::build_receptor_grid(c, {1, 0.25});
  REQUIRE_FALSE(fine.has_value());
  CHECK(fine.error() ==
        "a grid of 1001 x 1001 cells at 1 m is above the bound of 250000 cells: use a coarser "
        "resolution");
  auto zero = twin::env::build_receptor_grid(c, {0, 0});
  REQUIRE_FALSE(zero.has_value());
  CHECK(zero.error() == "the grid resolution must be a positive number of metres");
  twin::city none;
  none.index();
  auto empty = twin::env::build_receptor_grid(none, {});
  REQUIRE_FALSE(empty.has_value());
  CHECK(empty.error() == "the city has no district with an area to lay a grid on");
}
