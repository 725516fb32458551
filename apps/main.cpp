// citytwin: the command line. main() is the composition root: it builds the clock, the actor
// system, the metrics registry and the transport, and passes them down.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <vector>

#include "apps/commands.hpp"
#include "apps/signals.hpp"
#include "twin/base/check.hpp"

int main(int argc, char** argv) {
  apps::block_termination_signals();
  CLI::App app{"citytwin: a live digital twin of a city, with what-if scenarios"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "citytwin 0.1.0");
  const std::vector<apps::command> commands{
      apps::add_node_command(app),     apps::add_feed_command(app),  apps::add_query_command(app),
      apps::add_demo_command(app),     apps::add_city_command(app),  apps::add_assign_command(app),
      apps::add_scenario_command(app), apps::add_plume_command(app), apps::add_keygen_command(app),
      apps::add_snapshot_command(app), apps::add_cluster_command(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // require_subcommand(1): parse() has thrown unless exactly one was given.
  const auto given =
      std::find_if(commands.begin(), commands.end(), [](const auto& c) { return c.app->parsed(); });
  TWIN_CHECK(given != commands.end());
  return given->run();
}
