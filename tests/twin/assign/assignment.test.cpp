#include "twin/assign/assignment.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "twin/assign/tntp.hpp"

namespace fs = std::filesystem;
using namespace twin::assign;

namespace {

const fs::path tntp_data = fs::path(CITYTWIN_TEST_DATA) / "tntp";

tntp_case load_case(const std::string& name, cost_weights weights = {}) {
  auto c = load_tntp_case(tntp_data / name, name, weights);
  if (!c) FAIL(c.error().to_string());
  return std::move(c).value();
}

network build_network(std::uint32_t nodes, std::uint32_t first_thru, std::vector<link_spec> links) {
  auto net = network::build(nodes, first_thru, std::move(links), {});
  if (!net) FAIL(net.error());
  return std::move(net).value();
}

demand build_demand(const network& net, std::vector<od_flow> flows) {
  auto d = demand::build(net, std::move(flows));
  if (!d) FAIL(d.error());
  return std::move(d).value();
}

// A link whose cost is a + x * a / capacity (BPR with b = 1, power 1).
link_spec linear(node_index from, node_index to, double fft, double capacity) {
  return {from, to, capacity, fft, 1.0, 1.0, 0.0, 0.0};
}

// A link with a constant cost.
link_spec constant(node_index from, node_index to, double fft) {
  return {from, to, 1000.0, fft, 0.0, 4.0, 0.0, 0.0};
}

// Checks a solution of a published case against its best-known objective and link flows.
void check_against_published(const std::string& name, const tntp_case& c, const solution& s,
                             double best_objective, double flow_min) {
  CAPTURE(name);
  CHECK(s.stop == stop_reason::gap_reached);
  CHECK(std::abs(s.objective - best_objective) <= 1e-8 * best_objective);
  const auto published = twin::tntp::load_flow(tntp_data / name / (name + "_flow.tntp"));
  REQUIRE(published.has_value());
  REQUIRE(published->size() == c.net.link_count());
  std::size_t compared = 0;
  for (link_index l = 0; l < c.net.link_count(); ++l) {
    const auto& row = (*published)[l];
    REQUIRE(static_cast<node_index>(row.from_node - 1) == c.net.from(l));
    REQUIRE(static_cast<node_index>(row.to_node - 1) == c.net.to(l));
    if (row.volume <= flow_min) continue;
    ++compared;
    CAPTURE(l);
    CHECK(s.link_flow[l] == doctest::Approx(row.volume).epsilon(1e-3));
  }
  CHECK(compared > c.net.link_count() / 2);
}

}  // namespace

TEST_CASE("two parallel links split the demand where their costs meet") {
  // Costs 10 + x and 20 + x, 30 trips: 20 and 10, both at cost 30.
  const network net = build_network(2, 0, {linear(0, 1, 10, 10), linear(0, 1, 20, 20)});
  const demand trips = build_demand(net, {{0, 1, 30}});
  solver_options options;
  options.relative_gap_target = 1e-12;
  const solution s = solve(net, trips, options);
  CHECK(s.stop == stop_reason::gap_reached);
  CHECK(s.link_flow[0] == doctest::Approx(20).epsilon(1e-10));
  CHECK(s.link_flow[1] == doctest::Approx(10).epsilon(1e-10));
  CHECK(s.link_cost[0] == doctest::Approx(30).epsilon(1e-10));
  CHECK(s.tstt == doctest::Approx(900).epsilon(1e-10));
  CHECK(s.sptt == doctest::Approx(900).epsilon(1e-10));
  // Integrals of 10 + x over [0, 20] and 20 + x over [0, 10].
  CHECK(s.objective == doctest::Approx(650).epsilon(1e-10));
  CHECK(s.relative_gap <= 1e-12);
  REQUIRE(s.trace.size() == s.iterations + 1);
  // All or nothing first: 30 on link 0 at cost 40, against a shortest path of 20. Not measured
  // unless the solve stops there: the bush's own gap stands in, here equal to the exact one.
  CHECK(s.trace.front().relative_gap == doctest::Approx((1200.0 - 600.0) / 1200.0));
  CHECK_FALSE(s.trace.front().gap_exact);
  options.iterations_max = 0;
  const solution loaded = solve(net, trips, options);
  CHECK(loaded.stop == stop_reason::iterations_max);
  REQUIRE(loaded.trace.size() == 1);
  CHECK(loaded.trace.front().gap_exact);
  CHECK(loaded.relative_gap == doctest::Approx((1200.0 - 600.0) / 1200.0));
  CHECK(loaded.tstt == doctest::Approx(1200));
  CHECK(loaded.sptt == doctest::Approx(600));
}

TEST_CASE("generalized cost adds weighted toll and length") {
  auto net = network::build(2, 0,
                            {{0, 1, 100, 2.0, 0.15, 4, 50, 3},  // 2 + 0.5*50 + 0.25*3 = 27.75
                             {0, 1, 100, 30.0, 0.0, 4, 0, 0}},
                            {0.5, 0.25});
  REQUIRE(net.has_value());
  CHECK(net->cost(0, 0) == 27.75);
  CHECK(net->cost(0, 100) == doctest::Approx(27.75 + 2 * 0.15));
  // Integral: 27.75 x + 2 * 0.15 * x^5 / (5 * 100^4).
  CHECK(net->cost_integral(0, 100) == doctest::Approx(2775 + 0.3 * 1e10 / 5 / 1e8));
  const demand trips = build_demand(*net, {{0, 1, 10}});
  const solution s = solve(*net, trips);
  CHECK(s.link_flow[0] == 10);
  CHECK(s.link_flow[1] == 0);
}

TEST_CASE("zones below the first through node carry no through traffic") {
  // 0 and 1 are zones, 2 and 3 ordinary nodes. 0 -> 1 -> 3 is the cheap way to 3, but may not
  // pass through zone 1; 0 -> 2 -> 3 must be taken.
  const network net = build_network(
      4, 2, {constant(0, 1, 1), constant(1, 3, 1), constant(0, 2, 5), constant(2, 3, 5)});
  const demand trips = build_demand(net, {{0, 3, 10}, {0, 1, 4}});
  const solution s = solve(net, trips);
  CHECK(s.link_flow[0] == 4);
  CHECK(s.link_flow[1] == 0);
  CHECK(s.link_flow[2] == 10);
  CHECK(s.link_flow[3] == 10);
  CHECK(s.sptt == 10 * 10 + 4 * 1);
  CHECK(s.relative_gap == 0);

  // Without the rule the cheap path is used.
  const network open = build_network(
      4, 0, {constant(0, 1, 1), constant(1, 3, 1), constant(0, 2, 5), constant(2, 3, 5)});
  const solution t = solve(open, build_demand(open, {{0, 3, 10}, {0, 1, 4}}));
  CHECK(t.link_flow[1] == 10);
  CHECK(t.link_flow[2] == 0);
}

TEST_CASE("shortest-path costs to zones are final only once no shorter node is queued") {
  // Zones 0 (origin), 1 and 2; through nodes 3 and 4. Zone 1 is first reached directly at 10,
  // after through target 3 is settled, and only then at 3 over 0 -> 3 -> 4 -> 1. Zone 2 offers a
  // free way on to 4 that may not be taken.
  const network net =
      build_network(5, 3,
                    {constant(0, 1, 10), constant(0, 3, 1), constant(3, 4, 1), constant(4, 1, 1),
                     constant(0, 2, 0.5), constant(2, 4, 0), constant(1, 2, 0.25)});
  const std::vector<destination_flow> to_1_and_3 = {{1, 2.0}, {3, 5.0}};
  const std::vector<double> cost = {10, 1, 1, 1, 0.5, 0, 0.25};
  bush_workspace ws;
  CHECK(shortest_path_cost(net, 0, to_1_and_3, cost, ws) == 2.0 * 3 + 5.0 * 1);
  // Zone targets alone: the search runs until nothing queued is shorter than them.
  const std::vector<destination_flow> to_zones = {{1, 1.0}, {2, 4.0}};
  CHECK(shortest_path_cost(net, 0, to_zones, cost, ws) == 1.0 * 3 + 4.0 * 0.5);
  // Paths from zone 1 may leave it (it is the origin), never pass zone 2 (the free link).
  const std::vector<destination_flow> from_1 = {{4, 1.0}};
  double unreachable = 0;
  CHECK(shortest_path_cost(net, 1, from_1, cost, ws, &unreachable) == 0);
  CHECK(unreachable == 1.0);
}

TEST_CASE("intrazonal, unreachable and closed-link demand") {
  // Link 1 (0 -> 2 direct) is closed: capacity 0.
  const network net = build_network(
      3, 0, {linear(0, 1, 1, 10), {0, 2, 0.0, 1, 0.15, 4, 0, 0}, linear(1, 2, 1, 10)});
  const demand trips = build_demand(net, {{0, 2, 5}, {1, 1, 7}, {2, 0, 4}, {0, 2, 1}});
  CHECK(trips.total_flow() == 10);  // 5 + 1 merged, 4 unreachable; intrazonal apart
  CHECK(trips.intrazonal_flow() == 7);
  const solution s = solve(net, trips);
  CHECK(s.intrazonal_flow == 7);
  CHECK(s.unassigned_flow == 4);
  CHECK(s.assigned_flow == 6);
  CHECK(s.link_flow[0] == 6);
  CHECK(s.link_flow[1] == 0);
  CHECK(s.link_flow[2] == 6);
}

TEST_CASE("bad networks and demands are refused with a reason") {
  CHECK(network::build(2, 0, {constant(0, 2, 1)}, {}).error() == "link 0: node outside 0..1");
  CHECK_FALSE(network::build(2, 0, {{0, 1, -1, 1, 0, 4, 0, 0}}, {}).has_value());
  CHECK_FALSE(network::build(2, 0, {constant(1, 1, 1)}, {}).has_value());
  const network net = build_network(2, 0, {constant(0, 1, 1)});
  CHECK(demand::build(net, {{0, 5, 1}}).error() == "demand from node 0 to node 5: unknown node");
  CHECK_FALSE(demand::build(net, {{0, 1, -1}}).has_value());
}

TEST_CASE("SiouxFalls: best-known objective and flows, deterministic") {
  const tntp_case c = load_case("SiouxFalls");
  CHECK(c.trips.total_flow() == 360600);
  solver_options options;
  options.relative_gap_target = 1e-10;
  const solution s = solve(c.net, c.trips, options);
  CHECK(s.relative_gap <= 1e-10);
  // The published flows are given to 1e-3 of the best-known solution; links below 1 vehicle
  // are not compared relatively.
  check_against_published("SiouxFalls", c, s, 4231335.28710744, 1.0);
  CHECK(s.tstt == doctest::Approx(7480225.34).epsilon(1e-6));

  const solution again = solve(c.net, c.trips, options);
  CHECK(again.link_flow == s.link_flow);
  CHECK(again.objective == s.objective);
  CHECK(again.iterations == s.iterations);
}

TEST_CASE("Anaheim: best-known objective and flows with centroids that block through traffic") {
  const tntp_case c = load_case("Anaheim");
  CHECK(c.net.first_thru_node() == 38);
  solver_options options;
  options.relative_gap_target = 1e-9;
  const solution s = solve(c.net, c.trips, options);
  CHECK(s.relative_gap <= 1e-9);
  check_against_published("Anaheim", c, s, 1286032.17109603, 1.0);
  CHECK(s.tstt == doctest::Approx(1419913.85).epsilon(1e-6));
  const solution again = solve(c.net, c.trips, options);
  CHECK(again.link_flow == s.link_flow);
}

TEST_CASE("ChicagoSketch: best-known objective and flows with toll and length weights") {
  const tntp_case c = load_case("ChicagoSketch", {0.02, 0.04});
  CHECK(c.trips.intrazonal_flow() == doctest::Approx(123414).epsilon(1e-12));
  CHECK(c.trips.total_flow() + c.trips.intrazonal_flow() ==
        doctest::Approx(1260907.44).epsilon(1e-9));
  solver_options options;
  options.relative_gap_target = 1e-9;
  const solution s = solve(c.net, c.trips, options);
  CHECK(s.relative_gap <= 1e-9);
  CHECK(s.intrazonal_flow == doctest::Approx(123414).epsilon(1e-12));
  check_against_published("ChicagoSketch", c, s, 17313018.7387477, 1.0);
}

TEST_CASE("warm start: a variant solved from its baseline matches a cold solve") {
  const tntp_case base = load_case("SiouxFalls");
  solver_options options;
  options.relative_gap_target = 1e-9;
  const solution baseline = solve(base.net, base.trips, options);

  // The variant closes link 10 (TNTP node 5 -> node 4) by setting its capacity to 0.
  std::vector<link_spec> links;
  for (link_index l = 0; l < base.net.link_count(); ++l) links.push_back(base.net.spec(l));
  links[10].capacity = 0;
  auto variant = network::build(base.net.node_count(), base.net.first_thru_node(), links, {});
  REQUIRE(variant.has_value());

  const solution cold = solve(*variant, base.trips, options);
  const solution warm = solve(*variant, base.trips, options, &baseline);
  CHECK_FALSE(cold.warm_started);
  CHECK(warm.warm_started);
  // 13 bushes used the link. Those where every other way into node 4 comes from nodes after it in
  // the bush's order are built anew, the others repaired in place.
  CHECK(warm.origins_repaired > 0);
  CHECK(warm.origins_rebuilt > 0);
  CHECK(warm.origins_repaired + warm.origins_rebuilt == 13);
  CHECK(warm.iterations < cold.iterations);
  CHECK(warm.link_flow[10] == 0);
  CHECK(cold.link_flow[10] == 0);
  CHECK(warm.relative_gap <= 1e-9);
  CHECK(std::abs(warm.objective - cold.objective) <= 1e-8 * cold.objective);
  CHECK(warm.objective > baseline.objective);

  // A mild capacity change: the warm start needs fewer iterations than starting over.
  links = {};
  for (link_index l = 0; l < base.net.link_count(); ++l) links.push_back(base.net.spec(l));
  links[20].capacity *= 0.9;
  auto mild = network::build(base.net.node_count(), base.net.first_thru_node(), links, {});
  REQUIRE(mild.has_value());
  const solution mild_cold = solve(*mild, base.trips, options);
  const solution mild_warm = solve(*mild, base.trips, options, &baseline);
  CHECK(mild_warm.origins_rebuilt == 0);
  CHECK(mild_warm.iterations < mild_cold.iterations);
  CHECK(std::abs(mild_warm.objective - mild_cold.objective) <= 1e-8 * mild_cold.objective);

  // A warm start for other demand is ignored.
  const demand other = build_demand(base.net, {{0, 5, 100}});
  const solution ignored = solve(base.net, other, options, &baseline);
  CHECK_FALSE(ignored.warm_started);
}

TEST_CASE("the per-origin unit can be driven by a coordinator") {
  // The loop solve() runs, written against the per-origin API: bushes own their flows, the link
  // state is shared, and the totals are rebuilt from the bushes before each gap measurement.
  const tntp_case c = load_case("SiouxFalls");
  bush_workspace ws;
  link_state shared;
  shared.reset(c.net);
  std::vector<origin_bush> bushes(c.trips.origin_count());
  for (std::uint32_t o = 0; o < c.trips.origin_count(); ++o)
    bushes[o].initialize(c.net, c.trips.origin(o), c.trips.destinations(o), shared, ws);
  double gap = 1;
  int rounds = 0;
  for (; rounds < 400 && gap > 1e-6; ++rounds) {
    for (auto& b : bushes) {
      b.update(c.net, shared, ws);
      b.equilibrate(c.net, shared, ws, {});
    }
    std::fill(shared.flow.begin(), shared.flow.end(), 0.0);
    for (const auto& b : bushes)
      for (link_index l = 0; l < c.net.link_count(); ++l) shared.flow[l] += b.link_flows()[l];
    shared.refresh_costs(c.net);
    gap = measure_gap(c.net, c.trips, shared, ws).relative_gap;
  }
  CHECK(gap <= 1e-6);
  CHECK(rounds < 100);
  CHECK(beckmann_objective(c.net, shared.flow) == doctest::Approx(4231335.28710744).epsilon(1e-6));
  for (const auto& b : bushes) {
    CHECK(b.unassigned_flow() == 0);
    // Every bush carries exactly its origin's demand out of the origin.
    double out = 0;
    for (const link_index l : c.net.out_links(b.origin())) out += b.link_flows()[l];
    double demand_out = 0;
    for (std::uint32_t o = 0; o < c.trips.origin_count(); ++o)
      if (c.trips.origin(o) == b.origin())
        for (const auto& d : c.trips.destinations(o)) demand_out += d.flow;
    CHECK(out == doctest::Approx(demand_out).epsilon(1e-12));
  }
}

TEST_CASE("blocks of origins combined per round reach the single-worker objective") {
  struct published_case {
    const char* name;
    cost_weights weights;
    double objective;
  };
  for (const published_case& p :
       {published_case{"SiouxFalls", {}, 4231335.28710744},
        published_case{"Anaheim", {}, 1286032.17109603},
        published_case{"ChicagoSketch", {0.02, 0.04}, 17313018.7387477}}) {
    CAPTURE(p.name);
    const tntp_case c = load_case(p.name, p.weights);
    solver_options options;
    options.relative_gap_target = 1e-9;
    const solution one = solve(c.net, c.trips, options);
    for (const std::uint32_t workers : {2u, 4u}) {
      CAPTURE(workers);
      options.workers = workers;
      options.threads = 2;
      const solution s = solve(c.net, c.trips, options);
      CHECK(s.stop == stop_reason::gap_reached);
      CHECK(s.relative_gap <= 1e-9);
      CHECK(std::abs(s.objective - one.objective) <= 1e-8 * one.objective);
      CHECK(std::abs(s.objective - p.objective) <= 1e-8 * p.objective);
      // Every block's step lies in [0, 1] and is recorded.
      for (const iteration_record& r : s.trace) CHECK((r.step >= 0 && r.step <= 1));
    }
  }
}

TEST_CASE("with blocks, the result depends on the worker count only, not on threads") {
  const tntp_case c = load_case("SiouxFalls");
  solver_options options;
  options.relative_gap_target = 1e-7;
  options.workers = 3;
  options.threads = 1;
  const solution sequential = solve(c.net, c.trips, options);
  options.threads = 3;
  const solution threaded = solve(c.net, c.trips, options);
  CHECK(sequential.link_flow == threaded.link_flow);
  CHECK(sequential.iterations == threaded.iterations);
  CHECK(sequential.objective == threaded.objective);
  // More workers than origins: clamped to one block per origin.
  options.workers = 1000;
  options.threads = 2;
  const solution many = solve(c.net, c.trips, options);
  CHECK(many.stop == stop_reason::gap_reached);
  CHECK(many.relative_gap <= 1e-7);
}

TEST_CASE("the reported gap is exact even though most iterations skip measuring it") {
  const tntp_case c = load_case("Anaheim");
  solver_options options;
  options.relative_gap_target = 1e-8;
  const solution s = solve(c.net, c.trips, options);
  REQUIRE(s.stop == stop_reason::gap_reached);
  // The all-or-nothing loading is not measured: the solve does not stop there.
  CHECK_FALSE(s.trace.front().gap_exact);
  CHECK(s.trace.back().gap_exact);
  CHECK(s.trace.back().relative_gap == s.relative_gap);
  // Measured again from the returned flows, the same gap to rounding.
  link_state links;
  links.reset(c.net);
  links.flow = s.link_flow;
  links.refresh_costs(c.net);
  bush_workspace ws;
  const gap_measure g = measure_gap(c.net, c.trips, links, ws);
  CHECK(g.relative_gap == doctest::Approx(s.relative_gap).epsilon(1e-6));
  CHECK(g.tstt == doctest::Approx(s.tstt).epsilon(1e-12));
  // Estimates (lower bounds of the gap) are never reported as the final gap.
  std::size_t estimated = 0;
  for (const iteration_record& r : s.trace) estimated += r.gap_exact ? 0 : 1;
  CHECK(estimated > 0);

  // An iteration limit stops with an exact gap too.
  options.iterations_max = 2;
  const solution limited = solve(c.net, c.trips, options);
  CHECK(limited.stop == stop_reason::iterations_max);
  CHECK(limited.iterations == 2);
  CHECK(limited.trace.back().gap_exact);
  CHECK(limited.relative_gap > 1e-8);
}

TEST_CASE("a bush's excess cost bounds the origin's share of the gap from below") {
  const tntp_case c = load_case("SiouxFalls");
  bush_workspace ws;
  link_state shared;
  shared.reset(c.net);
  std::vector<origin_bush> bushes(c.trips.origin_count());
  for (std::uint32_t o = 0; o < c.trips.origin_count(); ++o)
    bushes[o].initialize(c.net, c.trips.origin(o), c.trips.destinations(o), shared, ws);
  for (int round = 0; round < 3; ++round) {
    double excess = 0;
    double exact = 0;
    for (std::uint32_t o = 0; o < c.trips.origin_count(); ++o) {
      origin_bush& b = bushes[o];
      b.update(c.net, shared, ws);
      // Zero passes: only the labelling, at the current costs.
      const equilibrate_result r = b.equilibrate(c.net, shared, ws, {0, 0});
      double tstt_o = 0;
      for (link_index l = 0; l < c.net.link_count(); ++l)
        tstt_o += b.link_flows()[l] * shared.cost[l];
      const double sptt_o =
          shortest_path_cost(c.net, c.trips.origin(o), c.trips.destinations(o), shared.cost, ws);
      CHECK(r.excess_cost >= -1e-9 * tstt_o);
      CHECK(r.excess_cost <= tstt_o - sptt_o + 1e-9 * tstt_o);
      excess += r.excess_cost;
      exact += tstt_o - sptt_o;
      b.equilibrate(c.net, shared, ws, {});
    }
    CHECK(excess > 0);
    CHECK(excess <= exact);
  }
}

TEST_CASE("blending a bush's flows with its previous ones is a convex combination") {
  const tntp_case c = load_case("SiouxFalls");
  bush_workspace ws;
  link_state shared;
  shared.reset(c.net);
  origin_bush b;
  b.initialize(c.net, c.trips.origin(0), c.trips.destinations(0), shared, ws);
  const std::vector<double> before(b.link_flows().begin(), b.link_flows().end());
  b.update(c.net, shared, ws);
  b.equilibrate(c.net, shared, ws, {});
  const std::vector<double> after(b.link_flows().begin(), b.link_flows().end());
  REQUIRE(after != before);

  origin_bush half = b;
  half.blend(before, 0.5);
  origin_bush none = b;
  none.blend(before, 0.0);
  origin_bush full = b;
  full.blend(before, 1.0);
  for (link_index l = 0; l < c.net.link_count(); ++l) {
    CAPTURE(l);
    CHECK(half.link_flows()[l] == doctest::Approx(0.5 * (before[l] + after[l])).epsilon(1e-12));
    CHECK(none.link_flows()[l] == before[l]);
    CHECK(full.link_flows()[l] == after[l]);
  }
}

TEST_CASE("more threads than workers share the bush updates and measurements, same result") {
  const tntp_case c = load_case("ChicagoSketch", {0.02, 0.04});
  solver_options options;
  options.relative_gap_target = 1e-6;
  options.threads = 1;
  const solution sequential = solve(c.net, c.trips, options);
  options.threads = 2;
  const solution threaded = solve(c.net, c.trips, options);
  CHECK(sequential.stop == stop_reason::gap_reached);
  CHECK(sequential.relative_gap <= 1e-6);
  CHECK(threaded.link_flow == sequential.link_flow);
  CHECK(threaded.iterations == sequential.iterations);
  CHECK(threaded.objective == sequential.objective);
  CHECK(threaded.relative_gap == sequential.relative_gap);

  // The phases driven by hand with 3 parts: every part updated, then one block shifting, the
  // round begun as solve() begins its first (the bushes' own gap as the hint: a cold start is not
  // measured before it).
  options.threads = 3;
  options.iterations_max = 1;
  const solution one_round = solve(c.net, c.trips, options);
  REQUIRE(one_round.stop == stop_reason::iterations_max);
  REQUIRE(one_round.iterations == 1);
  block_solver solver(c.net, c.trips, options);
  REQUIRE(solver.workers() == 1);
  REQUIRE(solver.parts() == 3);
  for (std::uint32_t p = 0; p < solver.parts(); ++p) solver.measure_slice(p);
  const double start_gap = solver.finish_measure().relative_gap;
  solver.begin_round(solver.bush_gap());
  for (std::uint32_t p = 0; p < solver.parts(); ++p) solver.update_part(p);
  solver.propose(0);
  solver.combine();
  // A measurement split by parts equals one split by workers.
  for (std::uint32_t p = 0; p < solver.parts(); ++p) solver.measure_slice(p);
  const gap_measure by_parts = solver.finish_measure();
  solver.measure_part(0);
  const gap_measure by_workers = solver.finish_measure();
  CHECK(by_parts.relative_gap == by_workers.relative_gap);
  CHECK(by_parts.relative_gap < start_gap / 10);
  // The first round of solve() (same phases) reaches the same point, bit for bit.
  CHECK(by_parts.relative_gap == one_round.relative_gap);
  CHECK(by_parts.tstt == one_round.tstt);
  CHECK(solver.objective() == one_round.objective);
}

TEST_CASE("bush updates keep a topological order and every bush link carries its own flow") {
  const tntp_case c = load_case("ChicagoSketch", {0.02, 0.04});
  bush_workspace ws;
  link_state shared;
  shared.reset(c.net);
  std::vector<origin_bush> bushes(40);
  for (std::uint32_t o = 0; o < bushes.size(); ++o)
    bushes[o].initialize(c.net, c.trips.origin(o), c.trips.destinations(o), shared, ws);
  std::uint32_t added = 0;
  std::uint32_t removed = 0;
  for (int round = 0; round < 4; ++round) {
    for (auto& b : bushes) {
      const bush_update_result r = b.update(c.net, shared, ws);
      added += r.links_added;
      removed += r.links_removed;
      b.equilibrate(c.net, shared, ws, {});
    }
  }
  CHECK(added > 0);
  CHECK(removed > 0);
  // Flow conservation on every bush: what enters a node other than the origin either ends there
  // as demand or leaves it, and flows sit on bush links only.
  for (std::uint32_t o = 0; o < bushes.size(); ++o) {
    const origin_bush& b = bushes[o];
    std::vector<double> net_inflow(c.net.node_count(), 0.0);
    std::uint32_t on_bush = 0;
    for (link_index l = 0; l < c.net.link_count(); ++l) {
      const double f = b.link_flows()[l];
      CHECK(f >= 0);
      if (!b.contains(l)) {
        CHECK(f == 0);
        continue;
      }
      ++on_bush;
      net_inflow[c.net.to(l)] += f;
      net_inflow[c.net.from(l)] -= f;
    }
    CHECK(on_bush == b.link_count());
    for (const destination_flow& d : c.trips.destinations(o)) net_inflow[d.destination] -= d.flow;
    for (node_index n = 0; n < c.net.node_count(); ++n) {
      if (n == b.origin()) continue;
      CAPTURE(n);
      CHECK(std::abs(net_inflow[n]) <= 1e-6);
    }
  }
}

namespace {

// A copy of `net` with link `closed` closed (capacity 0).
network with_closed_link(const network& net, link_index closed) {
  std::vector<link_spec> links;
  for (link_index l = 0; l < net.link_count(); ++l) links.push_back(net.spec(l));
  links[closed].capacity = 0;
  auto variant = network::build(net.node_count(), net.first_thru_node(), links, net.weights());
  if (!variant) FAIL(variant.error());
  return std::move(variant).value();
}

// Per-origin conservation: what enters a node other than the origin ends there as demand or
// leaves it; flows are never negative and sit on open bush links only.
void check_bushes_conserve_flow(const network& net, const demand& trips, const solution& s) {
  REQUIRE(s.bushes.size() == trips.origin_count());
  for (std::uint32_t o = 0; o < trips.origin_count(); ++o) {
    const origin_bush& b = s.bushes[o];
    std::vector<double> net_inflow(net.node_count(), 0.0);
    for (link_index l = 0; l < net.link_count(); ++l) {
      const double f = b.link_flows()[l];
      REQUIRE(f >= 0);
      if (f == 0) continue;
      REQUIRE(b.contains(l));
      REQUIRE_FALSE(net.closed(l));
      net_inflow[net.to(l)] += f;
      net_inflow[net.from(l)] -= f;
    }
    for (const destination_flow& d : trips.destinations(o)) net_inflow[d.destination] -= d.flow;
    for (node_index n = 0; n < net.node_count(); ++n) {
      if (n == b.origin()) continue;
      CAPTURE(o);
      CAPTURE(n);
      REQUIRE(std::abs(net_inflow[n]) <= 1e-6);
    }
  }
}

}  // namespace

TEST_CASE("warm start: ChicagoSketch with its busiest road link closed repairs the bushes") {
  const tntp_case base = load_case("ChicagoSketch", {0.02, 0.04});
  solver_options options;
  options.relative_gap_target = 1e-9;
  const solution baseline = solve(base.net, base.trips, options);
  REQUIRE(baseline.stop == stop_reason::gap_reached);
  // Link 1083 (TNTP 564 -> 563) carries the most flow of the links between non-zone nodes.
  const link_index closed = 1083;
  REQUIRE(base.net.from(closed) == 563);
  REQUIRE(base.net.to(closed) == 562);
  CHECK(baseline.link_flow[closed] == doctest::Approx(20098).epsilon(1e-3));
  const network variant = with_closed_link(base.net, closed);

  const solution cold = solve(variant, base.trips, options);
  const solution warm = solve(variant, base.trips, options, &baseline);
  REQUIRE(cold.stop == stop_reason::gap_reached);
  REQUIRE(warm.stop == stop_reason::gap_reached);
  CHECK(warm.warm_started);
  CHECK(warm.relative_gap <= 1e-9);
  CHECK(std::abs(warm.objective - cold.objective) <= 1e-8 * cold.objective);
  CHECK(warm.link_flow[closed] == 0);
  CHECK(warm.unassigned_flow == 0);
  CHECK(warm.assigned_flow == cold.assigned_flow);
  // About half the bushes used the link. In a few, every other way into its head (563) comes from
  // nodes after it in the bush's order: those are built anew, all others are repaired.
  CHECK(warm.origins_repaired > 150);
  CHECK(warm.origins_rebuilt * 20 < warm.origins_repaired);
  CHECK(warm.iterations < cold.iterations);
  check_bushes_conserve_flow(variant, base.trips, warm);

  // Deterministic: the same warm start gives the same flows, bit for bit.
  const solution again = solve(variant, base.trips, options, &baseline);
  CHECK(again.link_flow == warm.link_flow);
}

TEST_CASE("warm start: a closure that cuts a destination off reports it as unassigned") {
  // 0 -> 1 -> 2 and 0 -> 2: closing 1 -> 2 leaves the direct link; closing both cuts 2 off.
  const network net = build_network(
      3, 0, {linear(0, 1, 1, 10), linear(1, 2, 1, 10), linear(0, 2, 5, 10), linear(1, 0, 1, 10)});
  const demand trips = build_demand(net, {{0, 2, 20}, {1, 2, 5}});
  solver_options options;
  options.relative_gap_target = 1e-12;
  const solution baseline = solve(net, trips, options);
  REQUIRE(baseline.stop == stop_reason::gap_reached);
  REQUIRE(baseline.link_flow[1] > 0);

  const network one = with_closed_link(net, 1);
  const solution warm = solve(one, trips, options, &baseline);
  const solution cold = solve(one, trips, options);
  CHECK(warm.warm_started);
  CHECK(warm.link_flow[1] == 0);
  // Everything bound for 2 now takes 0 -> 2, origin 1's demand by way of 0.
  CHECK(warm.unassigned_flow == cold.unassigned_flow);
  CHECK(warm.link_flow[2] == doctest::Approx(cold.link_flow[2]).epsilon(1e-9));
  CHECK(warm.link_flow[2] == doctest::Approx(25).epsilon(1e-12));
  CHECK(warm.link_flow[3] == doctest::Approx(5).epsilon(1e-12));
  CHECK(warm.origins_repaired + warm.origins_rebuilt == 2);

  std::vector<link_spec> links;
  for (link_index l = 0; l < net.link_count(); ++l) links.push_back(net.spec(l));
  links[1].capacity = 0;
  links[2].capacity = 0;
  auto both = network::build(3, 0, links, {});
  REQUIRE(both.has_value());
  const solution cut = solve(*both, trips, options, &baseline);
  const solution cut_cold = solve(*both, trips, options);
  CHECK(cut.warm_started);
  CHECK(cut.unassigned_flow == 25);
  CHECK(cut.unassigned_flow == cut_cold.unassigned_flow);
  CHECK(cut.assigned_flow == 0);
  CHECK(cut.origins_rebuilt == 2);
  for (link_index l = 0; l < net.link_count(); ++l) CHECK(cut.link_flow[l] == 0);
}
