#pragma once

// Readers for the TNTP text formats of the "Transportation Networks for Research" collection:
// networks (*_net.tntp), demand (*_trips.tntp), reference link flows (*_flow.tntp) and node
// coordinates (*_node.tntp).
//
// The readers are tolerant of what the published files really contain (tabs or spaces, '~'
// comments, a trailing ';' on rows, blank lines, extra metadata keys, missing trailing optional
// columns) and strict about real errors: every error names the file, the 1-based line and the
// field. Node and zone numbers are kept 1-based as in the files; units are those of the file
// (they differ from one network to another: minutes, hours, feet, miles...).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "twin/base/expected.hpp"
#include "twin/city/bundle.hpp"

namespace twin::tntp {

// One row of a *_net.tntp file.
struct link_row {
  std::int32_t init_node = 0;
  std::int32_t term_node = 0;
  double capacity = 0;  // 0 means the link is closed
  double length = 0;
  double free_flow_time = 0;
  double b = 0;                // BPR multiplier
  double power = 0;            // BPR exponent
  double speed = 0;            // optional column, 0 when absent
  double toll = 0;             // optional column, 0 when absent
  std::int32_t link_type = 0;  // optional column, 0 when absent
  std::size_t line = 0;        // where the row is in the file, for later messages
};

struct net_file {
  std::int32_t zone_count = 0;
  std::int32_t node_count = 0;
  // Nodes numbered below it (all zones) may start or end a trip but carry no through traffic.
  std::int32_t first_thru_node = 1;
  std::vector<link_row> links;
};

// One origin-destination entry of a *_trips.tntp file.
struct od_row {
  std::int32_t origin = 0;
  std::int32_t destination = 0;
  double flow = 0;
};

struct trips_file {
  std::int32_t zone_count = 0;
  std::optional<double> total_flow_declared;  // <TOTAL OD FLOW>, when the file has it
  std::vector<od_row> rows;                   // in file order; no (origin, destination) twice
};

// One row of a *_flow.tntp file (a published solution).
struct flow_row {
  std::int32_t from_node = 0;
  std::int32_t to_node = 0;
  double volume = 0;
  double cost = 0;
};

// One row of a *_node.tntp file.
struct node_row {
  std::int32_t node = 0;
  double x = 0;
  double y = 0;
};

// The parse_* functions read text already in memory; `file` is only used in error messages.
expected<net_file, load_error> parse_net(std::string_view text, const std::string& file);
expected<trips_file, load_error> parse_trips(std::string_view text, const std::string& file);
expected<std::vector<flow_row>, load_error> parse_flow(std::string_view text,
                                                       const std::string& file);
expected<std::vector<node_row>, load_error> parse_nodes(std::string_view text,
                                                        const std::string& file);

expected<net_file, load_error> load_net(const std::filesystem::path& path);
expected<trips_file, load_error> load_trips(const std::filesystem::path& path);
expected<std::vector<flow_row>, load_error> load_flow(const std::filesystem::path& path);
expected<std::vector<node_row>, load_error> load_nodes(const std::filesystem::path& path);

}  // namespace twin::tntp
