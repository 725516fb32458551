#pragma once

// The receptor grid of an environmental scenario on the actor system: the cells belong to their
// district, and one worker actor per district (plus one for the cells in no district, the sea)
// computes its own cells from the broadcast sources. Every cell's value is the single-threaded
// twin::env::disperse_on_grid()'s, bit for bit: a receptor's sum runs over the same sources in the
// same order whoever computes it, and each worker writes only its own cells.

#include <array>
#include <caf/fwd.hpp>
#include <cstddef>
#include <span>

#include "twin/scenario/environment.hpp"

namespace actors {

// Blocks until every cell is computed; adds into `out` as twin::env::disperse() does. The actors
// are spawned for this call and stopped before it returns.
void compute_on_actors(caf::actor_system& sys, const twin::env::weather& w,
                       const twin::env::dispersion_options& options,
                       std::span<const twin::env::point_emitter> points,
                       std::span<const twin::env::line_emitter> lines,
                       const twin::env::receptor_grid& grid,
                       std::array<std::span<double>, twin::env::pollutant_count> out);

// compute_on_actors() on `sys` as a twin::env::grid_function; `sys` must outlive it.
twin::env::grid_function actor_grid(caf::actor_system& sys);

}  // namespace actors
