#pragma once

// One actor system for the computations of a command that runs no node (`scenario run`, the
// demo's what-ifs): the solves of the assignment and the receptor grids share its scheduler.

#include <cstddef>
#include <memory>

#include "twin/scenario/scenario.hpp"

namespace actors {

class compute_system {
 public:
  explicit compute_system(std::size_t threads_max);
  ~compute_system();
  compute_system(const compute_system&) = delete;
  compute_system& operator=(const compute_system&) = delete;

  // Run options whose solves (actors::solve_on_actors) and grids (actors::compute_on_actors) run
  // on this system; valid while this object lives.
  twin::run_options run_options();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace actors
