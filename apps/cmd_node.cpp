// `citytwin node`: runs a node of the twin until Ctrl-C.
#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <set>
#include <string>

#include "apps/commands.hpp"
#include "apps/signals.hpp"
#include "node/node_host.hpp"

namespace apps {

namespace {

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
  std::string ready_file;
};

void add_node_flags(CLI::App* cmd, node_flags& f) {
  cmd->add_option("--city", f.city,
                  "city bundle folder (city.yaml and its data files); or `city:` in --config");
  cmd->add_option("--config", f.config_file,
                  "node YAML (keys: city, ingest, query, metrics, threads, max_age, max_future, "
                  "stale_after); flags override it");
  cmd->add_option("--ingest", f.ingest, "ingest socket to bind (default tcp://127.0.0.1:7100)");
  cmd->add_option("--query", f.query, "query socket to bind (default tcp://127.0.0.1:7101)");
  cmd->add_option("--metrics", f.metrics, "HOST:PORT serving /metrics (default 127.0.0.1:9464)");
  cmd->add_option("--threads", f.threads, "actor scheduler threads (default 2)");
  cmd->add_option("--max-age", f.max_age, "reject readings older than this (default 7d)");
  cmd->add_option("--max-future", f.max_future, "reject readings further ahead (default 5m)");
  cmd->add_option("--stale-after", f.stale_after,
                  "a sensor without a reading for this long is stale (default 5m)");
  cmd->add_option("--ready-file", f.ready_file,
                  "once listening, write the bound addresses here as JSON");
}

// Builds the node configuration: defaults, then the YAML file, then flags.
twin::expected<node::node_config, std::string> make_node_config(node_flags& f) {
  node::node_config c;
  std::string max_age = "7d", max_future = "5m", stale_after = "5m";
  if (!f.config_file.empty()) {
    auto where = [&](const YAML::Mark& m) {
      return f.config_file + (m.line >= 0 ? ":" + std::to_string(m.line + 1) : std::string());
    };
    try {
      YAML::Node y = YAML::LoadFile(f.config_file);
      if (!y.IsMap()) return twin::unexpected{where(y.Mark()) + ": expected a map of settings"};
      static const std::set<std::string> known{"city",    "ingest",  "query",      "metrics",
                                               "threads", "max_age", "max_future", "stale_after"};
      for (const auto& kv : y) {
        auto key = kv.first.as<std::string>();
        if (!known.count(key))
          return twin::unexpected{where(kv.first.Mark()) + ": field '" + key +
                                  "': unknown key (known: city, ingest, query, metrics, threads, "
                                  "max_age, max_future, stale_after)"};
      }
      auto str = [&](const char* key, std::string& into) {
        if (y[key]) into = y[key].as<std::string>();
      };
      std::string city;
      str("city", city);
      // Paths in the file are relative to the file, as in Prometheus' own configuration.
      if (!city.empty() && f.city.empty()) {
        auto p = std::filesystem::path(city);
        f.city = p.is_absolute()
                     ? city
                     : (std::filesystem::path(f.config_file).parent_path() / p).string();
      }
      str("ingest", c.ingest);
      str("query", c.query);
      str("metrics", c.metrics);
      if (y["threads"]) c.threads = y["threads"].as<unsigned>();
      str("max_age", max_age);
      str("max_future", max_future);
      str("stale_after", stale_after);
    } catch (const YAML::BadFile&) {
      return twin::unexpected{f.config_file + ": cannot open file"};
    } catch (const YAML::Exception& e) {
      return twin::unexpected{where(e.mark) + ": " + e.msg};
    }
  }
  if (f.city.empty())
    return twin::unexpected{std::string("no city: give --city DIR or `city:` in --config")};
  if (!f.ingest.empty()) c.ingest = f.ingest;
  if (!f.query.empty()) c.query = f.query;
  if (!f.metrics.empty()) c.metrics = f.metrics;
  if (f.threads > 0) c.threads = f.threads;
  if (!f.max_age.empty()) max_age = f.max_age;
  if (!f.max_future.empty()) max_future = f.max_future;
  if (!f.stale_after.empty()) stale_after = f.stale_after;
  auto a = parse_duration_ms(max_age);
  auto b = parse_duration_ms(max_future);
  auto s = parse_duration_ms(stale_after);
  if (!a) return twin::unexpected{"--max-age: " + a.error()};
  if (!b) return twin::unexpected{"--max-future: " + b.error()};
  if (!s) return twin::unexpected{"--stale-after: " + s.error()};
  c.limits.max_age_ms = *a;
  c.limits.max_future_ms = *b;
  c.district.stale_after_ms = *s;
  return c;
}

int fail(const std::string& message, int code = 1) {
  std::cerr << "citytwin: " << message << "\n";
  return code;
}

int run_node(node_flags& f) {
  auto config = make_node_config(f);
  if (!config) return fail(config.error(), 2);
  auto city = load_city_bundle(f.city);
  if (!city) return fail(city.error(), 2);
  twin::system_clock clock;
  auto host = node::node_host::start(*city, *config, clock, &std::cout);
  if (!host) return fail(host.error());
  const auto& c = **city;
  std::cout << "citytwin node: " << c.name << " (" << c.districts.size() << " districts, "
            << c.sensors.size() << " sensors, " << c.links.size() << " links)\n"
            << "  ingest  " << (*host)->ingest_endpoint() << "\n"
            << "  query   " << (*host)->query_endpoint() << "\n"
            << "  metrics http://" << (*host)->metrics_address() << "/metrics\n"
            << "Ctrl-C stops the node." << std::endl;
  if (!f.ready_file.empty()) {
    if (auto r = (*host)->write_ready_file(f.ready_file); !r) return fail(r.error());
  }
  while (!wait_for_termination(std::chrono::milliseconds(500))) {
  }
  std::cout << "citytwin node: stopping" << std::endl;
  host->reset();
  std::cout << "citytwin node: stopped" << std::endl;
  return 0;
}

}  // namespace

command add_node_command(CLI::App& app) {
  auto f = std::make_shared<node_flags>();
  auto* cmd = app.add_subcommand("node", "run a node of the twin");
  add_node_flags(cmd, *f);
  return {cmd, [f] { return run_node(*f); }};
}

}  // namespace apps
