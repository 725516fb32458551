// `citytwin demo`: a node and a synthetic feed on the Macau bundle in one process, with a live
// table of the districts.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <filesystem>
#include <future>
#include <iostream>
#include <optional>
#include <thread>
#include <vector>

#include "actors/compute_system.hpp"
#include "apps/commands.hpp"
#include "apps/render.hpp"
#include "apps/signals.hpp"
#include "cluster/live_fetch.hpp"
#include "node/feed_driver.hpp"
#include "node/node_host.hpp"
#include "twin/report/report.hpp"
#include "twin/scenario/scenario.hpp"

namespace apps {

using cluster::fetch_live_snapshot;
using node::feed_config;
using node::feed_summary;
using node::node_config;
using node::node_host;
using node::run_feed;

namespace {

struct demo_flags {
  std::string city = "examples/macau";
  double seconds = 30;
  bool forever = false;
  double rate = 20000;
  std::string metrics = "127.0.0.1:9464";
  double bad_share = 0.001;
  std::string scenario;  // default: sai-van-closed.yaml and diesel-truck-ban.yaml
};

std::optional<twin::city_view> ask_city(twin::query_handler& q) {
  auto p = std::make_shared<std::promise<twin::query_reply>>();
  auto f = p->get_future();
  q.query(twin::query_city{}, [p](twin::query_reply r) { p->set_value(std::move(r)); });
  if (f.wait_for(std::chrono::seconds(5)) != std::future_status::ready) return std::nullopt;
  auto r = f.get();
  if (auto* v = std::get_if<twin::city_view>(&r)) return *v;
  return std::nullopt;
}

// Ends the demo with what-ifs forked from the live twin: the snapshot taken while the node ran
// is the base of each scenario (capacities and demand from the live traffic, wind and background
// from the live air-quality and weather sensors), solved and compared with its baseline.
int run_what_ifs(const demo_flags& f, const std::optional<twin::live_snapshot>& live) {
  std::vector<std::filesystem::path> files;
  if (!f.scenario.empty()) {
    files.emplace_back(f.scenario);
  } else {
    for (const char* name : {"sai-van-closed.yaml", "diesel-truck-ban.yaml"})
      files.push_back(std::filesystem::path(f.city) / "scenarios" / name);
  }
  actors::compute_system compute(2);
  const auto options = compute.run_options();
  for (const auto& file : files) {
    if (!std::filesystem::exists(file)) continue;
    auto s = twin::load_scenario(file);
    if (!s) {
      std::cerr << "citytwin demo: " << s.error().to_string() << "\n";
      return 2;
    }
    // A snapshot the bundle does not match leaves the what-if on the bundle alone.
    if (live) (void)twin::attach_live_base(*s, *live);
    std::cout << "\nwhat-if" << (s->live ? ", forked from the live twin" : "") << ": "
              << file.string() << "\n(citytwin scenario run " << file.string()
              << (s->live ? " --node ADDR" : "")
              << " --out DIR writes CSV, JSON, GeoJSON and SVG maps)\n\n";
    auto result = twin::run_scenario(*s, options);
    std::cout << twin::comparison_table(*s, result) << std::endl;
  }
  return 0;
}

int run_demo(const demo_flags& f) {
  auto city = load_city_bundle(f.city);
  if (!city) {
    std::cerr << "citytwin demo: " << city.error() << "\n";
    return 2;
  }
  twin::system_clock clock;
  node_config config;
  config.ingest = "tcp://127.0.0.1:0";
  config.query = "tcp://127.0.0.1:0";
  config.metrics = f.metrics;
  auto node = node_host::start(*city, config, clock, nullptr);
  if (!node) {
    // The usual metrics port is taken (another node?): any free port will do for a demo.
    config.metrics = "127.0.0.1:0";
    node = node_host::start(*city, config, clock, nullptr);
  }
  if (!node) {
    std::cerr << "citytwin demo: " << node.error() << "\n";
    return 1;
  }
  auto& host = **node;
  bool tty = isatty(STDOUT_FILENO) != 0;
  std::cout << "citytwin demo: a live twin of " << (*city)->name << " — "
            << (*city)->districts.size() << " districts, " << (*city)->sensors.size()
            << " sensors, " << (*city)->links.size() << " road links\n"
            << "  metrics: http://" << host.metrics_address() << "/metrics\n"
            << "  ingest:  " << host.ingest_endpoint() << "   query: " << host.query_endpoint()
            << "\n  (the bundle is illustrative, not calibrated; the stream is synthetic)\n"
            << std::endl;

  std::atomic<bool> running{true};
  feed_config fc;
  fc.to = host.ingest_endpoint();
  fc.gateway_id = 1;
  fc.rate_per_s = f.rate;
  fc.backfill_hours = 1;
  fc.bad_share = f.bad_share;
  fc.flush_timeout_ms = 10000;
  feed_summary summary;
  std::thread feeder(
      [&] { summary = run_feed(*city, fc, clock, [&] { return running.load(); }, {}); });

  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  while (f.forever || elapsed() < f.seconds) {
    if (wait_for_termination(std::chrono::milliseconds(2000))) break;
    auto view = ask_city(host.queries());
    if (!view) continue;
    if (tty) std::cout << "\x1b[H\x1b[2J";
    std::cout << render_text(*view);
    std::cout << "  " << static_cast<int>(elapsed()) << " s"
              << (f.forever ? " (Ctrl-C stops)" : " of " + std::to_string(int(f.seconds)))
              << " — metrics at http://" << host.metrics_address() << "/metrics\n"
              << std::endl;
  }
  running = false;
  feeder.join();
  // The live state the what-ifs start from, read while the node still runs.
  std::optional<twin::live_snapshot> live;
  if (auto snapshot = fetch_live_snapshot(host.query_endpoint(), **city)) {
    live = std::move(*snapshot);
  } else {
    std::cout << "live snapshot: " << snapshot.error() << " (the what-ifs start from the bundle)\n";
  }
  std::cout << "feed: " << summary.readings << " readings sent, "
            << summary.gateway.readings_accepted << " accepted, "
            << summary.gateway.rejected_total() << " rejected with a reason (deliberately bad "
            << summary.injected.total() << ")\n";
  if (!summary.error.empty()) std::cout << "feed error: " << summary.error << "\n";
  node->reset();
  std::cout << "citytwin demo: node stopped cleanly" << std::endl;
  return run_what_ifs(f, live);
}

}  // namespace

command add_demo_command(CLI::App& app) {
  auto f = std::make_shared<demo_flags>();
  auto* cmd =
      app.add_subcommand("demo", "a node and a live synthetic feed of Macau, in one process");
  cmd->add_option("--city", f->city, "city bundle (default examples/macau)");
  cmd->add_option("--seconds", f->seconds, "how long to run (default 30)");
  cmd->add_flag("--forever", f->forever, "keep running until Ctrl-C");
  cmd->add_option("--rate", f->rate, "readings per second (default 20000)");
  cmd->add_option("--metrics", f->metrics, "HOST:PORT for /metrics (default 127.0.0.1:9464)");
  cmd->add_option("--bad-share", f->bad_share,
                  "share of deliberately bad readings (default 0.001)");
  cmd->add_option("--scenario", f->scenario,
                  "what-if to end with (default: <city>/scenarios/sai-van-closed.yaml and "
                  "diesel-truck-ban.yaml, forked from the live twin)");
  return {cmd, [f] { return run_demo(*f); }};
}

}  // namespace apps
