// The assignment benchmark: time to a relative gap of 1e-4, 1e-6 and 1e-8 on the published TNTP
// cases, with one worker and with two, beside PUBLISHED figures of a well-known C implementation of
// Algorithm B (constants from an earlier measurement, not measured in this run); then the saving of
// a warm start after closing the most loaded road link whose closing strands no demand.
// Run by hand (`make bench`); `--quick` is a smoke test and asserts no speed, only that every solve
// reaches its gap and that warm and cold starts agree.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "twin/assign/assignment.hpp"

namespace {

namespace assign = twin::assign;
namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

constexpr std::uint32_t repeats_max = 100;
constexpr double not_published = -1;

// Gaps timed, and the published times a well-known C implementation of Algorithm B took to reach
// them, single-threaded on a 2-core machine of the kind the project builds on (seconds, measured
// once, not in this run; not_published where not published).
constexpr double gap_targets[] = {1e-4, 1e-6, 1e-8};
constexpr std::size_t gap_target_count = std::size(gap_targets);

struct bench_case {
  const char* name;
  assign::cost_weights weights;
  double published_s[gap_target_count];
};

const bench_case all_cases[] = {
    {"SiouxFalls", {0, 0}, {not_published, not_published, 0.003}},
    {"Anaheim", {0, 0}, {not_published, not_published, 0.02}},
    // Its published solution weighs toll and length into the cost.
    {"ChicagoSketch", {0.02, 0.04}, {0.23, 0.37, 0.61}},
};

struct run_config {
  std::uint32_t workers;
  std::uint32_t threads;
};
// One worker on two threads shares only the bush updates and gap measurements; two workers on one
// thread separate what the block scheme costs from what the second thread gains.
constexpr run_config configs[] = {{1, 1}, {1, 2}, {2, 1}, {2, 2}};

struct bench_options {
  std::string data_dir = CITYTWIN_BENCH_TNTP;
  std::string only_case;
  std::uint32_t repeats = 3;
  bool quick = false;
  bool single_thread = false;  // only one worker on one thread
  bool skip_warm_start = false;
  double only_gap = 0;  // 0: every gap of gap_targets
};

struct timed_solve {
  assign::solution solution;
  double seconds = 0;  // the fastest of the repeats
};

// Solves `repeats` times and keeps the fastest time: on a shared machine the minimum is the
// figure least disturbed by others. Every repeat gives the same solution (the engine is
// deterministic for a given worker count).
timed_solve time_solve(const assign::network& net, const assign::demand& trips,
                       const assign::solver_options& options, std::uint32_t repeats,
                       const assign::solution* warm_start = nullptr) {
  timed_solve best;
  best.seconds = INFINITY;
  for (std::uint32_t r = 0; r < repeats; ++r) {
    const auto start = steady::now();
    assign::solution s = assign::solve(net, trips, options, warm_start);
    const double seconds = std::chrono::duration<double>(steady::now() - start).count();
    if (seconds < best.seconds) {
      best.seconds = seconds;
      best.solution = std::move(s);
    }
  }
  return best;
}

bool reached(const assign::solution& s, double target) {
  return s.stop == assign::stop_reason::gap_reached && s.relative_gap <= target;
}

std::string published_text(double published_s, double seconds) {
  if (published_s == not_published) return "        -        -";
  char text[64];
  std::snprintf(text, sizeof text, "%7.3f s %7.2fx", published_s, seconds / published_s);
  return text;
}

// Returns the number of solves that failed to reach their target.
int time_case(const bench_case& c, const assign::tntp_case& data, const bench_options& o) {
  int failures = 0;
  for (std::size_t t = 0; t < gap_target_count; ++t) {
    if (o.only_gap > 0 && gap_targets[t] != o.only_gap) continue;
    for (const run_config& config : configs) {
      if (o.single_thread && (config.workers != 1 || config.threads != 1)) continue;
      assign::solver_options options;
      options.relative_gap_target = gap_targets[t];
      options.workers = config.workers;
      options.threads = config.threads;
      const timed_solve r = time_solve(data.net, data.trips, options, o.repeats);
      const bool ok = reached(r.solution, gap_targets[t]);
      if (!ok) ++failures;
      std::printf("%-14s %7.0e %7u %7u %9.3f s %6u %10.2e  %s%s\n", c.name, gap_targets[t],
                  config.workers, config.threads, r.seconds, r.solution.iterations,
                  r.solution.relative_gap, published_text(c.published_s[t], r.seconds).c_str(),
                  ok ? "" : "  GAP NOT REACHED");
      std::fflush(stdout);
    }
  }
  return failures;
}

// Whether every OD pair with demand keeps a path when link `without` is closed as well.
bool keeps_demand_connected(const assign::network& net, const assign::demand& trips,
                            assign::link_index without) {
  std::vector<std::uint8_t> seen(net.node_count());
  std::vector<assign::node_index> stack;
  for (std::uint32_t slot = 0; slot < trips.origin_count(); ++slot) {
    const assign::node_index origin = trips.origin(slot);
    std::fill(seen.begin(), seen.end(), 0);
    seen[origin] = 1;
    stack.assign(1, origin);
    while (!stack.empty()) {
      const assign::node_index n = stack.back();
      stack.pop_back();
      if (!net.may_leave(n, origin)) continue;
      for (const assign::link_index l : net.out_links(n)) {
        if (l == without || net.closed(l) || seen[net.to(l)]) continue;
        seen[net.to(l)] = 1;
        stack.push_back(net.to(l));
      }
    }
    for (const auto& d : trips.destinations(slot))
      if (d.flow > 0 && d.destination != origin && !seen[d.destination]) return false;
  }
  return true;
}

// The most loaded road link (between nodes that are no zones: closing a zone's connector would cut
// its demand off, which measures nothing about re-routing) whose closing strands no OD pair.
assign::link_index link_to_close(const assign::tntp_case& data, const std::vector<double>& flows) {
  std::vector<std::uint8_t> is_zone(data.net.node_count(), 0);
  for (std::uint32_t slot = 0; slot < data.trips.origin_count(); ++slot) {
    is_zone[data.trips.origin(slot)] = 1;
    for (const auto& d : data.trips.destinations(slot)) is_zone[d.destination] = 1;
  }
  std::vector<assign::link_index> roads;
  for (assign::link_index l = 0; l < data.net.link_count(); ++l)
    if (!is_zone[data.net.from(l)] && !is_zone[data.net.to(l)]) roads.push_back(l);
  std::stable_sort(roads.begin(), roads.end(),
                   [&](assign::link_index a, assign::link_index b) { return flows[a] > flows[b]; });
  for (const assign::link_index l : roads)
    if (keeps_demand_connected(data.net, data.trips, l)) return l;
  return assign::no_link;
}

// Closes the most loaded road link that strands no demand and re-solves from the old solution and
// from scratch. Returns the number of failed checks.
int time_warm_start(const bench_case& c, const assign::tntp_case& data, const bench_options& o) {
  constexpr double target = 1e-6;
  assign::solver_options options;
  options.relative_gap_target = target;
  const timed_solve baseline = time_solve(data.net, data.trips, options, 1);
  if (!reached(baseline.solution, target)) {
    std::printf("%s: the baseline did not reach %.0e\n", c.name, target);
    return 1;
  }
  const auto& flows = baseline.solution.link_flow;
  const assign::link_index closed = link_to_close(data, flows);
  if (closed == assign::no_link) {
    std::printf("%s: no road link whose closing strands no demand\n", c.name);
    return 1;
  }
  std::vector<assign::link_spec> links;
  links.reserve(data.net.link_count());
  for (assign::link_index l = 0; l < data.net.link_count(); ++l) links.push_back(data.net.spec(l));
  links[closed].capacity = 0;
  auto after = assign::network::build(data.net.node_count(), data.net.first_thru_node(),
                                      std::move(links), data.net.weights());
  if (!after) {
    std::printf("%s: cannot close link %u: %s\n", c.name, closed, after.error().c_str());
    return 1;
  }
  const timed_solve cold = time_solve(*after, data.trips, options, o.repeats);
  const timed_solve warm = time_solve(*after, data.trips, options, o.repeats, &baseline.solution);

  std::printf(
      "\nwarm start on %s: close the most loaded road link that strands no demand, %u (%u -> "
      "%u, %.1f vehicles "
      "at %.0e); re-solve to %.0e\n",
      c.name, closed, data.net.from(closed) + 1, data.net.to(closed) + 1, flows[closed], target,
      target);
  std::printf("  %-22s %9.3f s %6u iterations\n", "baseline (before)", baseline.seconds,
              baseline.solution.iterations);
  std::printf("  %-22s %9.3f s %6u iterations, objective %.6f\n", "cold", cold.seconds,
              cold.solution.iterations, cold.solution.objective);
  std::printf("  %-22s %9.3f s %6u iterations, objective %.6f, %u bushes repaired, %u rebuilt\n",
              "warm", warm.seconds, warm.solution.iterations, warm.solution.objective,
              warm.solution.origins_repaired, warm.solution.origins_rebuilt);
  std::printf("  saving: %.0f %% of the cold time (%.1fx faster)\n",
              100.0 * (1.0 - warm.seconds / cold.seconds), cold.seconds / warm.seconds);

  int failures = 0;
  if (!reached(cold.solution, target) || !reached(warm.solution, target)) {
    std::printf("  a re-solve did not reach the gap\n");
    ++failures;
  }
  if (!warm.solution.warm_started) {
    std::printf("  the warm start was not taken\n");
    ++failures;
  }
  // Two solutions within the gap differ in objective by less than the gap's share of the TSTT.
  const double tolerance = 2 * target * cold.solution.tstt;
  if (std::abs(warm.solution.objective - cold.solution.objective) > tolerance) {
    std::printf("  warm and cold objectives differ by more than %.3g\n", tolerance);
    ++failures;
  }
  if (cold.solution.unassigned_flow != 0 || warm.solution.unassigned_flow != 0) {
    std::printf("  %.1f / %.1f vehicles (cold / warm) can no longer reach their destination\n",
                cold.solution.unassigned_flow, warm.solution.unassigned_flow);
    ++failures;
  }
  if (warm.solution.link_flow[closed] != 0 || cold.solution.link_flow[closed] != 0) {
    std::printf("  the closed link still carries flow\n");
    ++failures;
  }
  return failures;
}

int run(const bench_options& o) {
  std::vector<const bench_case*> cases;
  for (const bench_case& c : all_cases) {
    if (!o.only_case.empty() ? o.only_case == c.name
                             : !o.quick || std::string(c.name) != "ChicagoSketch")
      cases.push_back(&c);
  }
  if (cases.empty()) {
    std::fprintf(stderr,
                 "citytwin_bench_assign: unknown case '%s' (SiouxFalls, Anaheim, "
                 "ChicagoSketch)\n",
                 o.only_case.c_str());
    return 2;
  }
  std::printf(
      "time to a relative gap, fastest of %u runs; published: figures of a well-known C "
      "implementation\nof Algorithm B, single-threaded, on a 2-core machine of this kind, "
      "measured once (not in this run);\nx published = ours / published\n\n",
      o.repeats);
  std::printf("%-14s %7s %7s %7s %11s %6s %10s  %9s %11s\n", "case", "gap", "workers", "threads",
              "time", "iter", "reached", "published", "x published");
  int failures = 0;
  std::vector<assign::tntp_case> loaded;
  loaded.reserve(cases.size());
  for (const bench_case* c : cases) {
    auto data = assign::load_tntp_case(fs::path(o.data_dir) / c->name, c->name, c->weights);
    if (!data) {
      std::fprintf(stderr, "citytwin_bench_assign: %s\n", data.error().to_string().c_str());
      return 2;
    }
    loaded.push_back(std::move(data).value());
    failures += time_case(*c, loaded.back(), o);
  }
  // The warm start is measured on the largest case run: ChicagoSketch unless --quick or --case.
  if (!o.skip_warm_start) failures += time_warm_start(*cases.back(), loaded.back(), o);
  std::printf("\n%s\n", failures == 0 ? "every solve reached its gap; warm and cold agree"
                                      : "SOME CHECKS FAILED");
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  bench_options o;
  CLI::App app{"citytwin assignment benchmark: time to a relative gap on the TNTP cases"};
  app.add_option("--case", o.only_case, "Only this case: SiouxFalls, Anaheim or ChicagoSketch");
  app.add_option("--repeat", o.repeats, "Runs per figure; the fastest is kept (default 3)")
      ->check(CLI::Range(std::uint32_t{1}, repeats_max));
  app.add_option("--data", o.data_dir, "Folder holding <case>/<case>_net.tntp and _trips.tntp");
  app.add_flag("--quick", o.quick,
               "A short run (SiouxFalls and Anaheim, one run each): a smoke test");
  app.add_flag("--single-thread", o.single_thread, "Only one worker on one thread");
  app.add_flag("--no-warm-start", o.skip_warm_start, "Skip the warm-start measurement");
  app.add_option("--gap", o.only_gap, "Only this gap: 1e-4, 1e-6 or 1e-8 (profiling one solve)")
      ->check(CLI::IsMember({1e-4, 1e-6, 1e-8}));
  CLI11_PARSE(app, argc, argv);
  if (o.quick && app.count("--repeat") == 0) o.repeats = 1;
  return run(o);
}
