// `citytwin snapshot inspect FILE`: what a snapshot file holds (cluster/snapshot_file.hpp).
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>

#include "apps/commands.hpp"
#include "cluster/snapshot_file.hpp"

namespace apps {

namespace {

struct snapshot_flags {
  std::string file;
  bool json = false;
};

int run_inspect(const snapshot_flags& f) {
  auto loaded = cluster::load_snapshot_file(f.file);
  if (!loaded) {
    std::cerr << "citytwin snapshot inspect: " << loaded.error().message << "\n";
    return 1;
  }
  std::cout << cluster::describe_snapshot(*loaded, f.json) << std::flush;
  return 0;
}

}  // namespace

command add_snapshot_command(CLI::App& app) {
  auto f = std::make_shared<snapshot_flags>();
  auto* cmd = app.add_subcommand("snapshot", "read a node's snapshot files");
  cmd->require_subcommand(1);
  auto* inspect = cmd->add_subcommand(
      "inspect",
      "print a snapshot file's city, LSN and time, and per district what its image holds");
  inspect->add_option("FILE", f->file, "the snapshot file")->required();
  inspect->add_flag("--json", f->json, "one JSON object instead of the table");
  // require_subcommand(1): `inspect` is the only one.
  return {cmd, [f] { return run_inspect(*f); }};
}

}  // namespace apps
