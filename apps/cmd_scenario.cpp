// `citytwin scenario run`: transport what-if scenarios on a city bundle.
#include <CLI/CLI.hpp>
#include <cmath>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "actors/assignment.hpp"
#include "apps/commands.hpp"
#include "twin/scenario.hpp"
#include "twin/scenario_output.hpp"

namespace apps {

namespace {

struct scenario_flags {
  std::string file;
  std::string out;
  std::optional<double> gap;
  bool json = false;
};

void fail(const std::string& message, int code) {
  std::cerr << "citytwin scenario: " << message << "\n";
  set_exit_code(code);
}

void run(const scenario_flags& f) {
  if (f.gap && !(*f.gap > 0 && *f.gap < 1))
    return fail("--gap must be in (0, 1), got " + std::to_string(*f.gap), 2);
  auto s = twin::load_scenario(f.file);
  if (!s) return fail(s.error().to_string(), 2);
  // Each solve runs on the actor system: one worker actor per district.
  actors::assignment_system solvers(2);
  twin::run_options options;
  options.relative_gap = f.gap;
  options.solver = solvers.solver();
  const auto result = twin::run_scenario(*s, options);
  const std::filesystem::path dir = f.out.empty()
                                        ? std::filesystem::path("scenario-out") / s->spec.name
                                        : std::filesystem::path(f.out);
  auto written = twin::write_outputs(dir, *s, result);
  if (!written) return fail(written.error(), 1);
  if (f.json) {
    std::cout << twin::summary_json(*s, result);
    return;
  }
  std::cout << twin::comparison_table(*s, result) << "\nfiles:\n";
  for (const auto& p : *written) std::cout << "  " << p.string() << "\n";
}

}  // namespace

void add_scenario_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("scenario", "transport what-if scenarios on a city bundle");
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
  run_cmd->callback([f] { run(*f); });
}

}  // namespace apps
