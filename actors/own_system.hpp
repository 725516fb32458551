#pragma once

// An actor system owned by one object (a solver, a grid computation) rather than by a node, with
// a bound on its scheduler's threads.

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <cstddef>

namespace actors {

class own_system {
 public:
  explicit own_system(std::size_t threads_max) : sys_(configure(cfg_, threads_max)) {}

  caf::actor_system& get() { return sys_; }

 private:
  static caf::actor_system_config& configure(caf::actor_system_config& cfg, std::size_t threads) {
    cfg.set("scheduler.max-threads", threads);
    return cfg;
  }

  caf::actor_system_config cfg_;  // declared first: the system keeps a reference to it
  caf::actor_system sys_;
};

}  // namespace actors
