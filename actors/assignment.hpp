#pragma once

// Traffic assignment on the actor system: one worker actor per part of the origins (the scenario
// engine makes a part of each district's zones), driven by a coordinator actor. The rounds follow
// twin::assign::round_driver, as solve() does, so the result is solve()'s, bit for bit: bush
// updates and gap measurements run in the workers, flow shifting stays in the coordinator.

#include <caf/fwd.hpp>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "twin/assign/assignment.hpp"

namespace actors {

// Blocks until the solve ends. `part_of_origin` gives the part of every origin slot of `trips`
// (one worker actor per part, parts without origins included). The actors are spawned for this
// solve and stopped before returning.
twin::assign::solution solve_on_actors(caf::actor_system& sys, const twin::assign::network& net,
                                       const twin::assign::demand& trips,
                                       const twin::assign::solver_options& options,
                                       std::vector<std::uint32_t> part_of_origin,
                                       const twin::assign::solution* warm_start = nullptr);

// solve_on_actors() on `sys` as a twin::assign::solve_function; `sys` must outlive it.
twin::assign::solve_function actor_solver(caf::actor_system& sys);

}  // namespace actors
