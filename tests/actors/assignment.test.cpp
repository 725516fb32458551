#include "actors/assignment.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <cmath>
#include <filesystem>
#include <string>

#include "twin/assign/tntp.hpp"
#include "twin/scenario/scenario.hpp"

namespace {

namespace fs = std::filesystem;
using namespace twin::assign;

const fs::path tntp_data = fs::path(CITYTWIN_TEST_DATA) / "tntp";

tntp_case load_case(const std::string& name) {
  auto c = load_tntp_case(tntp_data / name, name, {});
  if (!c) FAIL(c.error().to_string());
  return std::move(c).value();
}

// Interleaved rather than contiguous, so that the parts differ from solve()'s own slices.
std::vector<std::uint32_t> interleaved_parts(std::uint32_t origins, std::uint32_t parts) {
  std::vector<std::uint32_t> part(origins);
  for (std::uint32_t o = 0; o < origins; ++o) part[o] = (o * 7) % parts;
  return part;
}

struct actor_env {
  actor_env() {
    cfg.set("scheduler.max-threads", std::size_t{2});
    sys = std::make_unique<caf::actor_system>(cfg);
  }
  caf::actor_system_config cfg;  // must outlive the system
  std::unique_ptr<caf::actor_system> sys;
};

void check_identical(const solution& actors_result, const solution& threads_result) {
  CHECK(actors_result.link_flow == threads_result.link_flow);
  CHECK(actors_result.link_cost == threads_result.link_cost);
  CHECK(actors_result.objective == threads_result.objective);
  CHECK(actors_result.relative_gap == threads_result.relative_gap);
  CHECK(actors_result.tstt == threads_result.tstt);
  CHECK(actors_result.sptt == threads_result.sptt);
  CHECK(actors_result.iterations == threads_result.iterations);
  CHECK(actors_result.stop == threads_result.stop);
  REQUIRE(actors_result.trace.size() == threads_result.trace.size());
  for (std::size_t i = 0; i < actors_result.trace.size(); ++i) {
    CAPTURE(i);
    CHECK(actors_result.trace[i].relative_gap == threads_result.trace[i].relative_gap);
    CHECK(actors_result.trace[i].gap_exact == threads_result.trace[i].gap_exact);
  }
}

}  // namespace

TEST_CASE("SiouxFalls on district worker actors equals the single-threaded solve bit for bit") {
  const tntp_case c = load_case("SiouxFalls");
  actor_env env;
  solver_options options;
  options.relative_gap_target = 1e-10;
  const solution reference = solve(c.net, c.trips, options);
  for (const std::uint32_t parts : {3u, 4u}) {
    CAPTURE(parts);
    const solution s = actors::solve_on_actors(*env.sys, c.net, c.trips, options,
                                               interleaved_parts(c.trips.origin_count(), parts));
    CHECK(s.stop == stop_reason::gap_reached);
    CHECK(s.relative_gap <= 1e-10);
    CHECK(std::abs(s.objective - 4231335.28710744) <= 1e-8 * 4231335.28710744);
    check_identical(s, reference);
  }
}

TEST_CASE("Anaheim on district worker actors equals the single-threaded solve bit for bit") {
  const tntp_case c = load_case("Anaheim");
  actor_env env;
  solver_options options;
  options.relative_gap_target = 1e-9;
  const solution reference = solve(c.net, c.trips, options);
  const solution s = actors::solve_on_actors(*env.sys, c.net, c.trips, options,
                                             interleaved_parts(c.trips.origin_count(), 4));
  CHECK(s.stop == stop_reason::gap_reached);
  CHECK(std::abs(s.objective - 1286032.17109603) <= 1e-8 * 1286032.17109603);
  check_identical(s, reference);
}

TEST_CASE("a warm start on actors: closing a link, from the baseline's bushes") {
  const tntp_case base = load_case("SiouxFalls");
  actor_env env;
  solver_options options;
  options.relative_gap_target = 1e-9;
  const auto parts = interleaved_parts(base.trips.origin_count(), 3);
  const solution baseline = actors::solve_on_actors(*env.sys, base.net, base.trips, options, parts);

  std::vector<link_spec> links;
  for (link_index l = 0; l < base.net.link_count(); ++l) links.push_back(base.net.spec(l));
  links[10].capacity = 0;
  auto variant = network::build(base.net.node_count(), base.net.first_thru_node(), links, {});
  REQUIRE(variant.has_value());

  const solution threads_warm = solve(*variant, base.trips, options, &baseline);
  const solution warm =
      actors::solve_on_actors(*env.sys, *variant, base.trips, options, parts, &baseline);
  CHECK(warm.warm_started);
  CHECK(warm.origins_repaired > 0);
  CHECK(warm.origins_repaired + warm.origins_rebuilt < base.trips.origin_count());
  CHECK(warm.link_flow[10] == 0);
  CHECK(warm.relative_gap <= 1e-9);
  CHECK(warm.objective > baseline.objective);
  check_identical(warm, threads_warm);

  // Through the solve_function, as the scenario engine calls it.
  const solve_function solver = actors::actor_solver(*env.sys);
  const solution again = solver(*variant, base.trips, options, parts, &baseline);
  CHECK(again.link_flow == warm.link_flow);
}

TEST_CASE("parts without origins and a stopping limit behave as in solve()") {
  const tntp_case c = load_case("SiouxFalls");
  actor_env env;
  solver_options options;
  options.relative_gap_target = 1e-12;
  options.iterations_max = 3;
  // Every origin in part 5: parts 0 to 4 have nothing to do.
  const std::vector<std::uint32_t> parts(c.trips.origin_count(), 5);
  const solution s = actors::solve_on_actors(*env.sys, c.net, c.trips, options, parts);
  CHECK(s.stop == stop_reason::iterations_max);
  CHECK(s.iterations == 3);
  check_identical(s, solve(c.net, c.trips, options));
}

TEST_CASE("a Macau scenario solved with one worker actor per district equals the default solve") {
  auto s = twin::load_scenario(fs::path(CITYTWIN_EXAMPLES) / "macau" / "scenarios" /
                               "sai-van-closed.yaml");
  REQUIRE(s.has_value());
  actor_env env;
  const solve_function on_actors = actors::actor_solver(*env.sys);
  std::vector<std::vector<std::uint32_t>> parts_seen;
  twin::run_options options;
  options.solver = [&](const network& net, const demand& trips, const solver_options& so,
                       std::vector<std::uint32_t> part_of_origin, const solution* warm) {
    parts_seen.push_back(part_of_origin);
    return on_actors(net, trips, so, std::move(part_of_origin), warm);
  };
  const twin::scenario_result by_actors = twin::run_scenario(*s, options);
  const twin::scenario_result by_default = twin::run_scenario(*s);

  REQUIRE(parts_seen.size() == 1 + s->spec.variants.size());
  // Every origin is the centroid of a zone: its part is that zone's district.
  for (const auto& parts : parts_seen) {
    std::vector<std::uint32_t> expected;
    for (const auto& z : s->base.zones) expected.push_back(z.district.value);
    std::vector<std::uint32_t> seen = parts;
    std::sort(seen.begin(), seen.end());
    std::sort(expected.begin(), expected.end());
    // Origins are the zones with outgoing trips: a sub-multiset of the zones' districts.
    CHECK(std::includes(expected.begin(), expected.end(), seen.begin(), seen.end()));
    for (const std::uint32_t p : parts) CHECK(p < s->base.districts.size());
    // Several districts, so several worker actors.
    CHECK(std::unique(seen.begin(), seen.end()) - seen.begin() > 1);
  }

  const auto same = [](const twin::network_result& a, const twin::network_result& b) {
    REQUIRE(a.links.size() == b.links.size());
    for (std::size_t l = 0; l < a.links.size(); ++l) {
      CAPTURE(l);
      CHECK(a.links[l].flow_veh_h == b.links[l].flow_veh_h);
    }
    CHECK(a.iterations == b.iterations);
    CHECK(a.relative_gap == b.relative_gap);
    CHECK(a.gap_reached);
    CHECK(a.tstt_veh_h == b.tstt_veh_h);
    CHECK(a.warm_started == b.warm_started);
  };
  same(by_actors.baseline, by_default.baseline);
  REQUIRE(by_actors.variants.size() == by_default.variants.size());
  for (std::size_t v = 0; v < by_actors.variants.size(); ++v)
    same(by_actors.variants[v].result, by_default.variants[v].result);
}
