// `citytwin scenario run`: transport what-if scenarios on a city bundle.
#include <CLI/CLI.hpp>
#include <cmath>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "actors/compute_system.hpp"
#include "apps/commands.hpp"
#include "cluster/curve.hpp"
#include "cluster/live_fetch.hpp"
#include "node/snapshot_base.hpp"
#include "twin/report/report.hpp"
#include "twin/scenario/scenario.hpp"

namespace apps {

using cluster::fetch_live_snapshot;
using cluster::live_fetch_timeout_ms;

namespace {

struct scenario_flags {
  std::string file;
  std::string out;
  std::optional<double> gap;
  bool json = false;
  std::string node;      // a live base: overrides the file's base.node
  std::string snapshot;  // a snapshot file as the base: overrides the file's base.snapshot
  int node_timeout_ms = live_fetch_timeout_ms;
  curve_client_flags curve;
};

int fail(const std::string& message, int code) {
  std::cerr << "citytwin scenario: " << message << "\n";
  return code;
}

int run(const scenario_flags& f) {
  if (f.gap && !(*f.gap > 0 && *f.gap < 1))
    return fail("--gap must be in (0, 1), got " + std::to_string(*f.gap), 2);
  if (!(f.node_timeout_ms > 0))
    return fail("--node-timeout-ms must be positive, got " + std::to_string(f.node_timeout_ms), 2);
  if (!f.node.empty() && !f.snapshot.empty())
    return fail("--node and --snapshot together: the base is forked from one live state", 2);
  auto s = twin::load_scenario(f.file);
  if (!s) return fail(s.error().to_string(), 2);
  // Either flag replaces the file's live base, node or snapshot.
  if (!f.node.empty()) {
    s->spec.base_node = f.node;
    s->spec.base_snapshot.clear();
  }
  if (!f.snapshot.empty()) {
    s->spec.base_snapshot = f.snapshot;
    s->spec.base_node.clear();
  }
  if (!s->spec.base_snapshot.empty()) {
    auto live = node::live_snapshot_from_file(s->spec.base_snapshot, s->base, f.node_timeout_ms);
    if (!live) return fail("live base: " + live.error(), 1);
    if (auto ok = twin::attach_live_base(*s, std::move(*live)); !ok)
      return fail(ok.error().message, 1);
  } else if (!s->spec.base_node.empty()) {
    auto curve = cluster::curve_client_keys_from(f.curve.server_key, f.curve.secret);
    if (!curve) return fail(curve.error(), 2);
    auto live =
        fetch_live_snapshot(s->spec.base_node, s->base, f.node_timeout_ms, std::move(*curve));
    if (!live) return fail("live base: " + live.error(), 1);
    if (auto ok = twin::attach_live_base(*s, std::move(*live)); !ok)
      return fail(ok.error().message, 1);
  }
  // Each solve and each receptor grid runs on one actor system: one worker actor per district.
  actors::compute_system compute(2);
  auto options = compute.run_options();
  options.relative_gap = f.gap;
  const auto result = twin::run_scenario(*s, options);
  const std::filesystem::path dir = f.out.empty()
                                        ? std::filesystem::path("scenario-out") / s->spec.name
                                        : std::filesystem::path(f.out);
  auto written = twin::write_outputs(dir, *s, result);
  if (!written) return fail(written.error(), 1);
  if (f.json) {
    std::cout << twin::summary_json(*s, result);
    return 0;
  }
  std::cout << twin::comparison_table(*s, result) << "\nfiles:\n";
  for (const auto& p : *written) std::cout << "  " << p.string() << "\n";
  return 0;
}

}  // namespace

command add_scenario_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("scenario",
                                 "transport and environmental what-if scenarios on a city bundle");
  cmd->require_subcommand(1);
  auto f = std::make_shared<scenario_flags>();
  auto* run_cmd = cmd->add_subcommand(
      "run", "solve the baseline and every variant of a scenario file and compare them");
  run_cmd->add_option("file", f->file, "scenario file (YAML)")->required();
  run_cmd->add_option("--out", f->out,
                      "folder for summary.json, links.csv, districts.csv, links.geojson and the "
                      "maps (default: scenario-out/<scenario name>)");
  run_cmd->add_option("--gap", f->gap, "relative gap target, instead of the scenario's");
  run_cmd->add_flag("--json", f->json, "print summary.json instead of the table");
  run_cmd->add_option("--node", f->node,
                      "fork the live state of the node at this query address as the base "
                      "(instead of the file's base.node); the bundle still gives the network");
  run_cmd->add_option("--snapshot", f->snapshot,
                      "fork the live state held in this snapshot file of a node as the base "
                      "(instead of the file's base.snapshot or base.node), judged as of when it "
                      "was taken");
  run_cmd->add_option("--node-timeout-ms", f->node_timeout_ms,
                      "time allowed for reading the node's (or the snapshot's) live state "
                      "(default 5000)");
  add_curve_client_flags(run_cmd, f->curve);
  // require_subcommand(1): `run` is the only one.
  return {cmd, [f] { return run(*f); }};
}

}  // namespace apps
