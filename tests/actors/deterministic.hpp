#pragma once

// A deterministic actor system for tests and simulations: CAF's test scheduler runs no threads,
// so a message is delivered only when the test says, the next delivery is chosen among the
// actors with mail by a seeded RNG, and time (the twin's clock and CAF's, for delayed messages)
// moves only when told. An interleaving is a function of the seed: a failure names its seed and
// reproduces with it. This is the seed of the in-process cluster simulation: the network between
// simulated nodes will be one more injected delivery.

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>

#include "twin/base/time.hpp"

namespace caf::scheduler {
class test_coordinator;
}

namespace testing {

class deterministic_system {
 public:
  // Deliveries run() makes at the most before it fails the test: a livelock is a bug.
  static constexpr std::size_t deliveries_max = 1'000'000;

  explicit deterministic_system(std::uint64_t seed, twin::time_ms start_ms = 0);
  ~deterministic_system();
  deterministic_system(const deterministic_system&) = delete;
  deterministic_system& operator=(const deterministic_system&) = delete;

  caf::actor_system& sys() { return *sys_; }
  operator caf::actor_system&() { return *sys_; }
  const twin::clock& clock() const { return clock_; }
  std::uint64_t seed() const { return seed_; }

  // Actors with at least one message waiting.
  std::size_t pending() const;
  // Delivers one message to an actor picked by the RNG among those with mail; false when none.
  bool step();
  // Delivers until no actor has mail; the number of deliveries.
  std::size_t run();
  // Moves both clocks by `dt_ms`, fires the delayed messages now due, and runs until idle.
  std::size_t advance(twin::time_ms dt_ms);

 private:
  std::uint64_t seed_;
  std::mt19937_64 rng_;
  twin::manual_clock clock_;
  caf::actor_system_config cfg_;  // before sys_: the system keeps a reference to it
  std::unique_ptr<caf::actor_system> sys_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
};

}  // namespace testing
