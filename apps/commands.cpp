#include "apps/commands.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cmath>
#include <fstream>
#include <future>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "apps/render.hpp"
#include "apps/signals.hpp"
#include "cluster/query_client.hpp"
#include "node/feed_driver.hpp"
#include "node/node_host.hpp"
#include "twin/city/bundle.hpp"
#include "twin/city/bundle_writer.hpp"
#include "twin/city/generate.hpp"

namespace apps {

using node::feed_config;
using node::feed_summary;
using node::node_config;
using node::node_host;
using node::run_feed;

namespace {

int exit_code_ = 0;

// Options shared by `node` and `demo`.
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
twin::expected<node_config, std::string> make_node_config(node_flags& f) {
  node_config c;
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

void fail(const std::string& message, int code = 1) {
  std::cerr << "citytwin: " << message << "\n";
  set_exit_code(code);
}

std::string count_line(const cluster::gateway_stats& s) {
  std::ostringstream os;
  os << s.readings_accepted << " accepted, " << s.rejected_total() << " rejected";
  bool first = true;
  for (std::size_t i = 0; i < twin::reject_reason_count; ++i) {
    if (s.rejected[i] == 0) continue;
    os << (first ? " (" : ", ") << twin::to_string(static_cast<twin::reject_reason>(i)) << " "
       << s.rejected[i];
    first = false;
  }
  if (!first) os << ")";
  return os.str();
}

nlohmann::json to_json(const feed_summary& s) {
  nlohmann::json rejected = nlohmann::json::object();
  for (std::size_t i = 0; i < twin::reject_reason_count; ++i)
    if (s.gateway.rejected[i] != 0)
      rejected[std::string(twin::to_string(static_cast<twin::reject_reason>(i)))] =
          s.gateway.rejected[i];
  return {{"readings_sent", s.readings},
          {"readings_accepted", s.gateway.readings_accepted},
          {"readings_rejected", s.gateway.rejected_total()},
          {"rejected", rejected},
          {"batches_sent", s.gateway.batches_sent},
          {"batches_acked", s.gateway.batches_acked},
          {"batches_resent", s.gateway.batches_resent},
          {"duplicate_batches", s.gateway.duplicates},
          {"overloaded_acks", s.gateway.overloaded},
          {"replay",
           {{"rows", s.replay.rows},
            {"readings", s.replay.readings},
            {"missing", s.replay.missing},
            {"bad_rows", s.replay.errors}}},
          {"injected_bad",
           {{"non_finite", s.injected.non_finite},
            {"out_of_range", s.injected.out_of_range},
            {"unknown_sensor", s.injected.unknown_sensor}}},
          {"elapsed_s", s.elapsed_s},
          {"error", s.error.empty() ? nlohmann::json() : nlohmann::json(s.error)}};
}

// ---------------------------------------------------------------------------------------------
void run_node(node_flags& f) {
  auto config = make_node_config(f);
  if (!config) return fail(config.error(), 2);
  auto city = load_city_bundle(f.city);
  if (!city) return fail(city.error(), 2);
  twin::system_clock clock;
  auto node = node_host::start(*city, *config, clock, &std::cout);
  if (!node) return fail(node.error());
  const auto& c = **city;
  std::cout << "citytwin node: " << c.name << " (" << c.districts.size() << " districts, "
            << c.sensors.size() << " sensors, " << c.links.size() << " links)\n"
            << "  ingest  " << (*node)->ingest_endpoint() << "\n"
            << "  query   " << (*node)->query_endpoint() << "\n"
            << "  metrics http://" << (*node)->metrics_address() << "/metrics\n"
            << "Ctrl-C stops the node." << std::endl;
  if (!f.ready_file.empty()) {
    if (auto r = (*node)->write_ready_file(f.ready_file); !r) return fail(r.error());
  }
  while (!wait_for_termination(std::chrono::milliseconds(500))) {
  }
  std::cout << "citytwin node: stopping" << std::endl;
  node->reset();
  std::cout << "citytwin node: stopped" << std::endl;
}

void add_node(CLI::App& app) {
  auto f = std::make_shared<node_flags>();
  auto* cmd = app.add_subcommand("node", "run a node of the twin");
  add_node_flags(cmd, *f);
  cmd->callback([f] { run_node(*f); });
}

// ---------------------------------------------------------------------------------------------
struct feed_flags {
  std::string city;
  feed_config config;
  std::string replay;
  std::string mapping;
  double utc_offset_h = 8;
  double replay_utc_offset_h = 0;
  bool json = false;
  bool quiet = false;
};

void run_feed_command(feed_flags& f) {
  auto city = load_city_bundle(f.city);
  if (!city) return fail(city.error(), 2);
  auto& config = f.config;
  if (!f.replay.empty()) config.replay = f.replay;
  config.mapping = f.mapping;
  config.utc_offset_minutes = static_cast<std::int32_t>(std::lround(f.utc_offset_h * 60));
  config.replay_utc_offset_minutes =
      static_cast<std::int32_t>(std::lround(f.replay_utc_offset_h * 60));
  if (!config.session) config.session.reset();
  if (config.gateway_id == 0) config.gateway_id = static_cast<std::uint64_t>(getpid());
  if (!config.replay && config.count == 0 && config.seconds == 0)
    std::cerr << "citytwin feed: synthetic stream without --count or --seconds; Ctrl-C stops it\n";
  twin::system_clock clock;
  bool quiet = f.quiet || f.json;
  auto summary = run_feed(
      *city, config, clock, [] { return !termination_requested(); },
      [quiet](const feed_summary& s) {
        if (quiet) return;
        std::cerr << "citytwin feed: " << s.readings << " sent, " << count_line(s.gateway)
                  << std::endl;
      });
  if (f.json) {
    std::cout << to_json(summary).dump(2) << std::endl;
  } else {
    std::cout << "citytwin feed: " << summary.readings << " readings in "
              << summary.gateway.batches_sent << " batches (" << summary.gateway.batches_resent
              << " resent) in " << summary.elapsed_s << " s: " << count_line(summary.gateway)
              << "\n";
    if (config.replay)
      std::cout << "  replay: " << summary.replay.rows << " rows, " << summary.replay.readings
                << " readings, " << summary.replay.missing << " missing values, "
                << summary.replay.errors << " bad rows skipped\n";
  }
  if (!summary.error.empty()) fail(summary.error);
}

void add_feed(CLI::App& app) {
  auto f = std::make_shared<feed_flags>();
  auto* cmd = app.add_subcommand("feed", "a sensor gateway: synthetic streams or CSV replay");
  cmd->add_option("--city", f->city, "city bundle folder")->required();
  cmd->add_option("--to", f->config.to, "the node's ingest socket, e.g. tcp://127.0.0.1:7100")
      ->required();
  cmd->add_option("--rate", f->config.rate_per_s,
                  "readings per second (default: as fast as acked)");
  cmd->add_option("--count", f->config.count, "readings to send (default: no limit / whole file)");
  cmd->add_option("--seconds", f->config.seconds, "stop after this many seconds");
  cmd->add_option("--batch", f->config.batch_readings, "readings per batch (default 256)")
      ->check(CLI::Range(1, 65536));
  cmd->add_option("--seed", f->config.seed, "seed of the synthetic streams (default 1)");
  cmd->add_option("--bad-share", f->config.bad_share,
                  "share of deliberately bad synthetic readings (NaN, out of range, unknown)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--utc-offset", f->utc_offset_h, "local time of the city, hours (default 8)");
  cmd->add_option("--backfill-hours", f->config.backfill_hours,
                  "first send this much synthetic history (one sample per sensor per minute)");
  cmd->add_option("--gateway-id", f->config.gateway_id, "this gateway's id (default: the pid)");
  cmd->add_option("--session", f->config.session, "session number (default: from the clock)");
  cmd->add_option("--replay", f->replay, "replay a CSV (long form or wide form with --mapping)");
  cmd->add_option("--mapping", f->mapping, "wide-form mapping: lines 'column = sensor [* scale]'");
  cmd->add_option("--time-column", f->config.time_column, "timestamp column of the CSV");
  cmd->add_option("--csv-utc-offset", f->replay_utc_offset_h,
                  "hours to subtract from local CSV times without a zone (Beijing: 8)");
  cmd->add_option("--speed", f->config.speed,
                  "replay at X times real time from now (default: full speed, newest row = now)");
  cmd->add_flag("--keep-time", f->config.keep_time, "keep the CSV's own timestamps");
  cmd->add_option("--bad-rows-max", f->config.bad_rows_max,
                  "skip and count up to N bad CSV rows before failing (default 0)");
  cmd->add_option("--flush-timeout-ms", f->config.flush_timeout_ms,
                  "wait this long for the last acks (default 60000)");
  cmd->add_flag("--json", f->json, "print the summary as JSON");
  cmd->add_flag("--quiet", f->quiet, "no progress lines");
  cmd->callback([f] { run_feed_command(*f); });
}

// ---------------------------------------------------------------------------------------------
struct query_flags {
  std::string node = "tcp://127.0.0.1:7101";
  std::vector<std::string> what;
  bool json = false;
  int timeout_ms = 5000;
};

void run_query(query_flags& f) {
  twin::query_request request;
  if (f.what.empty() || f.what[0] == "city") {
    if (f.what.size() > 1) return fail("query city takes no argument", 2);
    request = twin::query_city{};
  } else if (f.what[0] == "district" && f.what.size() == 2) {
    request = twin::query_district{f.what[1]};
  } else if (f.what[0] == "sensor" && f.what.size() == 2) {
    request = twin::query_sensor{f.what[1]};
  } else {
    return fail("usage: citytwin query --node ADDR (city | district ID | sensor ID) [--json]", 2);
  }
  cluster::query_client client;
  if (auto c = client.connect(f.node); !c) return fail(c.error());
  auto reply = client.ask(request, f.timeout_ms);
  if (!reply) return fail(reply.error());
  if (f.json)
    std::cout << apps::to_json(*reply).dump(2) << std::endl;
  else
    std::cout << render_text(*reply);
  if (std::holds_alternative<twin::query_error>(*reply)) set_exit_code(1);
}

void add_query(CLI::App& app) {
  auto f = std::make_shared<query_flags>();
  auto* cmd = app.add_subcommand("query", "ask a node: city | district ID | sensor ID");
  cmd->add_option("--node", f->node, "the node's query socket (default tcp://127.0.0.1:7101)");
  cmd->add_option("what", f->what, "city | district ID | sensor ID");
  cmd->add_flag("--json", f->json, "JSON for scripts");
  cmd->add_option("--timeout-ms", f->timeout_ms, "give up after this long (default 5000)");
  cmd->callback([f] { run_query(*f); });
}

// ---------------------------------------------------------------------------------------------
struct city_flags {
  twin::generate_options options;
  std::string out;
};

void add_city(CLI::App& app) {
  auto* city = app.add_subcommand("city", "city bundles");
  city->require_subcommand(1);
  auto f = std::make_shared<city_flags>();
  auto* gen = city->add_subcommand("generate", "make a synthetic city bundle of any size");
  gen->add_option("--districts", f->options.districts, "districts")->required();
  gen->add_option("--links", f->options.links, "directed road links")->required();
  gen->add_option("--sensors", f->options.sensors, "sensors")->required();
  gen->add_option("--seed", f->options.seed, "seed (default 1)");
  gen->add_option("--out", f->out, "folder to write the bundle to")->required();
  gen->callback([f] {
    if (auto why = twin::check_options(f->options)) return fail(*why, 2);
    auto c = twin::generate_city(f->options);
    if (auto r = twin::write_city(c, f->out); !r) return fail(r.error().to_string());
    std::cout << "citytwin city generate: wrote " << f->out << " (" << c.districts.size()
              << " districts, " << c.links.size() << " links, " << c.sensors.size() << " sensors, "
              << c.zones.size() << " zones)\n";
  });
  auto* check = city->add_subcommand("check", "load a bundle and report what it holds");
  auto dir = std::make_shared<std::string>();
  check->add_option("dir", *dir, "bundle folder")->required();
  check->callback([dir] {
    auto c = load_city_bundle(*dir);
    if (!c) return fail(c.error(), 2);
    const auto& city = **c;
    std::cout << city.name << ": " << city.districts.size() << " districts, " << city.nodes.size()
              << " nodes, " << city.links.size() << " links, " << city.zones.size() << " zones, "
              << city.demand.size() << " OD pairs, " << city.sensors.size() << " sensors, "
              << city.sources.size() << " point sources, " << city.rules.size() << " rules\n";
  });
}

}  // namespace

void add_node_command(CLI::App& app) {
  add_node(app);
}
void add_feed_command(CLI::App& app) {
  add_feed(app);
}
void add_query_command(CLI::App& app) {
  add_query(app);
}
void add_city_command(CLI::App& app) {
  add_city(app);
}

int exit_code() {
  return exit_code_;
}
void set_exit_code(int code) {
  exit_code_ = code;
}

twin::expected<twin::city_ptr, std::string> load_city_bundle(const std::filesystem::path& dir) {
  auto c = twin::load_city(dir);
  if (!c) return twin::unexpected{c.error().to_string()};
  return std::make_shared<const twin::city>(std::move(*c));
}

twin::expected<twin::time_ms, std::string> parse_duration_ms(const std::string& text) {
  std::size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(text, &pos);
  } catch (...) {
    return twin::unexpected{"not a duration: '" + text + "' (examples: 90s, 15m, 2h, 7d)"};
  }
  std::string unit = text.substr(pos);
  double scale = 1000;
  if (unit.empty() || unit == "s")
    scale = 1000;
  else if (unit == "ms")
    scale = 1;
  else if (unit == "m")
    scale = 60e3;
  else if (unit == "h")
    scale = 3600e3;
  else if (unit == "d")
    scale = 86400e3;
  else if (unit == "y")
    scale = 365.25 * 86400e3;
  else
    return twin::unexpected{"unknown unit in '" + text + "' (use ms, s, m, h, d or y)"};
  if (!std::isfinite(v) || v < 0) return twin::unexpected{"not a duration: '" + text + "'"};
  return static_cast<twin::time_ms>(v * scale);
}

}  // namespace apps
