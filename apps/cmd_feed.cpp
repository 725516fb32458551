// `citytwin feed`: a sensor gateway, sending synthetic streams or a CSV replay to a node.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "apps/commands.hpp"
#include "apps/signals.hpp"
#include "cluster/curve.hpp"
#include "node/feed_driver.hpp"

namespace apps {

namespace {

struct feed_flags {
  std::string city;
  node::feed_config config;
  std::string replay;
  std::string mapping;
  double utc_offset_h = 8;
  double replay_utc_offset_h = 0;
  bool json = false;
  bool quiet = false;
  curve_client_flags curve;
};

int fail(const std::string& message, int code = 1) {
  std::cerr << "citytwin: " << message << "\n";
  return code;
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

nlohmann::json to_json(const node::feed_summary& s) {
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

void print_summary(const node::feed_config& config, const node::feed_summary& summary) {
  std::cout << "citytwin feed: " << summary.readings << " readings in "
            << summary.gateway.batches_sent << " batches (" << summary.gateway.batches_resent
            << " resent) in " << summary.elapsed_s << " s: " << count_line(summary.gateway) << "\n";
  if (config.replay)
    std::cout << "  replay: " << summary.replay.rows << " rows, " << summary.replay.readings
              << " readings, " << summary.replay.missing << " missing values, "
              << summary.replay.errors << " bad rows skipped\n";
}

int run_feed_command(feed_flags& f) {
  auto city = load_city_bundle(f.city);
  if (!city) return fail(city.error(), 2);
  auto& config = f.config;
  if (!f.replay.empty()) config.replay = f.replay;
  config.mapping = f.mapping;
  config.utc_offset_minutes = static_cast<std::int32_t>(std::lround(f.utc_offset_h * 60));
  config.replay_utc_offset_minutes =
      static_cast<std::int32_t>(std::lround(f.replay_utc_offset_h * 60));
  if (!config.session) config.session.reset();
  auto curve = cluster::curve_client_keys_from(f.curve.server_key, f.curve.secret);
  if (!curve) return fail(curve.error(), 2);
  config.curve = std::move(*curve);
  if (config.gateway_id == 0) config.gateway_id = static_cast<std::uint64_t>(getpid());
  if (!config.replay && config.count == 0 && config.seconds == 0)
    std::cerr << "citytwin feed: synthetic stream without --count or --seconds; Ctrl-C stops it\n";
  twin::system_clock clock;
  bool quiet = f.quiet || f.json;
  auto summary = node::run_feed(
      *city, config, clock, [] { return !termination_requested(); },
      [quiet](const node::feed_summary& s) {
        if (quiet) return;
        std::cerr << "citytwin feed: " << s.readings << " sent, " << count_line(s.gateway)
                  << std::endl;
      });
  if (f.json)
    std::cout << to_json(summary).dump(2) << std::endl;
  else
    print_summary(config, summary);
  if (!summary.error.empty()) return fail(summary.error);
  return 0;
}

}  // namespace

command add_feed_command(CLI::App& app) {
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
  add_curve_client_flags(cmd, f->curve);
  return {cmd, [f] { return run_feed_command(*f); }};
}

}  // namespace apps
