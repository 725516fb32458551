#pragma once

// A node's YAML configuration file (examples/node.yaml). The command line merges it: defaults,
// then the file, then the flags.

#include <filesystem>
#include <optional>
#include <string>

#include "twin/base/expected.hpp"

namespace node {

// Actor scheduler threads a file may ask for: one per core, and more than this is a typo.
inline constexpr unsigned node_threads_max = 256;

// The keys of the file, each as written, absent when the file does not set it. Durations stay
// text: the command line parses them with its flags' own rules.
struct node_config_file {
  std::string city;  // relative to the file's folder, as in Prometheus' own files; "" if absent
  std::optional<std::string> ingest;
  std::optional<std::string> query;
  std::optional<std::string> metrics;
  std::optional<unsigned> threads;
  std::optional<std::string> max_age;
  std::optional<std::string> max_future;
  std::optional<std::string> stale_after;
  std::optional<std::string> lateness;
  std::optional<std::string> data_dir;        // relative to the file's folder
  std::optional<std::string> durability;      // "process" or "power"
  std::optional<std::string> snapshot_every;  // a size: 256MiB
  // CURVE: the node's secret key file and the allowed client keys (file or folder), relative to
  // the file's folder like `city`.
  std::optional<std::string> curve_secret;
  std::optional<std::string> curve_allow;
  // The cluster: etcd's address, the cluster's name, this node's id and zone, the replication
  // factor (1-3).
  std::optional<std::string> cluster;
  std::optional<std::string> cluster_name;
  std::optional<std::string> node_id;
  std::optional<std::string> zone;
  std::optional<std::string> advertise_host;
  std::optional<unsigned> replication_factor;
};

// Reads `path`. Errors name the file, the line and the field (twin::yaml_reader): a file that
// cannot be opened or is not a map, an unknown key (the known ones listed), blank text, threads
// outside [1, node_threads_max].
twin::expected<node_config_file, std::string> read_node_config_file(
    const std::filesystem::path& path);

}  // namespace node
