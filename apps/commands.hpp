#pragma once

#include <filesystem>
#include <string>

#include "twin/base/expected.hpp"
#include "twin/city/city.hpp"

namespace CLI {
class App;
}

namespace apps {

// Each subcommand registers itself and runs from its callback; exit_code() is what main returns.
void add_node_command(CLI::App& app);
void add_feed_command(CLI::App& app);
void add_query_command(CLI::App& app);
void add_demo_command(CLI::App& app);
void add_city_command(CLI::App& app);
void add_assign_command(CLI::App& app);
void add_scenario_command(CLI::App& app);
void add_plume_command(CLI::App& app);

int exit_code();
void set_exit_code(int code);

// Loads a bundle, or returns the loader's message (file, line, field).
twin::expected<twin::city_ptr, std::string> load_city_bundle(const std::filesystem::path& dir);

// Parses "90s", "15m", "2h", "7d" or a number of seconds into milliseconds.
twin::expected<twin::time_ms, std::string> parse_duration_ms(const std::string& text);

}  // namespace apps
