#include "node/feed_driver.hpp"

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

namespace node {

namespace {

using steady = std::chrono::steady_clock;

std::string describe(const cluster::gateway_error& e) {
  if (e.what == cluster::gateway_error::kind::wrong_city) return "wrong city: " + e.message;
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

// What a feed run shares between its sources: the gateway, the summary, the stop test and the
// once-a-second progress report.
struct feed_run {
  feed_run(cluster::gateway& gw, const feed_config& config, feed_summary& summary,
           const std::function<bool()>& keep_going,
           const std::function<void(const feed_summary&)>& progress, steady::time_point started)
      : gw(gw),
        config(config),
        summary(summary),
        keep_going(keep_going),
        progress(progress),
        started(started),
        out(gw, config, summary),
        last_progress(steady::now()) {}

  double elapsed_s() const {
    return std::chrono::duration<double>(steady::now() - started).count();
  }

  bool should_stop() const {
    if (keep_going && !keep_going()) return true;
    if (config.seconds > 0 && elapsed_s() >= config.seconds) return true;
    if (config.count > 0 && summary.readings >= config.count) return true;
    return false;
  }

  void report() {
    if (progress && steady::now() - last_progress >= std::chrono::seconds(1)) {
      last_progress = steady::now();
      summary.gateway = gw.stats();
      summary.elapsed_s = elapsed_s();
      progress(summary);
    }
  }

  // The readings to ask a source for next: a batch, or what is left of the count.
  std::size_t want() const {
    std::size_t n = config.batch_readings;
    if (config.count > 0) n = std::min<std::uint64_t>(n, config.count - summary.readings);
    return n;
  }

  cluster::gateway& gw;
  const feed_config& config;
  feed_summary& summary;
  const std::function<bool()>& keep_going;
  const std::function<void(const feed_summary&)>& progress;
  steady::time_point started;
  sender out;
  steady::time_point last_progress;
};

// Replays the configured file; false when it cannot be opened (nothing was sent).
bool feed_replay(feed_run& run, const twin::city_ptr& city, const twin::clock& clock) {
  const auto& config = run.config;
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
    run.summary.error = replay.error().to_string();
    return false;
  }
  std::vector<twin::reading> buf;
  auto wall_start = steady::now();
  while (!run.should_stop()) {
    buf.clear();
    auto n = replay->next(buf, run.want());
    if (!n) {
      run.summary.error = n.error().to_string();
      break;
    }
    if (*n == 0) break;
    if (config.speed > 0) {
      // Paced: a reading goes out when the clock reaches its (rebased) time.
      auto due_ms = buf.back().time - *ro.start_ms;
      auto due = wall_start + std::chrono::milliseconds(due_ms);
      while (steady::now() < due && !run.should_stop()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(due - steady::now());
        run.gw.poll(static_cast<int>(std::clamp<long>(left.count(), 0, 50)));
      }
    }
    if (!run.out.send(buf)) break;
    run.report();
  }
  run.summary.replay = replay->stats();
  return true;
}

// Generates synthetic readings: the backfilled hours first, then live until told to stop.
void feed_synthetic(feed_run& run, const twin::city_ptr& city, const twin::clock& clock) {
  const auto& config = run.config;
  twin::synth_options so;
  so.utc_offset_minutes = config.utc_offset_minutes;
  so.bad_share = config.bad_share;
  twin::synthetic_feed synth(city, config.seed, so);
  std::vector<twin::reading> buf;
  if (config.backfill_hours > 0) {
    auto now = clock.now_ms();
    auto minutes = static_cast<long>(config.backfill_hours * 60);
    for (long m = minutes; m >= 1 && !run.should_stop(); --m) {
      buf.clear();
      synth.sample_all(now - m * twin::ms_per_minute, buf);
      if (!run.out.send(buf)) break;
    }
  }
  while (run.summary.error.empty() && !run.should_stop()) {
    buf.clear();
    synth.generate(clock.now_ms(), run.want(), buf);
    if (!run.out.send(buf)) break;
    run.report();
  }
  run.summary.injected = synth.bad_counts();
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
  go.city = twin::identity_of(*city);
  go.curve = config.curve;
  cluster::gateway gw(go);
  if (auto c = gw.connect(); !c) {
    summary.error = describe(c.error());
    return summary;
  }
  feed_run run(gw, config, summary, keep_going, progress, started);
  if (config.replay) {
    if (!feed_replay(run, city, clock)) return summary;
  } else {
    feed_synthetic(run, city, clock);
  }
  auto flushed = gw.flush(config.flush_timeout_ms);
  if (!flushed && summary.error.empty()) summary.error = describe(flushed.error());
  summary.gateway = gw.stats();
  summary.elapsed_s = run.elapsed_s();
  return summary;
}

}  // namespace node
