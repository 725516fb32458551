#include "actors/compute_system.hpp"

#include "actors/assignment.hpp"
#include "actors/environment.hpp"
#include "actors/own_system.hpp"

namespace actors {

struct compute_system::impl : own_system {
  using own_system::own_system;
};

compute_system::compute_system(std::size_t threads_max)
    : impl_(std::make_unique<impl>(threads_max)) {}

compute_system::~compute_system() = default;

twin::run_options compute_system::run_options() {
  twin::run_options options;
  options.solver = actor_solver(impl_->get());
  options.grid = actor_grid(impl_->get());
  return options;
}

}  // namespace actors
