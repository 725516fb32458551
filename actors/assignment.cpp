#include "actors/assignment.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/replies_to.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <string>
#include <utility>

#include "twin/base/check.hpp"

namespace actors {

namespace {

using twin::assign::block_solver;
using twin::assign::round_driver;

using update_atom = caf::atom_constant<caf::atom("bushupdate")>;
using measure_atom = caf::atom_constant<caf::atom("gapmeasure")>;
using part_done_atom = caf::atom_constant<caf::atom("partdone")>;
using solve_atom = caf::atom_constant<caf::atom("solve")>;

// Works on one part of the origins; answers the coordinator with a part_done message.
using assign_worker = caf::typed_actor<caf::reacts_to<update_atom, std::uint32_t>,
                                       caf::reacts_to<measure_atom, std::uint32_t>>;

// Answers the solve request once the driver stopped; true on success.
using assign_coordinator = caf::typed_actor<caf::replies_to<solve_atom>::with<bool>,
                                            caf::reacts_to<part_done_atom, std::uint32_t>>;

// The workers hold no handle of the coordinator (they answer the sender), so that no reference
// cycle keeps the actors alive after the solve.
void report_done(assign_worker::pointer self, std::uint32_t part) {
  caf::anon_send(caf::actor_cast<assign_coordinator>(self->current_sender()), part_done_atom::value,
                 part);
}

assign_worker::behavior_type worker_behavior(assign_worker::pointer self, block_solver* solver,
                                             std::uint32_t part) {
  return {
      [self, solver, part](update_atom, std::uint32_t p) {
        TWIN_CHECK_OP(p, ==, part);
        solver->update_part(p);
        report_done(self, p);
      },
      [self, solver, part](measure_atom, std::uint32_t p) {
        TWIN_CHECK_OP(p, ==, part);
        solver->measure_slice(p);
        report_done(self, p);
      },
  };
}

enum class phase : std::uint8_t { idle, measuring, updating, stopped };

struct coordinator_state {
  round_driver* driver = nullptr;
  std::vector<assign_worker> workers;
  phase now = phase::idle;
  std::uint32_t pending = 0;  // parts yet to report in the current phase
  caf::typed_response_promise<bool> done;
};

using coordinator_pointer = assign_coordinator::stateful_pointer<coordinator_state>;

template <typename Atom>
void fan_out(coordinator_pointer self, phase next, Atom atom) {
  auto& st = self->state;
  st.now = next;
  st.pending = static_cast<std::uint32_t>(st.workers.size());
  for (std::uint32_t p = 0; p < st.workers.size(); ++p) self->send(st.workers[p], atom, p);
}

void stop(coordinator_pointer self) {
  auto& st = self->state;
  st.now = phase::stopped;
  st.done.deliver(true);
  for (const auto& w : st.workers) self->send_exit(w, caf::exit_reason::user_shutdown);
  st.workers.clear();
  self->quit();
}

// After the gap measurement (or without one): record, then stop or update the bushes.
void after_measure(coordinator_pointer self) {
  if (!self->state.driver->record()) return stop(self);
  fan_out(self, phase::updating, update_atom::value);
}

void begin_iteration(coordinator_pointer self) {
  if (self->state.driver->measure_due())
    return fan_out(self, phase::measuring, measure_atom::value);
  after_measure(self);
}

// Flow shifting moves one origin's flow at the costs the origins before it left: sequential by
// nature (with several solver workers, their order is fixed too), so it stays here.
void shift(coordinator_pointer self) {
  block_solver& solver = self->state.driver->solver();
  for (std::uint32_t w = 0; w < solver.workers(); ++w) solver.propose(w);
  self->state.driver->combined(solver.combine());
}

assign_coordinator::behavior_type coordinator_behavior(coordinator_pointer self,
                                                       round_driver* driver,
                                                       std::vector<assign_worker> workers) {
  self->state.driver = driver;
  self->state.workers = std::move(workers);
  return {
      [self](solve_atom) -> caf::typed_response_promise<bool> {
        auto& st = self->state;
        st.done = self->make_response_promise<bool>();
        if (st.now != phase::idle) {
          st.done.deliver(false);
          return st.done;
        }
        begin_iteration(self);
        return st.done;
      },
      [self](part_done_atom, std::uint32_t) {
        auto& st = self->state;
        TWIN_CHECK(st.now == phase::measuring || st.now == phase::updating);
        TWIN_CHECK_OP(st.pending, >, 0u);
        if (--st.pending > 0) return;
        if (st.now == phase::measuring) return after_measure(self);
        shift(self);
        begin_iteration(self);
      },
  };
}

}  // namespace

twin::assign::solution solve_on_actors(caf::actor_system& sys, const twin::assign::network& net,
                                       const twin::assign::demand& trips,
                                       const twin::assign::solver_options& options,
                                       std::vector<std::uint32_t> part_of_origin,
                                       const twin::assign::solution* warm_start) {
  round_driver driver(net, trips, options, warm_start);
  block_solver& solver = driver.solver();
  solver.set_part_of_origin(part_of_origin);
  std::vector<assign_worker> workers;
  workers.reserve(solver.parts());
  for (std::uint32_t p = 0; p < solver.parts(); ++p)
    workers.push_back(sys.spawn(worker_behavior, &solver, p));
  auto coordinator = sys.spawn(coordinator_behavior, &driver, std::move(workers));
  bool solved = false;
  std::string failure;
  {
    caf::scoped_actor self{sys};
    // The whole solve is one request: no timeout, the driver's own limits end it.
    self->request(coordinator, caf::infinite, solve_atom::value)
        .receive([&solved](bool ok) { solved = ok; },
                 [&failure, &sys](const caf::error& e) { failure = sys.render(e); });
  }
  TWIN_CHECK_OP(failure, ==, std::string{});
  TWIN_CHECK(solved);
  return driver.finish();
}

twin::assign::solve_function actor_solver(caf::actor_system& sys) {
  return
      [&sys](const twin::assign::network& net, const twin::assign::demand& trips,
             const twin::assign::solver_options& options, std::vector<std::uint32_t> part_of_origin,
             const twin::assign::solution* warm_start) {
        return solve_on_actors(sys, net, trips, options, std::move(part_of_origin), warm_start);
      };
}

}  // namespace actors
