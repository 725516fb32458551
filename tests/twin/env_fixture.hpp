#pragma once

// Small synthetic cities for the environmental tests: rectangular districts laid out in metres
// around one fixed origin near Macau.

#include <cstdint>
#include <string>

#include "twin/city/city.hpp"
#include "twin/env/types.hpp"

namespace env_fixture {

inline const twin::env::local_frame frame({113.55, 22.15});

// A district whose outer ring is the rectangle [x0, x1] x [y0, y1] (metres in `frame`).
inline twin::district rectangle(std::uint32_t id, std::string key, double x0, double y0, double x1,
                                double y1, double population = 1000) {
  twin::district d;
  d.id = twin::district_id{id};
  d.key = key;
  d.name = key;
  d.population = population;
  twin::polygon p;
  p.rings.push_back({frame.to_lon_lat({x0, y0}), frame.to_lon_lat({x1, y0}),
                     frame.to_lon_lat({x1, y1}), frame.to_lon_lat({x0, y1}),
                     frame.to_lon_lat({x0, y0})});
  d.area.push_back(p);
  return d;
}

}  // namespace env_fixture
