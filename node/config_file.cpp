#include "node/config_file.hpp"

#include "twin/base/yaml_reader.hpp"

namespace node {

namespace {

void read_text(const twin::yaml_reader& value, std::optional<std::string>& into) {
  if (value) into = value.text();
}

node_config_file read(const std::filesystem::path& path) {
  const auto y = twin::yaml_reader::load_file(path);
  y.allow_keys({"city", "ingest", "query", "metrics", "threads", "max_age", "max_future",
                "stale_after", "lateness", "curve_secret", "curve_allow", "data_dir",
                "durability", "snapshot_every", "cluster", "cluster_name", "node_id", "zone",
                "advertise_host", "replication_factor"});
  node_config_file c;
  // Paths are relative to the file's folder.
  const auto relative = [&](const std::string& text) {
    const std::filesystem::path p = text;
    return (p.is_absolute() ? p : path.parent_path() / p).string();
  };
  if (auto city = y["city"]) c.city = relative(city.text());
  if (auto secret = y["curve_secret"]) c.curve_secret = relative(secret.text());
  if (auto allow = y["curve_allow"]) c.curve_allow = relative(allow.text());
  if (auto dir = y["data_dir"]) c.data_dir = relative(dir.text());
  if (auto d = y["durability"])
    c.durability = d.choice("durability", {"process", "power"}) == 0 ? "process" : "power";
  read_text(y["ingest"], c.ingest);
  read_text(y["query"], c.query);
  read_text(y["metrics"], c.metrics);
  if (auto threads = y["threads"])
    c.threads = static_cast<unsigned>(threads.whole(1, node_threads_max));
  read_text(y["max_age"], c.max_age);
  read_text(y["max_future"], c.max_future);
  read_text(y["stale_after"], c.stale_after);
  read_text(y["lateness"], c.lateness);
  read_text(y["snapshot_every"], c.snapshot_every);
  read_text(y["cluster"], c.cluster);
  read_text(y["cluster_name"], c.cluster_name);
  read_text(y["node_id"], c.node_id);
  read_text(y["zone"], c.zone);
  read_text(y["advertise_host"], c.advertise_host);
  if (auto rf = y["replication_factor"])
    c.replication_factor = static_cast<unsigned>(rf.whole(1, 3));
  return c;
}

}  // namespace

twin::expected<node_config_file, std::string> read_node_config_file(
    const std::filesystem::path& path) {
  try {
    return read(path);
  } catch (const twin::load_failure& e) {
    return twin::unexpected{e.error.to_string()};
  }
}

}  // namespace node
