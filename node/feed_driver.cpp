#include "node/feed_driver.hpp"

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

namespace node {

namespace {

using steady = std::chrono::steady_clock;

std::string describe(const cluster::gateway_error& e) {
  return e.message;
}

// Sends `readings` in batches, pacing to the configured rate.
class sender {
 public:
  sender(cluster::gateway& gw, const feed_config& config, feed_summary& summary)
      : gw_(gw), config_(config), summary_(summary), start_(steady::now()) {}

  bool send(const std::vector<twin::reading>& readings) {
    for (std::size_t i = 0; i < readings.size(); i += config_.batch_readings) {
      auto n = std::min(config_.batch_readings, readings.size() - i);
      pace(n);
      auto r = gw_.send(std::span<const twin::reading>(readings.data() + i, n));
      if (!r) {
        summary_.error = describe(r.error());
        return false;
      }
      summary_.readings += n;
    }
    return true;
  }

 private:
  void pace(std::size_t n) {
    if (config_.rate_per_s <= 0) return;
    sent_ += n;
    auto due = start_ + std::chrono::duration_cast<steady::duration>(
                            std::chrono::duration<double>(double(sent_) / config_.rate_per_s));
    // Process acks while waiting, so resends and credit stay current.
    while (steady::now() < due) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(due - steady::now());
      gw_.poll(static_cast<int>(std::clamp<long>(left.count(), 0, 50)));
    }
  }

  cluster::gateway& gw_;
  const feed_config& config_;
  feed_summary& summary_;
  steady::time_point start_;
  std::uint64_t sent_ = 0;
};

// The first and the newest time of a replay file, read once so that a full-speed replay can end
// at "now" (rebasing maps the first row to the start time).
std::optional<std::pair<twin::time_ms, twin::time_ms>> replay_span(
    const twin::city_ptr& city, const twin::replay_options& options, const feed_config& config) {
  auto r = twin::csv_replay::open(*config.replay, city, options);
  if (!r) return std::nullopt;
  std::vector<twin::reading> buf;
  twin::time_ms lo = 0, hi = 0;
  bool any = false;
  for (;;) {
    buf.clear();
    auto n = r->next(buf, 65536);
    if (!n || *n == 0) break;
    for (const auto& x : buf) {
      if (!any) lo = x.time;
      hi = any ? std::max(hi, x.time) : x.time;
      any = true;
    }
  }
  if (!any) return std::nullopt;
  return std::make_pair(lo, hi);
}

}  // namespace

feed_summary run_feed(const twin::city_ptr& city, const feed_config& config,
                      const twin::clock& clock, const std::function<bool()>& keep_going,
                      const std::function<void(const feed_summary&)>& progress) {
  feed_summary summary;
  auto started = steady::now();
  cluster::gateway_options go;
  go.endpoint = config.to;
  go.gateway_id = config.gateway_id;
  go.session = config.session;
  cluster::gateway gw(go);
  if (auto c = gw.connect(); !c) {
    summary.error = describe(c.error());
    return summary;
  }
  sender out(gw, config, summary);
  auto last_progress = steady::now();
  auto elapsed_s = [&] { return std::chrono::duration<double>(steady::now() - started).count(); };
  auto should_stop = [&] {
    if (keep_going && !keep_going()) return true;
    if (config.seconds > 0 && elapsed_s() >= config.seconds) return true;
    if (config.count > 0 && summary.readings >= config.count) return true;
    return false;
  };
  auto report = [&] {
    if (progress && steady::now() - last_progress >= std::chrono::seconds(1)) {
      last_progress = steady::now();
      summary.gateway = gw.stats();
      summary.elapsed_s = elapsed_s();
      progress(summary);
    }
  };
  std::vector<twin::reading> buf;

  if (config.replay) {
    twin::replay_options ro;
    ro.mapping_file = config.mapping;
    ro.time_column = config.time_column;
    ro.utc_offset_minutes = config.replay_utc_offset_minutes;
    ro.bad_rows_max = config.bad_rows_max;
    auto now = clock.now_ms();
    if (!config.keep_time) {
      if (config.speed > 0) {
        ro.start_ms = now;
        ro.speed = config.speed;
      } else if (auto span = replay_span(city, ro, config)) {
        ro.start_ms = now - (span->second - span->first);  // the newest row lands at now
      }
    }
    auto replay = twin::csv_replay::open(*config.replay, city, ro);
    if (!replay) {
      summary.error = replay.error().to_string();
      return summary;
    }
    auto wall_start = steady::now();
    while (!should_stop()) {
      buf.clear();
      std::size_t want = config.batch_readings;
      if (config.count > 0) want = std::min<std::uint64_t>(want, config.count - summary.readings);
      auto n = replay->next(buf, want);
      if (!n) {
        summary.error = n.error().to_string();
        break;
      }
      if (*n == 0) break;
      if (config.speed > 0) {
        // Paced: a reading goes out when the clock reaches its (rebased) time.
        auto due_ms = buf.back().time - *ro.start_ms;
        auto due = wall_start + std::chrono::milliseconds(due_ms);
        while (steady::now() < due && !should_stop()) {
          auto left = std::chrono::duration_cast<std::chrono::milliseconds>(due - steady::now());
          gw.poll(static_cast<int>(std::clamp<long>(left.count(), 0, 50)));
        }
      }
      if (!out.send(buf)) break;
      report();
    }
    summary.replay = replay->stats();
  } else {
    twin::synth_options so;
    so.utc_offset_minutes = config.utc_offset_minutes;
    so.bad_share = config.bad_share;
    twin::synthetic_feed synth(city, config.seed, so);
    if (config.backfill_hours > 0) {
      auto now = clock.now_ms();
      auto minutes = static_cast<long>(config.backfill_hours * 60);
      for (long m = minutes; m >= 1 && !should_stop(); --m) {
        buf.clear();
        synth.sample_all(now - m * twin::ms_per_minute, buf);
        if (!out.send(buf)) break;
      }
    }
    while (summary.error.empty() && !should_stop()) {
      buf.clear();
      std::size_t want = config.batch_readings;
      if (config.count > 0) want = std::min<std::uint64_t>(want, config.count - summary.readings);
      synth.generate(clock.now_ms(), want, buf);
      if (!out.send(buf)) break;
      report();
    }
    summary.injected = synth.bad_counts();
  }

  auto flushed = gw.flush(config.flush_timeout_ms);
  if (!flushed && summary.error.empty()) summary.error = describe(flushed.error());
  summary.gateway = gw.stats();
  summary.elapsed_s = elapsed_s();
  return summary;
}

}  // namespace node
