// citytwin: the command line. main() is the composition root: it builds the clock, the actor
// system, the metrics registry and the transport, and passes them down.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "apps/commands.hpp"
#include "apps/signals.hpp"

int main(int argc, char** argv) {
  apps::block_termination_signals();
  CLI::App app{"citytwin: a live digital twin of a city, with what-if scenarios"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "citytwin 0.1.0");
  apps::add_node_command(app);
  apps::add_feed_command(app);
  apps::add_query_command(app);
  apps::add_demo_command(app);
  apps::add_city_command(app);
  apps::add_assign_command(app);
  apps::add_scenario_command(app);
  apps::add_plume_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return apps::exit_code();
}
