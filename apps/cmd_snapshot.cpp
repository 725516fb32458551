// `citytwin snapshot save|inspect`: a node's state as a snapshot file, and what such a file holds
// (cluster/snapshot_file.hpp).
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>

#include "apps/commands.hpp"
#include "apps/node_settings.hpp"
#include "cluster/snapshot_file.hpp"
#include "node/node_host.hpp"

namespace apps {

namespace {

struct snapshot_flags {
  std::string file;
  bool json = false;
  node_flags node;  // save: the node whose data directory is read
  std::string out;
};

// Recovers a stopped node's state from its data directory (newest snapshot, then the log) with
// the node's own settings, and writes all of it to one snapshot file.
int run_save(snapshot_flags& f) {
  auto config = make_node_config(f.node);
  if (!config) {
    std::cerr << "citytwin snapshot save: " << config.error() << "\n";
    return 2;
  }
  if (config->data_dir.empty()) {
    std::cerr << "citytwin snapshot save: no data directory: give --data-dir DIR or `data_dir:` "
                 "in --config\n";
    return 2;
  }
  auto city = load_city_bundle(f.node.city);
  if (!city) {
    std::cerr << "citytwin snapshot save: " << city.error() << "\n";
    return 2;
  }
  config->serve = false;
  twin::system_clock clock;
  auto host = node::node_host::start(*city, *config, clock, nullptr);
  if (!host) {
    std::cerr << "citytwin snapshot save: " << host.error() << "\n";
    return 1;
  }
  std::cout << "  storage: " << (*host)->storage_summary() << "\n";
  auto written = (*host)->export_snapshot(f.out);
  if (!written) {
    std::cerr << "citytwin snapshot save: " << written.error() << "\n";
    return 1;
  }
  std::cout << "citytwin snapshot save: " << *written << "\n";
  return 0;
}

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
  auto* cmd = app.add_subcommand("snapshot", "write and read a node's snapshot files");
  cmd->require_subcommand(1);
  auto* save = cmd->add_subcommand(
      "save",
      "recover a stopped node's state from its data directory (its newest snapshot, then its "
      "log) and write all of it to one snapshot file");
  save->add_option("--city", f->node.city, "the node's city bundle; or `city:` in --config");
  save->add_option("--config", f->node.config_file,
                   "the node's YAML (city, data_dir and the ingest settings the log is replayed "
                   "with); flags override it");
  save->add_option("--data-dir", f->node.data_dir, "the node's data directory");
  save->add_option("--max-age", f->node.max_age, "as the node ran (default 7d)");
  save->add_option("--max-future", f->node.max_future, "as the node ran (default 5m)");
  save->add_option("--lateness", f->node.lateness, "as the node ran (default 1h)");
  save->add_option("--out", f->out, "the snapshot file to write")->required();
  auto* inspect = cmd->add_subcommand(
      "inspect",
      "print a snapshot file's city, LSN and time, and per district what its image holds");
  inspect->add_option("FILE", f->file, "the snapshot file")->required();
  inspect->add_flag("--json", f->json, "one JSON object instead of the table");
  return {cmd, [f, save] { return save->parsed() ? run_save(*f) : run_inspect(*f); }};
}

}  // namespace apps
