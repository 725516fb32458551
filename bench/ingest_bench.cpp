// The ingest benchmark: raw ZeroMQ as the reference, then gateways -> node -> district actors
// end to end on a synthetic city and on the Macau bundle, then an overload run that watches RSS.
// Run by hand (`make bench`); `--quick` is a smoke test and asserts no speed.

#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/feed_plan.hpp"
#include "bench/raw_transport.hpp"
#include "bench/rss_sampler.hpp"
#include "cluster/codec.hpp"
#include "cluster/curve.hpp"
#include "cluster/gateway.hpp"
#include "node/node_host.hpp"
#include "twin/city/bundle.hpp"
#include "twin/city/generate.hpp"

namespace {

using steady = std::chrono::steady_clock;

// The figures the ingest path is expected to reach on the machines we build on.
constexpr double target_readings_per_s = 10e6;
constexpr double target_share_of_raw = 0.25;
// Encoded frames kept for the raw reference; it cycles through them.
constexpr std::size_t raw_frames_max = 4096;
// Waiting longer than this for acks or a query means the node is stuck, not slow.
constexpr int flush_timeout_ms = 120'000;
constexpr auto query_timeout = std::chrono::seconds(30);

struct bench_options {
  std::uint64_t readings = 20'000'000;
  std::uint64_t macau_readings = 10'000'000;
  std::uint64_t overload_readings = 45'000'000;
  std::uint32_t batch = 256;
  std::uint32_t gateways = 2;
  std::uint32_t overload_gateways = 4;
  unsigned threads = 2;
  // Batches in flight per gateway (the node's credit): the node's default unless given.
  std::uint32_t inflight = node::node_config{}.inflight_per_gateway_max;
  std::uint32_t districts = 12;
  std::uint32_t sensors = 20'000;
  std::string macau = CITYTWIN_BENCH_MACAU;
  bool quick = false;
};

std::string millions(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f M", x / 1e6);
  return buf;
}

std::string mib(std::uint64_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f MiB", double(bytes) / (1024.0 * 1024.0));
  return buf;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

twin::time_ms wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Sums the samples of `metric` whose labels contain `label` in a Prometheus text exposition.
double scrape_sum(const std::string& text, const std::string& metric, const std::string& label) {
  std::istringstream in(text);
  std::string line;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.rfind(metric + "{", 0) != 0 || line.find(label) == std::string::npos) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

struct ingest_result {
  std::uint64_t sent = 0;
  std::uint64_t accepted = 0;  // by the gateways' acks
  std::uint64_t rejected = 0;
  std::uint64_t overloaded_acks = 0;
  std::uint64_t resent = 0;
  std::uint64_t applied = 0;           // by the node's city view
  double metrics_accepted = 0;         // by the node's /metrics
  double seconds = 0;                  // first send to last ack
  double cpu_s = 0;                    // process CPU time over the same span
  std::vector<bench::rss_sample> rss;  // overload runs only
  std::uint64_t heap_after_flush = 0;  // before the node stops
  std::uint64_t heap_after_stop = 0;
  std::string mailboxes;  // the node's mailbox depth gauges after the last ack
  std::uint64_t rss_before_node = 0;
  std::uint64_t rss_after_flush = 0;
  std::uint64_t rss_after_stop = 0;
  std::optional<cluster::wal::writer_stats> log;  // with a data directory
  std::string error;
  bool work_done() const { return error.empty() && applied == sent && accepted == sent; }
  double readings_per_s() const { return seconds > 0 ? double(sent) / seconds : 0; }
};

// What one gateway thread does between the start signal and its last ack.
using gateway_work = std::function<std::optional<std::string>(cluster::gateway&)>;

std::optional<std::string> send_all(cluster::gateway& gw, std::span<const twin::reading> readings,
                                    std::uint32_t batch, std::atomic<std::uint64_t>& sent) {
  for (std::size_t i = 0; i < readings.size(); i += batch) {
    const auto n = std::min<std::size_t>(batch, readings.size() - i);
    if (auto r = gw.send(readings.subspan(i, n)); !r) return r.error().message;
    sent.fetch_add(n, std::memory_order_relaxed);
  }
  return std::nullopt;
}

std::optional<twin::city_view> query_city(node::node_host& node) {
  auto promise = std::make_shared<std::promise<twin::query_reply>>();
  auto reply = promise->get_future();
  node.queries().query(twin::query_city{},
                       [promise](twin::query_reply r) { promise->set_value(std::move(r)); });
  if (reply.wait_for(query_timeout) != std::future_status::ready) return std::nullopt;
  auto r = reply.get();
  if (auto* view = std::get_if<twin::city_view>(&r)) return std::move(*view);
  return std::nullopt;
}

// Starts a node over `city`, runs one work function per gateway thread from a common start
// signal until every batch is acked, and checks what the node applied.
ingest_result run_ingest(const twin::city_ptr& city, const node::node_config& config,
                         twin::time_ms clock_ms, std::uint32_t gateways,
                         const std::function<gateway_work(std::uint32_t)>& work_for,
                         const std::atomic<std::uint64_t>& progress, bool sample_rss,
                         const std::optional<cluster::curve_client_keys>& curve = {}) {
  ingest_result result;
  result.rss_before_node = bench::rss_bytes();
  twin::manual_clock clock(clock_ms);
  auto started = node::node_host::start(city, config, clock, nullptr);
  if (!started) {
    result.error = "node: " + started.error();
    return result;
  }
  auto node = std::move(started.value());

  std::unique_ptr<bench::rss_sampler> sampler;
  std::latch go(1);
  std::mutex mutex;
  std::vector<std::thread> threads;
  std::vector<cluster::gateway_stats> stats(gateways);
  for (std::uint32_t g = 0; g < gateways; ++g) {
    threads.emplace_back([&, g] {
      cluster::gateway_options o;
      o.endpoint = node->ingest_endpoint();
      o.gateway_id = g + 1;
      o.unacked_max = config.inflight_per_gateway_max;
      o.curve = curve;
      cluster::gateway gw(o);
      auto fail = [&](const std::string& why) {
        std::lock_guard lock(mutex);
        if (result.error.empty()) result.error = "gateway " + std::to_string(g + 1) + ": " + why;
      };
      if (auto c = gw.connect(); !c) return fail(c.error().message);
      auto work = work_for(g);
      go.wait();
      if (auto e = work(gw)) return fail(*e);
      auto flushed = gw.flush(flush_timeout_ms);
      if (!flushed) return fail(flushed.error().message);
      stats[g] = *flushed;
    });
  }
  if (sample_rss)
    sampler = std::make_unique<bench::rss_sampler>(progress, std::chrono::milliseconds(100));
  const double cpu_start = cpu_seconds();
  const auto start = steady::now();
  go.count_down();
  for (auto& t : threads) t.join();
  result.seconds = std::chrono::duration<double>(steady::now() - start).count();
  result.cpu_s = cpu_seconds() - cpu_start;
  if (sampler) result.rss = sampler->stop();
  result.rss_after_flush = bench::rss_bytes();
  result.heap_after_flush = bench::heap_in_use_bytes();

  for (const auto& s : stats) {
    result.sent += s.readings_sent;
    result.accepted += s.readings_accepted;
    result.rejected += s.rejected_total();
    result.overloaded_acks += s.overloaded;
    result.resent += s.batches_resent;
  }
  if (auto view = query_city(*node))
    result.applied = view->readings_applied;
  else if (result.error.empty())
    result.error = "the node did not answer a city query within 30 s";
  result.metrics_accepted =
      scrape_sum(node->scrape_text(), "citytwin_ingest_readings_total", "result=\"accepted\"");
  {
    std::istringstream in(node->scrape_text());
    for (std::string line; std::getline(in, line);)
      if (line.rfind("citytwin_actor_mailbox_depth{", 0) == 0) result.mailboxes += line + "; ";
  }
  result.log = node->log_stats();
  node.reset();
  result.rss_after_stop = bench::rss_bytes();
  result.heap_after_stop = bench::heap_in_use_bytes();
  return result;
}

node::node_config node_config_for(const bench_options& o, unsigned threads) {
  node::node_config c;
  c.ingest = "tcp://127.0.0.1:0";
  c.query = "tcp://127.0.0.1:0";
  c.metrics = "127.0.0.1:0";
  c.threads = threads;
  c.inflight_per_gateway_max = o.inflight;
  return c;
}

// The node's key files and the gateways' keys (all gateways share one allowed pair), in a
// temporary folder removed when done.
struct curve_bench_keys {
  std::filesystem::path dir;
  std::string secret_file;
  std::string allow_file;
  cluster::curve_client_keys client;
  ~curve_bench_keys() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

std::unique_ptr<curve_bench_keys> make_curve_keys() {
  auto k = std::make_unique<curve_bench_keys>();
  k->dir = std::filesystem::temp_directory_path() /
           ("citytwin-bench-curve-" + std::to_string(::getpid()));
  std::filesystem::create_directories(k->dir);
  const auto node = cluster::curve_generate_key_pair();
  k->client = {node.public_z85, cluster::curve_generate_key_pair()};
  if (auto w = cluster::write_curve_key_pair(k->dir / "node", node, true); !w)
    throw std::runtime_error(w.error());
  k->secret_file = (k->dir / "node.key").string();
  k->allow_file = (k->dir / "clients.txt").string();
  std::ofstream(k->allow_file) << k->client.own.public_z85 << "\n";
  return k;
}

// Sends a pre-generated feed, gateway g sending plan.by_gateway[g]; with `curve`, over CURVE.
// With `data_dir`, the node keeps its state there with the given durability.
ingest_result run_feed(const twin::city_ptr& city, const bench::feed_plan& plan,
                       const bench_options& o, twin::time_ms clock_ms,
                       std::atomic<std::uint64_t>& sent, const curve_bench_keys* curve = nullptr,
                       const std::filesystem::path& data_dir = {},
                       cluster::durability durability = cluster::durability::process) {
  const auto gateways = static_cast<std::uint32_t>(plan.by_gateway.size());
  auto config = node_config_for(o, o.threads);
  config.data_dir = data_dir;
  config.durability = durability;
  std::optional<cluster::curve_client_keys> client;
  if (curve) {
    config.curve_secret_file = curve->secret_file;
    config.curve_allow = curve->allow_file;
    client = curve->client;
  }
  return run_ingest(
      city, config, clock_ms, gateways,
      [&](std::uint32_t g) -> gateway_work {
        return [&, g](cluster::gateway& gw) {
          return send_all(gw, plan.by_gateway[g], o.batch, sent);
        };
      },
      sent, false, client);
}

void print_ingest(const char* label, const ingest_result& r) {
  std::printf(
      "    %-16s %s readings in %.2f s = %s readings/s  (%.2f CPU-s, %.0f ns CPU/reading)\n", label,
      millions(double(r.sent)).c_str(), r.seconds, millions(r.readings_per_s()).c_str(), r.cpu_s,
      r.sent ? r.cpu_s * 1e9 / double(r.sent) : 0.0);
  std::printf("    %-16s applied by the node %" PRIu64 " / sent %" PRIu64
              " (acked accepted %" PRIu64 ", /metrics accepted %.0f), rejected %" PRIu64
              ", overloaded acks %" PRIu64 ", resent %" PRIu64 ": %s\n",
              "", r.applied, r.sent, r.accepted, r.metrics_accepted, r.rejected, r.overloaded_acks,
              r.resent, r.work_done() ? "ALL APPLIED" : "WORK NOT DONE");
  if (!r.error.empty()) std::printf("    %-16s error: %s\n", "", r.error.c_str());
}

// The overload run's memory: RSS and heap in use at start, peak, end, and the peaks after a
// third of the readings and after all of them. Flat means bounded by the in-flight limits.
void report_memory(const ingest_result& r) {
  const std::uint64_t third = r.sent / 3;
  const auto rss_third = bench::peak_until(r.rss, third);
  const auto rss_all = bench::peak_until(r.rss, r.sent);
  const auto heap_third = bench::heap_peak_until(r.rss, third);
  const auto heap_all = bench::heap_peak_until(r.rss, r.sent);
  std::printf(
      "    RSS: before the node %s, peak %s, after the last ack %s, after node shutdown %s\n",
      mib(r.rss_before_node).c_str(), mib(rss_all).c_str(), mib(r.rss_after_flush).c_str(),
      mib(r.rss_after_stop).c_str());
  std::printf("    heap in use: peak %s, after the last ack %s, after node shutdown %s\n",
              mib(heap_all).c_str(), mib(r.heap_after_flush).c_str(),
              mib(r.heap_after_stop).c_str());
  std::printf(
      "    peak RSS after %s readings %s, after %s readings %s; heap %s -> %s (%zu samples)\n",
      millions(double(third)).c_str(), mib(rss_third).c_str(), millions(double(r.sent)).c_str(),
      mib(rss_all).c_str(), mib(heap_third).c_str(), mib(heap_all).c_str(), r.rss.size());
  if (!r.mailboxes.empty())
    std::printf("    mailboxes after the last ack: %s\n", r.mailboxes.c_str());
  // Fewer samples than this cannot tell growth from warm-up.
  constexpr std::size_t samples_min = 20;
  if (r.rss.size() < samples_min) {
    std::printf("    memory: run too short to judge (use more --overload-readings)\n");
    return;
  }
  const double growth = double(rss_all) - double(rss_third);
  const bool flat = growth <= 0.1 * double(rss_third);
  std::printf("    memory %s: RSS grew %s while 3x the readings were sent\n",
              flat ? "FLAT (bounded by the in-flight limits, not by the readings sent)"
                   : "GREW with the readings sent",
              mib(static_cast<std::uint64_t>(std::max(growth, 0.0))).c_str());
}

bool meets_target(const ingest_result& r, double raw_per_s) {
  return r.readings_per_s() >= target_readings_per_s &&
         r.readings_per_s() >= target_share_of_raw * raw_per_s;
}

// [1] The reference: the same frames, encoded once, over bare ZeroMQ. Nothing when the feed is
// shorter than one batch.
std::optional<bench::raw_result> run_reference(const bench::feed_plan& plan,
                                               const bench_options& o) {
  std::vector<std::vector<std::byte>> frames;
  {
    cluster::encoder encoder;
    const auto& source = plan.by_gateway.front();
    for (std::size_t i = 0; i + o.batch <= source.size() && frames.size() < raw_frames_max;
         i += o.batch) {
      frames.emplace_back();
      encoder.encode_batch({1, 1, frames.size()},
                           std::span<const twin::reading>(source).subspan(i, o.batch),
                           frames.back());
    }
  }
  if (frames.empty()) {
    std::fprintf(stderr, "the feed is shorter than one batch\n");
    return std::nullopt;
  }
  const std::uint64_t raw_frame_count = std::max<std::uint64_t>(plan.total() / o.batch, 1000);
  const auto raw = bench::run_raw_transport(frames, raw_frame_count, o.batch);
  std::printf(
      "\n[1] reference: raw ZeroMQ PUSH -> PULL over tcp://127.0.0.1, the same Cap'n Proto "
      "ReadingBatch frames (%zu B for %u readings)\n",
      frames.front().size(), o.batch);
  std::printf("    %" PRIu64 " frames in %.2f s = %.0f frames/s = %s readings/s\n", raw.frames,
              raw.seconds, raw.frames_per_s(), millions(raw.readings_per_s()).c_str());
  return raw;
}

struct end_to_end_result {
  ingest_result synthetic;
  ingest_result macau;
  ingest_result macau_curve;
  ingest_result macau_process;
  ingest_result macau_power;
};

std::uint64_t directory_bytes(const std::filesystem::path& dir) {
  std::uint64_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) n += e.file_size();
  return n;
}

// The Macau feed again into a node with a data directory, `process` then `power` durability,
// each beside the in-memory run; then a node started on the `process` run's directory: the
// recovery of the whole log, timed.
void run_durability(const twin::city_ptr& macau, const bench::feed_plan& plan,
                    const bench_options& o, twin::time_ms clock_ms,
                    std::atomic<std::uint64_t>& sent, end_to_end_result& r) {
  const auto base = std::filesystem::temp_directory_path() /
                    ("citytwin-bench-data-" + std::to_string(::getpid()));
  std::filesystem::remove_all(base);
  auto ratio = [&](const ingest_result& x) {
    return r.macau.readings_per_s() > 0 ? x.readings_per_s() / r.macau.readings_per_s() : 0.0;
  };
  r.macau_process = run_feed(macau, plan, o, clock_ms, sent, nullptr, base / "process",
                             cluster::durability::process);
  print_ingest("Macau, process", r.macau_process);
  std::printf("    durability process / in memory: %.2f (target >= 0.80: %s)\n",
              ratio(r.macau_process), ratio(r.macau_process) >= 0.8 ? "met" : "NOT MET");
  r.macau_power = run_feed(macau, plan, o, clock_ms, sent, nullptr, base / "power",
                           cluster::durability::power);
  print_ingest("Macau, power", r.macau_power);
  std::printf("    durability power / in memory: %.2f, %s readings/s (target >= 5 M/s: %s)\n",
              ratio(r.macau_power), millions(r.macau_power.readings_per_s()).c_str(),
              r.macau_power.readings_per_s() >= 5e6 ? "met" : "NOT MET");
  if (const auto& s = r.macau_power.log)
    std::printf("    power: %" PRIu64 " group commits for %" PRIu64
                " batches (%.1f a commit), fdatasync p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                s->syncs, s->records, s->syncs ? double(s->records) / double(s->syncs) : 0.0,
                double(s->sync_ns_p50) / 1e6, double(s->sync_ns_p99) / 1e6,
                double(s->sync_ns_max) / 1e6);

  // Recovery: a node started on the process run's data directory replays its whole log.
  const auto log_bytes = directory_bytes(base / "process" / "log");
  auto config = node_config_for(o, o.threads);
  config.data_dir = base / "process";
  twin::manual_clock clock(clock_ms);
  const auto start = steady::now();
  auto node = node::node_host::start(macau, config, clock, nullptr);
  const double seconds = std::chrono::duration<double>(steady::now() - start).count();
  if (!node) {
    std::printf("    recovery: FAILED: %s\n", node.error().c_str());
  } else {
    const auto applied = (*node)->replayed().readings_accepted;
    const double gb = double(log_bytes) / 1e9;
    std::printf("    recovery: %s of log (%s readings) replayed into a new node in %.2f s = "
                "%.1f s per GB, %s readings/s; %s\n",
                mib(log_bytes).c_str(), millions(double(applied)).c_str(), seconds,
                gb > 0 ? seconds / gb : 0.0, millions(double(applied) / seconds).c_str(),
                applied == r.macau_process.sent ? "every reading recovered" : "READINGS MISSING");
    node->reset();
  }
  std::filesystem::remove_all(base);
}

// [2] End to end, the synthetic city's feed (released once sent) then the Macau bundle's.
end_to_end_result run_end_to_end(const twin::city_ptr& synthetic, bench::feed_plan& plan,
                                 const twin::city_ptr& macau, const bench_options& o,
                                 twin::time_ms clock_ms) {
  std::printf(
      "\n[2] end to end: gateways -> node ingest socket -> decode -> district actors -> "
      "state, first send to last ack\n");
  std::atomic<std::uint64_t> sent{0};
  const auto e2e_synthetic = run_feed(synthetic, plan, o, clock_ms, sent);
  print_ingest("synthetic city", e2e_synthetic);
  plan = {};

  auto macau_plan = bench::make_feed(macau, o.macau_readings,
                                     std::min<std::uint32_t>(o.gateways, macau->sensors.size()),
                                     clock_ms - twin::ms_per_second, 2);
  std::printf("    Macau bundle: %zu districts, %zu sensors, one reading per sensor every %" PRId64
              " ms\n",
              macau->districts.size(), macau->sensors.size(), macau_plan.interval_ms);
  const auto e2e_macau = run_feed(macau, macau_plan, o, clock_ms, sent);
  print_ingest("Macau bundle", e2e_macau);

  // The same feed again with CURVE on both sockets: every frame encrypted and authenticated.
  const auto keys = make_curve_keys();
  const auto e2e_curve = run_feed(macau, macau_plan, o, clock_ms, sent, keys.get());
  print_ingest("Macau, CURVE", e2e_curve);
  std::printf(
      "    CURVE on / off: %.2f (%s readings/s with CURVE, %s without)\n",
      e2e_macau.readings_per_s() > 0 ? e2e_curve.readings_per_s() / e2e_macau.readings_per_s()
                                     : 0.0,
      millions(e2e_curve.readings_per_s()).c_str(), millions(e2e_macau.readings_per_s()).c_str());
  end_to_end_result r{e2e_synthetic, e2e_macau, e2e_curve, {}, {}};
  run_durability(macau, macau_plan, o, clock_ms, sent, r);
  return r;
}

// [3] Against the reference and the target.
void print_against_target(const end_to_end_result& e2e, const bench::raw_result& raw) {
  std::printf(
      "\n[3] end to end / raw ZeroMQ: synthetic %.1f %%, Macau %.1f %%; target >= %s "
      "readings/s and >= %.0f %% of raw\n",
      100 * e2e.synthetic.readings_per_s() / raw.readings_per_s(),
      100 * e2e.macau.readings_per_s() / raw.readings_per_s(),
      millions(target_readings_per_s).c_str(), 100 * target_share_of_raw);
  std::printf("    synthetic city: %s; Macau bundle: %s\n",
              meets_target(e2e.synthetic, raw.readings_per_s()) ? "target met" : "BELOW TARGET",
              meets_target(e2e.macau, raw.readings_per_s()) ? "target met" : "BELOW TARGET");
}

// [4] Overload: more gateways at full speed than one scheduler thread can serve.
ingest_result run_overload(const twin::city_ptr& synthetic, const bench_options& o,
                           twin::time_ms clock_ms) {
  const unsigned overload_threads = 1;
  std::printf(
      "\n[4] overload: %u gateways at full speed into a node with %u scheduler thread, "
      "%s readings, RSS sampled every 100 ms\n",
      o.overload_gateways, overload_threads, millions(double(o.overload_readings)).c_str());
  const std::uint32_t og = o.overload_gateways;
  // A few rounds of values per gateway, replayed with advancing times.
  auto seed_plan = bench::make_feed(synthetic, synthetic->sensors.size() * 8, og, 0, 3);
  const std::uint64_t quota = o.overload_readings / og;
  const std::size_t smallest_share =
      bench::sensors_of_gateway(synthetic->sensors.size(), og, og - 1);
  const std::uint64_t rounds = quota / std::max<std::size_t>(smallest_share, 1) + 2;
  const twin::time_ms interval_ms = std::clamp<twin::time_ms>(
      5 * twin::ms_per_day / static_cast<twin::time_ms>(rounds), 1, twin::ms_per_second);
  const twin::time_ms first_ms =
      clock_ms - static_cast<twin::time_ms>(rounds) * interval_ms - twin::ms_per_minute;
  std::atomic<std::uint64_t> overload_sent{0};
  auto overload_config = node_config_for(o, overload_threads);
  // The node remembers each sensor's reading times over its lateness bound (exact deduplication):
  // state that grows with the readings until the bound is full. A 5 min bound fills it within the
  // first third of the run (300 times a sensor at one reading a second), so that what the run
  // judges is memory under overload, bounded by the in-flight limits, not that state filling up.
  overload_config.district.lateness_ms = 5 * twin::ms_per_minute;
  const auto times_per_sensor = std::min<std::uint64_t>(
      overload_config.district.times_per_sensor_max,
      static_cast<std::uint64_t>(overload_config.district.lateness_ms / interval_ms) + 1);
  std::printf("    node lateness 5 min: at most %" PRIu64
              " reading times a sensor remembered, %s for the city's %zu sensors\n",
              times_per_sensor,
              mib(times_per_sensor * 4 * synthetic->sensors.size()).c_str(),
              synthetic->sensors.size());
  const auto overload = run_ingest(
      synthetic, overload_config, clock_ms, og,
      [&](std::uint32_t g) -> gateway_work {
        auto feed = std::make_shared<bench::endless_feed>(
            seed_plan.by_gateway[g], bench::sensors_of_gateway(synthetic->sensors.size(), og, g),
            first_ms, interval_ms);
        return [&, feed](cluster::gateway& gw) -> std::optional<std::string> {
          std::vector<twin::reading> batch;
          for (std::uint64_t n = 0; n < quota; n += o.batch) {
            feed->next(std::min<std::uint64_t>(o.batch, quota - n), batch);
            if (auto r = gw.send(batch); !r) return r.error().message;
            overload_sent.fetch_add(batch.size(), std::memory_order_relaxed);
          }
          return std::nullopt;
        };
      },
      overload_sent, true);
  print_ingest("overload", overload);
  report_memory(overload);
  return overload;
}

int run(const bench_options& o) {
  std::printf(
      "citytwin ingest benchmark: %u readings per batch, %u gateways, node with %u "
      "scheduler threads, credit %u batches per gateway, %u hardware threads\n",
      o.batch, o.gateways, o.threads, o.inflight, std::thread::hardware_concurrency());

  twin::generate_options go;
  go.districts = o.districts;
  go.sensors = o.sensors;
  go.links = std::max<std::uint32_t>(100, o.sensors / 10);
  if (auto why = twin::check_options(go)) {
    std::fprintf(stderr, "cannot generate the city: %s\n", why->c_str());
    return 2;
  }
  const auto synthetic = std::make_shared<const twin::city>(twin::generate_city(go));
  auto macau_loaded = twin::load_city(o.macau);
  if (!macau_loaded) {
    std::fprintf(stderr, "cannot load the Macau bundle: %s\n",
                 macau_loaded.error().to_string().c_str());
    return 2;
  }
  const auto macau = std::make_shared<const twin::city>(std::move(macau_loaded.value()));
  const twin::time_ms clock_ms = wall_now_ms();

  auto t = steady::now();
  auto plan =
      bench::make_feed(synthetic, o.readings, o.gateways, clock_ms - twin::ms_per_second, 1);
  std::printf(
      "synthetic city: %zu districts, %zu sensors, %zu links; feed of %s readings, one "
      "per sensor every %" PRId64 " ms (generated in %.1f s)\n",
      synthetic->districts.size(), synthetic->sensors.size(), synthetic->links.size(),
      millions(double(plan.total())).c_str(), plan.interval_ms,
      std::chrono::duration<double>(steady::now() - t).count());

  const auto raw = run_reference(plan, o);
  if (!raw) return 2;
  const auto e2e = run_end_to_end(synthetic, plan, macau, o, clock_ms);
  print_against_target(e2e, *raw);
  const auto overload = run_overload(synthetic, o, clock_ms);

  const bool done = e2e.synthetic.work_done() && e2e.macau.work_done() &&
                    e2e.macau_curve.work_done() && e2e.macau_process.work_done() &&
                    e2e.macau_power.work_done() && overload.work_done();
  std::printf("\n%s\n", done ? "every reading sent was applied" : "SOME WORK WAS NOT DONE");
  return done ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  bench_options o;
  CLI::App app{"citytwin ingest benchmark: raw ZeroMQ reference, end to end, overload"};
  app.add_option("--readings", o.readings, "Readings sent end to end on the synthetic city")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1'000'000'000}));
  app.add_option("--batch", o.batch, "Readings per batch")
      ->check(CLI::Range(std::uint32_t{1}, cluster::batch_readings_max));
  app.add_option("--gateways", o.gateways, "Gateways (threads) sending at once")
      ->check(CLI::Range(1, 64));
  app.add_option("--threads", o.threads, "Scheduler threads of the node")->check(CLI::Range(1, 64));
  app.add_option("--inflight", o.inflight, "Batches in flight per gateway (the node's credit)")
      ->check(CLI::Range(1, 4096));
  app.add_option("--macau-readings", o.macau_readings, "Readings sent on the Macau bundle")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1'000'000'000}));
  app.add_option("--overload-readings", o.overload_readings, "Readings sent in the overload run")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{10'000'000'000}));
  app.add_option("--overload-gateways", o.overload_gateways, "Gateways in the overload run")
      ->check(CLI::Range(1, 64));
  app.add_option("--sensors", o.sensors, "Sensors of the synthetic city")
      ->check(CLI::Range(100u, twin::generate_sensors_max));
  app.add_option("--districts", o.districts, "Districts of the synthetic city")
      ->check(CLI::Range(1u, 1000u));
  app.add_option("--city", o.macau, "The Macau bundle (or another city bundle)");
  app.add_flag("--quick", o.quick, "A short run: a smoke test that the benchmark works");
  CLI11_PARSE(app, argc, argv);
  if (o.quick) {
    // Explicit sizes still win; the quick defaults only shrink what was not given.
    if (app.count("--readings") == 0) o.readings = 200'000;
    if (app.count("--macau-readings") == 0) o.macau_readings = 100'000;
    if (app.count("--overload-readings") == 0) o.overload_readings = 600'000;
    if (app.count("--sensors") == 0) o.sensors = 2'000;
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "citytwin_bench_ingest: %s\n", e.what());
    return 2;
  }
}
