#include "deterministic.hpp"

#include <doctest/doctest.h>
#include <caf/atom.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <chrono>
#include <utility>

namespace testing {

deterministic_system::deterministic_system(std::uint64_t seed, twin::time_ms start_ms)
    : seed_(seed), rng_(seed), clock_(start_ms) {
  cfg_.set("scheduler.policy", caf::atom("testing"));
  cfg_.set("logger.file-verbosity", caf::atom("quiet"));
  sys_ = std::make_unique<caf::actor_system>(cfg_);
  sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
}

deterministic_system::~deterministic_system() {
  // Whatever is still in a mailbox (exits, down messages) is delivered, so that the system's
  // destructor finds every actor ended.
  sched_->run();
}

std::size_t deterministic_system::pending() const {
  return sched_->jobs.size();
}

bool deterministic_system::step() {
  auto& jobs = sched_->jobs;
  if (jobs.empty()) return false;
  const auto pick = static_cast<std::size_t>(rng_() % jobs.size());
  std::swap(jobs[0], jobs[pick]);
  return sched_->try_run_once();
}

std::size_t deterministic_system::run() {
  std::size_t n = 0;
  while (step()) {
    ++n;
    if (n > deliveries_max) FAIL("more than " << deliveries_max << " deliveries: seed " << seed_);
  }
  return n;
}

std::size_t deterministic_system::advance(twin::time_ms dt_ms) {
  clock_.advance(dt_ms);
  sched_->clock().advance_time(std::chrono::milliseconds(dt_ms));
  return run();
}

}  // namespace testing
