#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "process.hpp"

namespace systest {

using namespace std::chrono_literals;

inline const std::string citytwin_bin = CITYTWIN_BIN;
inline const std::string small_city = std::string(CITYTWIN_TEST_DATA) + "/bundles/small";
inline const std::string macau_city = std::string(CITYTWIN_EXAMPLES) + "/macau";

struct cli_result {
  int code = -2;
  std::string output;  // stdout
  std::string errors;  // stderr
};

// Runs a citytwin command to completion (bounded in time); its output files are in `dir`.
cli_result run_cli(const std::string& dir, const std::string& name, std::vector<std::string> args,
                   std::chrono::milliseconds timeout = 60s);

// A `citytwin node` on free ports of 127.0.0.1; its addresses come from the ready file it writes.
struct node_process {
  // file_size_max: the node's RLIMIT_FSIZE (0: none).
  node_process(const std::string& dir, const std::string& city, std::vector<std::string> extra = {},
               std::uint64_t file_size_max = 0);
  // GET /metrics of the node.
  std::string metrics() const;

  std::unique_ptr<process> proc;
  bool ready = false;
  std::string ingest;
  std::string query;
  int metrics_port = 0;
};

// The value of one series in a Prometheus text scrape, e.g.
// series(text, "citytwin_ingest_readings_total{result=\"accepted\"}"); NaN when absent.
double series(const std::string& text, const std::string& name);

// A free TCP port on 127.0.0.1 (bound and released: for programs that cannot take port 0).
int free_port();

std::string url_encode(const std::string& s);

}  // namespace systest
