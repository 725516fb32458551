#include "apps/node_settings.hpp"

#include <CLI/CLI.hpp>

#include "node/config_file.hpp"
#include "twin/base/time_text.hpp"

namespace apps {

namespace {

// "256MiB", "64KiB", "1GiB", "4096" (bytes); 0 is allowed.
twin::expected<std::uint64_t, std::string> parse_bytes(const std::string& text) {
  std::size_t used = 0;
  unsigned long long n = 0;
  try {
    n = std::stoull(text, &used);
  } catch (const std::exception&) {
    return twin::unexpected{"'" + text + "' is not a size (e.g. 256MiB, 64KiB, 1GiB)"};
  }
  const auto unit = text.substr(used);
  std::uint64_t scale = 0;
  if (unit.empty() || unit == "B") scale = 1;
  if (unit == "KiB") scale = 1ull << 10;
  if (unit == "MiB") scale = 1ull << 20;
  if (unit == "GiB") scale = 1ull << 30;
  if (scale == 0 || text.empty() || text[0] == '-')
    return twin::unexpected{"'" + text + "' is not a size (e.g. 256MiB, 64KiB, 1GiB)"};
  return static_cast<std::uint64_t>(n) * scale;
}

// The settings before the durations are parsed: the defaults, then the file, then the flags.
struct node_settings {
  node::node_config config;
  std::string max_age = "7d";
  std::string max_future = "5m";
  std::string stale_after;  // empty: each sensor's own bound
  std::string lateness = "1h";
  std::string durability = "process";
  std::string snapshot_every = "256MiB";
  bool durability_chosen = false;
  node::cluster_settings cluster;
};

void apply_file(const node::node_config_file& file, node_settings& s) {
  auto text = [](const std::optional<std::string>& from, std::string& into) {
    if (from) into = *from;
  };
  text(file.ingest, s.config.ingest);
  text(file.query, s.config.query);
  text(file.metrics, s.config.metrics);
  if (file.threads) s.config.threads = *file.threads;
  text(file.max_age, s.max_age);
  text(file.max_future, s.max_future);
  text(file.stale_after, s.stale_after);
  text(file.lateness, s.lateness);
  text(file.curve_secret, s.config.curve_secret_file);
  text(file.curve_allow, s.config.curve_allow);
  if (file.data_dir) s.config.data_dir = *file.data_dir;
  text(file.durability, s.durability);
  text(file.snapshot_every, s.snapshot_every);
  if (file.durability) s.durability_chosen = true;
  text(file.cluster, s.cluster.url);
  text(file.cluster_name, s.cluster.name);
  text(file.node_id, s.cluster.node_id);
  text(file.zone, s.cluster.zone);
  text(file.advertise_host, s.cluster.advertise_host);
  if (file.replication_factor) s.cluster.replication_factor = *file.replication_factor;
}

void apply_flags(const node_flags& f, node_settings& s) {
  auto text = [](const std::string& flag, std::string& into) {
    if (!flag.empty()) into = flag;
  };
  text(f.ingest, s.config.ingest);
  text(f.query, s.config.query);
  text(f.metrics, s.config.metrics);
  if (f.threads > 0) s.config.threads = f.threads;
  text(f.max_age, s.max_age);
  text(f.max_future, s.max_future);
  text(f.stale_after, s.stale_after);
  text(f.lateness, s.lateness);
  text(f.curve_secret, s.config.curve_secret_file);
  text(f.curve_allow, s.config.curve_allow);
  if (!f.data_dir.empty()) s.config.data_dir = f.data_dir;
  text(f.durability, s.durability);
  text(f.snapshot_every, s.snapshot_every);
  if (!f.durability.empty()) s.durability_chosen = true;
  text(f.cluster, s.cluster.url);
  text(f.cluster_name, s.cluster.name);
  text(f.node_id, s.cluster.node_id);
  text(f.zone, s.cluster.zone);
  text(f.advertise_host, s.cluster.advertise_host);
  if (f.replication_factor > 0) s.cluster.replication_factor = f.replication_factor;
}

}  // namespace

void add_node_flags(CLI::App* cmd, node_flags& f) {
  cmd->add_option("--city", f.city,
                  "city bundle folder (city.yaml and its data files); or `city:` in --config");
  cmd->add_option("--config", f.config_file,
                  "node YAML (keys: city, ingest, query, metrics, threads, max_age, max_future, "
                  "stale_after, lateness, curve_secret, curve_allow, data_dir, durability, "
                  "snapshot_every, cluster, cluster_name, node_id, zone, advertise_host, "
                  "replication_factor); "
                  "flags override it");
  cmd->add_option("--ingest", f.ingest, "ingest socket to bind (default tcp://127.0.0.1:7100)");
  cmd->add_option("--query", f.query, "query socket to bind (default tcp://127.0.0.1:7101)");
  cmd->add_option("--metrics", f.metrics, "HOST:PORT serving /metrics (default 127.0.0.1:9464)");
  cmd->add_option("--threads", f.threads, "actor scheduler threads (default 2)");
  cmd->add_option("--max-age", f.max_age, "reject readings older than this (default 7d)");
  cmd->add_option("--max-future", f.max_future, "reject readings further ahead (default 5m)");
  cmd->add_option("--stale-after", f.stale_after,
                  "one staleness bound for every sensor, instead of each sensor's own "
                  "(2 x its cadence, from the city bundle)");
  cmd->add_option("--lateness", f.lateness,
                  "apply a reading up to this much older than its sensor's latest; older ones "
                  "are refused too_late (default 1h, the longest window)");
  cmd->add_option("--ready-file", f.ready_file,
                  "once listening, write the bound addresses here as JSON");
  cmd->add_option("--curve-secret", f.curve_secret,
                  "the node's CURVE secret key file (citytwin keygen): the ingest and query "
                  "sockets then require CURVE; without it they are plain TCP");
  cmd->add_option("--curve-allow", f.curve_allow,
                  "client public keys let in: a file (one Z85 key a line, # comments) or a "
                  "folder of *.pub files; SIGHUP re-reads it");
  cmd->add_option("--data-dir", f.data_dir,
                  "keep the state here (write-ahead log, snapshots) and recover it at start; "
                  "without it the node keeps nothing");
  cmd->add_option("--durability", f.durability,
                  "when a batch is acked, with --data-dir: process (once written to the log: "
                  "survives kill -9; the default) or power (once fdatasync'ed by the group commit: "
                  "survives a power loss)");
  cmd->add_option("--snapshot-every", f.snapshot_every,
                  "with --data-dir: a snapshot after every this much log (e.g. 256MiB, the "
                  "default; 0: only at a graceful stop), which bounds the replay after a crash");
  cmd->add_option("--cluster", f.cluster,
                  "join (or form) the cluster whose membership and placement live in this etcd: "
                  "etcd://HOST:PORT[,HOST:PORT...] or etcd+unix://PATH; without it the node runs "
                  "the whole city alone");
  cmd->add_option("--cluster-name", f.cluster_name,
                  "with --cluster: the cluster's name, its keys' prefix /citytwin/NAME/ "
                  "(default: default)");
  cmd->add_option("--node-id", f.node_id,
                  "with --cluster: this node's id, the same across restarts (default: "
                  "HOSTNAME-INGESTPORT)");
  cmd->add_option("--zone", f.zone,
                  "with --cluster: this node's failure domain; a district's owner and replicas "
                  "are placed in different zones");
  cmd->add_option("--advertise-host", f.advertise_host,
                  "with --cluster: the host other nodes and clients reach this node at (default: "
                  "the bound host, or this machine's host name when bound to 0.0.0.0)");
  cmd->add_option("--replication-factor", f.replication_factor,
                  "with --cluster: copies of each district, owner included (1-3, default 2)");
}

// Builds the node configuration: defaults, then the YAML file, then flags.
twin::expected<node::node_config, std::string> make_node_config(node_flags& f) {
  node_settings s;
  if (!f.config_file.empty()) {
    auto file = node::read_node_config_file(f.config_file);
    if (!file) return twin::unexpected{file.error()};
    if (f.city.empty()) f.city = file->city;
    apply_file(*file, s);
  }
  if (f.city.empty())
    return twin::unexpected{std::string("no city: give --city DIR or `city:` in --config")};
  apply_flags(f, s);
  auto a = twin::parse_duration_ms(s.max_age);
  auto b = twin::parse_duration_ms(s.max_future);
  if (!a) return twin::unexpected{"--max-age: " + a.error()};
  if (!b) return twin::unexpected{"--max-future: " + b.error()};
  auto late = twin::parse_duration_ms(s.lateness);
  if (!late) return twin::unexpected{"--lateness: " + late.error()};
  if (*late > 30 * twin::ms_per_day)
    return twin::unexpected{"--lateness: " + s.lateness + " is over the limit of 30d"};
  s.config.district.lateness_ms = *late;
  auto durability = cluster::parse_durability(s.durability);
  if (!durability)
    return twin::unexpected{"--durability: '" + s.durability + "' is not one of process, power"};
  s.config.durability = *durability;
  auto every = parse_bytes(s.snapshot_every);
  if (!every) return twin::unexpected{"--snapshot-every: " + every.error()};
  s.config.snapshot_every_bytes = *every;
  if (s.durability_chosen && s.config.data_dir.empty())
    return twin::unexpected{std::string(
        "--durability: needs --data-dir (or data_dir: in --config): without a data directory "
        "the node keeps nothing")};
  s.config.limits.max_age_ms = *a;
  s.config.limits.max_future_ms = *b;
  if (!s.stale_after.empty()) {
    auto t = twin::parse_duration_ms(s.stale_after);
    if (!t) return twin::unexpected{"--stale-after: " + t.error()};
    if (*t <= 0) return twin::unexpected{std::string("--stale-after: must be above 0")};
    s.config.district.stale_after_ms = *t;
  }
  const bool cluster_options = !s.cluster.node_id.empty() || !s.cluster.zone.empty() ||
                               !s.cluster.advertise_host.empty() ||
                               s.cluster.name != "default" || f.replication_factor > 0;
  if (s.cluster.url.empty() && cluster_options)
    return twin::unexpected{std::string(
        "--node-id, --zone, --advertise-host, --cluster-name and --replication-factor need "
        "--cluster (or cluster: in --config)")};
  if (!s.cluster.url.empty()) {
    if (s.cluster.replication_factor < 1 || s.cluster.replication_factor > 3)
      return twin::unexpected{"--replication-factor: " +
                              std::to_string(s.cluster.replication_factor) + " is not 1, 2 or 3"};
    if (s.cluster.name.empty() || s.cluster.name.find('/') != std::string::npos)
      return twin::unexpected{"--cluster-name: '" + s.cluster.name +
                              "' must be a non-empty name without '/'"};
    s.config.cluster = s.cluster;
  }
  return s.config;
}

}  // namespace apps
