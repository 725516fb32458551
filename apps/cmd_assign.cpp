// `citytwin assign`: static user-equilibrium traffic assignment of a TNTP case.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "apps/commands.hpp"
#include "twin/assign/assignment.hpp"
#include "twin/assign/tntp.hpp"

namespace apps {

namespace {

namespace assign = twin::assign;

// Far above what two cores can use, but it bounds the per-block copies of the link state.
constexpr std::uint32_t assign_workers_max = 64;
constexpr std::uint32_t assign_threads_max = 64;
constexpr std::uint32_t assign_iterations_max = 1'000'000;

struct assign_flags {
  std::string net;
  std::string trips;
  std::string flows;
  double gap = 1e-6;
  double toll_factor = 0;
  double distance_factor = 0;
  std::uint32_t iterations_max = 1000;
  std::uint32_t workers = 1;
  std::uint32_t threads = 0;
  bool json = false;
};

int fail(const std::string& message, int code) {
  std::cerr << "citytwin assign: " << message << "\n";
  return code;
}

const char* to_string(assign::stop_reason r) {
  switch (r) {
    case assign::stop_reason::gap_reached:
      return "gap_reached";
    case assign::stop_reason::iterations_max:
      return "iterations_max";
    case assign::stop_reason::time_limit:
      return "time_limit";
  }
  return "unknown";
}

// The layout of the published *_flow.tntp files, so that their tools read ours too. 17
// significant digits: a flow read back is the flow solved, bit for bit.
twin::expected<bool, std::string> write_flows(const std::string& path, const assign::network& net,
                                              const assign::solution& s) {
  std::ofstream out(path);
  if (!out) return twin::unexpected{path + ": cannot open for writing"};
  char row[128];
  out << "From \tTo \tVolume \tCost \n";
  for (assign::link_index l = 0; l < net.link_count(); ++l) {
    std::snprintf(row, sizeof row, "%" PRIu32 " \t%" PRIu32 " \t%.17g \t%.17g \n", net.from(l) + 1,
                  net.to(l) + 1, s.link_flow[l], s.link_cost[l]);
    out << row;
  }
  out.flush();
  if (!out) return twin::unexpected{path + ": write failed"};
  return true;
}

std::string fixed(double v, int decimals) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(decimals) << v;
  return os.str();
}

std::string general(double v, int digits) {
  std::ostringstream os;
  os << std::setprecision(digits) << v;
  return os.str();
}

int run_assign(const assign_flags& f) {
  using clock = std::chrono::steady_clock;
  const auto load_start = clock::now();
  auto net_file = twin::tntp::load_net(f.net);
  if (!net_file) return fail(net_file.error().to_string(), 2);
  auto trips_file = twin::tntp::load_trips(f.trips);
  if (!trips_file) return fail(trips_file.error().to_string(), 2);
  auto net = assign::network_from_tntp(*net_file, f.net, {f.toll_factor, f.distance_factor});
  if (!net) return fail(net.error().to_string(), 2);
  auto trips = assign::demand_from_tntp(*trips_file, f.trips, *net);
  if (!trips) return fail(trips.error().to_string(), 2);
  const double load_s = std::chrono::duration<double>(clock::now() - load_start).count();

  assign::solver_options options;
  options.relative_gap_target = f.gap;
  options.iterations_max = f.iterations_max;
  options.workers = f.workers;
  options.threads = f.threads;
  const auto solve_start = clock::now();
  const assign::solution s = assign::solve(*net, *trips, options);
  const double solve_s = std::chrono::duration<double>(clock::now() - solve_start).count();

  if (!f.flows.empty()) {
    if (auto w = write_flows(f.flows, *net, s); !w) return fail(w.error(), 1);
  }

  if (f.json) {
    nlohmann::json out{{"iterations", s.iterations},
                       {"relative_gap", s.relative_gap},
                       {"objective", s.objective},
                       {"tstt", s.tstt},
                       {"seconds", solve_s},
                       {"sptt", s.sptt},
                       {"assigned", s.assigned_flow},
                       {"unassigned", s.unassigned_flow},
                       {"intrazonal", s.intrazonal_flow},
                       {"gap_target", f.gap},
                       {"stop", to_string(s.stop)},
                       {"workers", options.workers},
                       {"nodes", net->node_count()},
                       {"links", net->link_count()},
                       {"origins", trips->origin_count()},
                       {"load_seconds", load_s}};
    std::cout << out.dump(2) << std::endl;
  } else {
    auto line = [](const char* label, const std::string& value) {
      std::cout << "  " << std::left << std::setw(16) << label << value << "\n";
    };
    std::cout << "citytwin assign: " << f.net << " (" << net->node_count() << " nodes, "
              << net->link_count() << " links, " << trips->origin_count() << " origins)\n";
    line("iterations", std::to_string(s.iterations));
    line("relative gap", general(s.relative_gap, 3) + " (target " + general(f.gap, 3) + ")");
    line("objective", fixed(s.objective, 8));
    line("TSTT", fixed(s.tstt, 6));
    line("SPTT", fixed(s.sptt, 6));
    line("demand", fixed(s.assigned_flow, 2) + " assigned, " + fixed(s.unassigned_flow, 2) +
                       " unreachable, " + fixed(s.intrazonal_flow, 2) + " intrazonal");
    line("time", general(solve_s, 3) + " s (" + std::to_string(options.workers) +
                     (options.workers == 1 ? " worker" : " workers") + "; loading " +
                     general(load_s, 3) + " s)");
    if (!f.flows.empty()) line("flows", f.flows);
  }
  if (s.stop != assign::stop_reason::gap_reached)
    return fail("stopped at " + std::string(to_string(s.stop)) + " before the gap target " +
                    general(f.gap, 3) + " (reached " + general(s.relative_gap, 3) + ")",
                1);
  return 0;
}

}  // namespace

command add_assign_command(CLI::App& app) {
  auto f = std::make_shared<assign_flags>();
  auto* cmd = app.add_subcommand(
      "assign",
      "static user-equilibrium traffic assignment (Algorithm B) of a TNTP network and demand");
  cmd->footer(
      "Link cost: fft * (1 + b * (x / capacity)^power) + toll-factor * toll + distance-factor * "
      "length.\nChicagoSketch needs --toll-factor 0.02 --distance-factor 0.04 (its published "
      "solution uses them);\nthe other published cases use 0 and 0.\n"
      "Exit codes: 0 solved to the gap, 1 stopped before it (results still printed), 2 bad "
      "input.");
  cmd->add_option("--net", f->net, "network, TNTP *_net.tntp")->required();
  cmd->add_option("--trips", f->trips, "demand, TNTP *_trips.tntp")->required();
  cmd->add_option("--gap", f->gap, "stop at this relative gap (TSTT - SPTT) / TSTT (default 1e-6)")
      ->check(CLI::Range(1e-15, 1.0));
  cmd->add_flag("--json", f->json,
                "print {iterations, relative_gap, objective, tstt, seconds, sptt, assigned, "
                "unassigned, intrazonal, ...} as JSON");
  cmd->add_option("--flows", f->flows,
                  "write the link flows here in the TNTP flow format (From To Volume Cost)");
  cmd->add_option("--toll-factor", f->toll_factor,
                  "cost units per unit of toll (default 0; ChicagoSketch: 0.02)")
      ->check(CLI::Range(0.0, 1e12));
  cmd->add_option("--distance-factor", f->distance_factor,
                  "cost units per unit of length (default 0; ChicagoSketch: 0.04)")
      ->check(CLI::Range(0.0, 1e12));
  cmd->add_option("--max-iterations", f->iterations_max,
                  "give up after N iterations (default 1000)")
      ->check(CLI::Range(std::uint32_t{1}, assign_iterations_max));
  cmd->add_option("--workers", f->workers,
                  "origin blocks solved side by side and combined each round (default 1); the "
                  "result depends on it")
      ->check(CLI::Range(std::uint32_t{1}, assign_workers_max));
  cmd->add_option("--threads", f->threads,
                  "threads sharing the work (default: one per worker); never changes the result")
      ->check(CLI::Range(std::uint32_t{1}, assign_threads_max));
  return {cmd, [f] { return run_assign(*f); }};
}

}  // namespace apps
