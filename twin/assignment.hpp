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
// Method: Algorithm B (Dial 2006), one acyclic bush per origin (see assign_bush.hpp). Single
// threaded and deterministic: the same input gives bit-for-bit the same output. solve() runs the
// whole loop; a coordinator that spreads origins over workers can instead drive origin_bush,
// link_state and measure_gap itself, in the same way solve() does.

#include <cstdint>
#include <span>
#include <vector>

#include "twin/assign_bush.hpp"
#include "twin/assign_network.hpp"

namespace twin::assign {

struct solver_options {
  double relative_gap_target = 1e-6;
  std::uint32_t iterations_max = 1000;
  std::uint64_t time_limit_ms = 0;  // 0: no limit
  // Bush update + equilibration rounds per origin per iteration, at most; a round after the first
  // only runs when the update added links.
  std::uint32_t bush_rounds_max = 1;
  // Flow-shifting passes per origin per iteration, at most.
  std::uint32_t inner_passes_max = 12;
  // An origin's passes stop once no node's longest used path exceeds its shortest by more than
  // inner_gap_fraction * (current relative gap) * TSTT / demand: there is no use in equilibrating
  // one origin far beyond the state of the others.
  double inner_gap_fraction = 0.25;
};

enum class stop_reason : std::uint8_t { gap_reached, iterations_max, time_limit };

// The state after `iteration` complete iterations (0: after the initial all-or-nothing loading).
struct iteration_record {
  std::uint32_t iteration = 0;
  double relative_gap = 0;
  double objective = 0;
  double tstt = 0;
  double elapsed_ms = 0;
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
};

struct gap_measure {
  double tstt = 0;
  double sptt = 0;
  double relative_gap = 0;
  double unreachable_flow = 0;
};

// Solves from scratch, or from `warm_start`, a solution of the same network shape (same links by
// index; capacities, costs and closures may differ) and the same demand. Bushes that use a link
// now closed are built anew at the current costs; a warm start for another demand or link count is
// ignored (solution::warm_started tells).
solution solve(const network& net, const demand& trips, const solver_options& options = {},
               const solution* warm_start = nullptr);

double beckmann_objective(const network& net, std::span<const double> link_flow);
gap_measure measure_gap(const network& net, const demand& trips, const link_state& links,
                        bush_workspace& ws);

}  // namespace twin::assign
