#pragma once

// Static user-equilibrium traffic assignment: the engine's public API.
//
// Model. Each link has the generalized cost
//   c(x) = fft * (1 + b * (x / capacity)^power) + toll_factor * toll + distance_factor * length
// (BPR travel time plus toll and distance turned into time units). Demand is fixed per
// origin-destination pair; intrazonal demand never enters the network and is only reported.
// Nodes below the network's first through node may start or end paths, never be passed through.
// Links with capacity 0 are closed.
//
// Measures, all in generalized cost units:
//   TSTT  = sum over links of x * c(x)
//   SPTT  = sum over OD pairs of demand * (shortest-path cost at the current link costs)
//   relative gap = (TSTT - SPTT) / TSTT
//   Beckmann objective = sum over links of the integral of c from 0 to x, i.e.
//     fft * x + fft * b * x^(power+1) / ((power+1) * capacity^power)
//     + (toll_factor * toll + distance_factor * length) * x.
//   This is the convention of the published best-known objectives of the TNTP cases
//   (SiouxFalls 4,231,335.287, Anaheim 1,286,032.171, ChicagoSketch 17,313,018.739 with toll and
//   distance weights 0.02 and 0.04), which the tests reproduce.
//
// Method: Algorithm B (Dial 2006), one acyclic bush per origin (see assign_bush.hpp). An
// iteration first updates every bush against the costs as it began (independent per origin, so
// spread over the threads), then shifts flow on each bush in turn, then sweeps over all origins
// again, only shifting, until no origin has a used path costlier than its shortest by more than a
// threshold that follows the gap: flow moved for one origin changes the costs the others see, and
// cheap repeated sweeps settle that far sooner than more bush updates.
//
// The exact gap needs one shortest-path search per origin; it is measured only when a prediction
// says the target may have been reached, at least every few iterations, and always before
// stopping: a reported gap is always exact. The prediction is the bushes' own gap (a lower bound,
// see equilibrate_result::excess_cost, often far below the exact gap) scaled by how far below it
// was at the latest measurement, and capped by that measurement.
//
// Workers. The origins are split into `workers` contiguous blocks. In a round every block
// updates and equilibrates its origins against its own copy of the link state as the round
// began (block Jacobi; within a block, Gauss-Seidel); the proposed moves are then combined with
// one step along their sum that minimizes the Beckmann objective exactly (blocks that each move
// flow onto the same cheap links would overshoot together; the line search takes the part of the
// move that still helps). With one worker there is no combination: plain Gauss-Seidel.
// Results depend on the number of workers, never on the number of threads or on timing (except
// a time limit): the same input and worker count give bit-for-bit the same output.
//
// block_solver exposes the phases of a round so that a coordinator can run the blocks wherever
// it likes (threads, actors); solve() drives it, with threads when asked.

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "twin/assign/bush.hpp"
#include "twin/assign/network.hpp"

namespace twin::assign {

struct solver_options {
  double relative_gap_target = 1e-6;
  std::uint32_t iterations_max = 1000;
  std::uint64_t time_limit_ms = 0;  // 0: no limit
  // Bush update + equilibration rounds per origin per iteration, at most; a round after the first
  // only runs when the update added links.
  std::uint32_t bush_rounds_max = 1;
  // Flow-shifting passes per origin right after its bush update, at most.
  std::uint32_t inner_passes_max = 1;
  // Shift-only sweeps over every origin after the updates, at most; an origin leaves the sweeps
  // once a pass found nothing to shift at it.
  std::uint32_t inner_sweeps_max = 20;
  // An origin's passes stop once no node's longest used path exceeds its shortest by more than
  // inner_gap_fraction * (current relative gap) * TSTT / demand: there is no use in equilibrating
  // one origin far beyond the state of the others.
  double inner_gap_fraction = 0.1;
  // Origin blocks combined per round (see above); 1 is sequential Gauss-Seidel.
  std::uint32_t workers = 1;
  // Threads that run the blocks in solve(); 0: one per worker. More threads than workers still
  // share the bush updates and gap measurements (block_solver::parts()). Never changes the
  // result.
  std::uint32_t threads = 0;
};

enum class stop_reason : std::uint8_t { gap_reached, iterations_max, time_limit };

// The state after `iteration` complete iterations (0: after the initial all-or-nothing loading).
struct iteration_record {
  std::uint32_t iteration = 0;
  double relative_gap = 0;
  double objective = 0;
  double tstt = 0;
  double elapsed_ms = 0;
  // False when relative_gap is only an estimate: the bushes' lower bound scaled by how far below
  // the exact gap it was at the latest measurement (the exact one was not measured). Iteration 0
  // of a cold start is measured only when the solve stops there; it reports the bushes' own gap
  // at the loaded costs instead.
  bool gap_exact = true;
  // The step applied to the combined move of the blocks (1 with one worker).
  double step = 1;
};

struct solution {
  std::vector<double> link_flow;
  std::vector<double> link_cost;  // generalized cost at link_flow
  double tstt = 0;
  double sptt = 0;
  double relative_gap = 0;
  double objective = 0;  // Beckmann
  std::uint32_t iterations = 0;
  stop_reason stop = stop_reason::iterations_max;
  std::vector<iteration_record> trace;
  double assigned_flow = 0;
  double unassigned_flow = 0;  // demand whose destination cannot be reached from its origin
  double intrazonal_flow = 0;  // reported, never assigned
  // For warm starts: the bushes, in the demand's origin order, and the demand they carry.
  std::vector<origin_bush> bushes;
  std::uint64_t demand_fingerprint = 0;
  bool warm_started = false;
  std::uint32_t origins_rebuilt = 0;  // warm start: origins whose bush had to be built anew
  // Warm start: origins whose bush used a link now closed and was repaired instead.
  std::uint32_t origins_repaired = 0;
};

struct gap_measure {
  double tstt = 0;
  double sptt = 0;
  double relative_gap = 0;
  double unreachable_flow = 0;
};

// Solves from scratch, or from `warm_start`, a solution of the same network shape (same links by
// index; capacities, costs and closures may differ) and the same demand. Bushes that use a link
// now closed are repaired (origin_bush::repair: the flow that used the closed links moves to the
// other ways into their heads) and the iterations re-equilibrate; only those that cannot be (see
// there) are built anew at the current costs. A warm start for another demand or link count is
// ignored (solution::warm_started tells).
solution solve(const network& net, const demand& trips, const solver_options& options = {},
               const solution* warm_start = nullptr);

// A solver with solve()'s signature plus the part of every origin slot, for coordinators that
// spread the parts (e.g. over actors); the parts never change the result.
using solve_function =
    std::function<solution(const network& net, const demand& trips, const solver_options& options,
                           std::vector<std::uint32_t> part_of_origin, const solution* warm_start)>;

// The phases of solve(), for a coordinator. A round is begin_round(), then propose(w) for every
// worker w (concurrently if wanted: a call touches only block w's bushes and scratch memory),
// then combine(). A gap measurement is measure_part(w) for every worker (concurrently too), then
// finish_measure(). Calls of one phase must not overlap calls of another.
class block_solver {
 public:
  // Builds or warm-starts the bushes (sequentially, whatever the worker count, so that the
  // starting point never depends on it). Counts are clamped to [1, origin count].
  block_solver(const network& net, const demand& trips, const solver_options& options,
               const solution* warm_start = nullptr);

  std::uint32_t workers() const { return static_cast<std::uint32_t>(blocks_.size()); }
  // Origin slots of block w: [first, end).
  std::uint32_t block_first(std::uint32_t w) const { return blocks_[w].first; }
  std::uint32_t block_end(std::uint32_t w) const { return blocks_[w].end; }

  // Parts of the phases that need no coordination: bush updates and gap measurements. Origins
  // are split into parts() contiguous slices, as many as the workers or the threads asked for,
  // whichever is larger; the results never depend on the split.
  std::uint32_t parts() const { return static_cast<std::uint32_t>(part_ws_.size()); }
  // Replaces the contiguous slices by an explicit partition: origin slot o belongs to part
  // part_of_origin[o] (one entry per origin; parts without origins are allowed). A bush update
  // and a shortest-path search read only the round's starting link state and write only their
  // own origin's data, so the partition never changes the results. Call before the first round.
  void set_part_of_origin(std::span<const std::uint32_t> part_of_origin);

  // `gap_hint`: the latest gap known (exact or lower bound); it sets the equilibration threshold.
  void begin_round(double gap_hint);
  // Optional, between begin_round() and propose(), for every part p (concurrently if wanted):
  // updates the bushes of slice p against the link state as the round began. propose() then
  // skips those updates; without it, propose() updates each bush right before shifting on it.
  void update_part(std::uint32_t part);
  void propose(std::uint32_t worker);
  // Applies the combined move and returns its step in [0, 1].
  double combine();

  void measure_part(std::uint32_t worker);
  // The same measurement split by parts(); either may precede finish_measure().
  void measure_slice(std::uint32_t part);
  gap_measure finish_measure();
  // The bushes' own relative gap at the latest labelling of each origin: a lower bound of the
  // exact gap, nearly free.
  double bush_gap() const;

  const link_state& links() const { return links_; }
  double tstt() const;       // at links()
  double objective() const;  // Beckmann, at links()
  // Moves the bushes and link state into `out` (the solver is spent afterwards).
  void finish(solution& out);

  std::uint32_t origins_rebuilt() const { return origins_rebuilt_; }
  std::uint32_t origins_repaired() const { return origins_repaired_; }
  bool warm_started() const { return warm_started_; }
  double unassigned_flow() const { return unassigned_flow_; }

 private:
  struct block {
    std::uint32_t first = 0;
    std::uint32_t end = 0;
    link_state links;  // the block's view during a round (unused with one worker)
    bush_workspace ws;
    std::vector<std::uint8_t> active;  // per origin of the block, for the sweeps
  };
  void rebuild_totals();

  const network& net_;
  const demand& trips_;
  solver_options options_;
  std::vector<origin_bush> bushes_;
  std::vector<block> blocks_;
  link_state links_;
  std::vector<std::vector<double>> previous_;  // bush flows as the round began (workers > 1)
  std::vector<double> excess_;                 // per origin, latest labelling
  std::vector<double> sp_cost_, unreachable_;  // per origin, latest exact measurement
  equilibrate_options inner_;
  std::vector<bush_workspace> part_ws_;                   // one per part
  std::vector<std::vector<std::uint32_t>> part_origins_;  // origin slots of each part
  std::vector<std::uint32_t> updated_;  // per origin: the round of its latest update_part()
  std::uint32_t round_ = 0;
  std::uint32_t origins_rebuilt_ = 0;
  std::uint32_t origins_repaired_ = 0;
  bool warm_started_ = false;
  double unassigned_flow_ = 0;
};

// The decisions of solve()'s loop, apart from where the phases run, so that every coordinator
// (solve()'s threads, the actor system) stops, measures and records exactly alike. Use:
//   for (;;) {
//     if (d.measure_due()) { measure_slice(p) for every part p; }
//     if (!d.record()) break;  // begins the next round when it goes on
//     update_part(p) for every part p;
//     propose(w) for every worker w;
//     d.combined(d.solver().combine());
//   }
//   solution s = d.finish();
class round_driver {
 public:
  round_driver(const network& net, const demand& trips, const solver_options& options,
               const solution* warm_start = nullptr);

  block_solver& solver() { return solver_; }
  // Whether this iteration's gap must be measured exactly (measure_slice for every part).
  bool measure_due();
  // Records the iteration; false when the solve stops, else begins the next round.
  bool record();
  void combined(double step) { step_ = step; }
  solution finish();

 private:
  double elapsed_ms() const;

  std::chrono::steady_clock::time_point start_;
  solver_options options_;
  block_solver solver_;
  solution out_;
  std::uint32_t iteration_ = 0;
  gap_measure gap_;
  double step_ = 1;
  double estimate_ = 1;
  double bound_ = 1;  // the bushes' own gap this iteration
  // Exact gap over the bushes' own gap at the latest measurement after the first iteration: the
  // bushes' gap scaled by it predicts the exact one far better than the bound alone.
  double bound_ratio_ = 1;
  std::uint32_t measured_at_ = 0;  // iteration of the latest exact measurement
  bool measured_ = false;          // whether gap_ holds a measurement yet
  bool exact_ = true;
  bool out_of_time_ = false;
};

double beckmann_objective(const network& net, std::span<const double> link_flow);
gap_measure measure_gap(const network& net, const demand& trips, const link_state& links,
                        bush_workspace& ws);

}  // namespace twin::assign
