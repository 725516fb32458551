#pragma once

// The node's settings from the command line and its YAML file, shared by `citytwin node` and the
// commands that open a node's data directory (`citytwin snapshot save`).

#include <string>

#include "node/node_host.hpp"
#include "twin/base/expected.hpp"

namespace CLI {
class App;
}

namespace apps {

struct node_flags {
  std::string city;
  std::string config_file;
  std::string ingest;
  std::string query;
  std::string metrics;
  unsigned threads = 0;
  std::string max_age;
  std::string max_future;
  std::string stale_after;
  std::string lateness;
  std::string ready_file;
  std::string curve_secret;
  std::string curve_allow;
  std::string data_dir;
  std::string durability;
  std::string snapshot_every;
  std::string cluster;
  std::string cluster_name;
  std::string node_id;
  std::string zone;
  std::string advertise_host;
  unsigned replication_factor = 0;
};

// The flags of `citytwin node`.
void add_node_flags(CLI::App* cmd, node_flags& f);

// Builds the node configuration: defaults, then the YAML file (--config), then the flags. Sets
// f.city from the file when the flag left it empty. Errors name the flag, or the file, line and
// field.
twin::expected<node::node_config, std::string> make_node_config(node_flags& f);

}  // namespace apps
