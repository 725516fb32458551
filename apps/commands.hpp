#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "twin/base/expected.hpp"
#include "twin/base/time.hpp"
#include "twin/city/city.hpp"

namespace CLI {
class App;
}

namespace apps {

// A subcommand as registered on the command line: once the line is parsed, main() runs the one
// given and returns what it returns, the process's exit code.
struct command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

// One file each (cmd_<name>.cpp, demo.cpp).
command add_node_command(CLI::App& app);
command add_feed_command(CLI::App& app);
command add_query_command(CLI::App& app);
command add_demo_command(CLI::App& app);
command add_city_command(CLI::App& app);
command add_assign_command(CLI::App& app);
command add_scenario_command(CLI::App& app);
command add_plume_command(CLI::App& app);
command add_keygen_command(CLI::App& app);
command add_snapshot_command(CLI::App& app);
command add_cluster_command(CLI::App& app);

// The CURVE flags of a client of a node (feed, query, scenario run --node).
struct curve_client_flags {
  std::string server_key;  // --curve-server-key: the node's public key, Z85 or a file
  std::string secret;      // --curve-secret: this client's secret key file
};
void add_curve_client_flags(CLI::App* cmd, curve_client_flags& f);

// Loads a bundle, or returns the loader's message (file, line, field).
twin::expected<twin::city_ptr, std::string> load_city_bundle(const std::filesystem::path& dir);

}  // namespace apps
