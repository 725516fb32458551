// The node's graceful stop and the city handshake, with a node as a separate process and a bare
// DEALER socket writing batches, so that no gateway logic hides what the node answers.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "cluster/codec.hpp"
#include "node.hpp"
#include "raw_dealer.hpp"

using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// 64 readings of the small city's PM2.5 sensor (id 5) a batch, times rising from `t0` by 1 ms.
struct raw_gateway : systest::raw_dealer {
  using raw_dealer::raw_dealer;
  std::uint32_t send(std::uint64_t sequence, std::int64_t t0,
                     const twin::city_identity& city = {}) {
    std::vector<twin::reading> readings;
    for (int i = 0; i < 64; ++i)
      readings.push_back(
          {twin::sensor_id{5}, t0 + static_cast<std::int64_t>(sequence) * 64 + i, 10.0 + i % 7});
    raw_dealer::send({77, 1, sequence}, readings, city);
    return static_cast<std::uint32_t>(readings.size());
  }
};

// What the ack says became of a batch's readings adds up to the readings it held.
bool accounted_ok(const twin::batch_ack& ack, std::uint32_t readings) {
  return ack.accepted + ack.rejected.total() == readings;
}

const twin::city_identity small_city{"Vila Pequena", 0x3e9e956ee242685fULL};
const twin::city_identity macau{"Macau", 0x3f3d3f9170a6ee94ULL};

}  // namespace

TEST_CASE("SIGTERM: every later batch is refused stopping, those in flight finish, exit 0") {
  auto dir = systest::make_temp_dir("stop");
  systest::node_process node(dir, systest::small_city);
  REQUIRE_MESSAGE(node.ready, node.proc->errors());
  raw_gateway gw(node.ingest);

  constexpr std::size_t window = 8;  // batches in flight, so some are in flight at the stop
  constexpr std::uint64_t before_stop = 200;  // acks before the signal
  constexpr std::uint64_t stopping_wanted = 5;
  const std::int64_t t0 = now_ms() - 600'000;
  struct sent_batch {
    std::uint64_t sequence;
    std::uint32_t readings;
    bool after_first_stopping;  // sent after a `stopping` ack had been received
  };
  std::deque<sent_batch> unacked;
  std::vector<twin::batch_ack> acks;
  std::uint64_t next = 0;
  bool signalled = false;
  bool stop_seen = false;
  std::uint64_t stopping_acks = 0;
  steady::time_point signalled_at{};
  double first_stopping_ms = -1;
  const auto deadline = steady::now() + 60s;
  while (steady::now() < deadline) {
    while (unacked.size() < window && stopping_acks < stopping_wanted)
      unacked.push_back({next, gw.send(next, t0), stop_seen}), ++next;
    if (unacked.empty()) break;
    auto ack = gw.receive(5000ms);
    REQUIRE_MESSAGE(ack.has_value(), "no ack within 5 s for batch " << unacked.front().sequence);
    // One DEALER, one ROUTER: acks of batches refused at once may overtake applied ones, so
    // match by sequence.
    auto it = std::find_if(unacked.begin(), unacked.end(),
                           [&](const sent_batch& b) { return b.sequence == ack->key.sequence; });
    REQUIRE(it != unacked.end());
    CAPTURE(ack->key.sequence);
    CHECK(accounted_ok(*ack, it->readings));
    if (it->after_first_stopping) CHECK(ack->status == twin::ack_status::stopping);
    unacked.erase(it);
    acks.push_back(*ack);
    if (ack->status == twin::ack_status::stopping) {
      if (!stop_seen)
        first_stopping_ms =
            std::chrono::duration<double, std::milli>(steady::now() - signalled_at).count();
      stop_seen = true;
      ++stopping_acks;
    }
    if (!signalled && acks.size() == before_stop) {
      REQUIRE(kill(node.proc->pid(), SIGTERM) == 0);
      signalled = true;
      signalled_at = steady::now();
    }
  }
  REQUIRE(signalled);
  // Batches already sent when the fifth came are refused too: at most a window more.
  REQUIRE(stopping_acks >= stopping_wanted);
  CHECK(stopping_acks < stopping_wanted + window);
  CHECK(unacked.empty());
  const int code = node.proc->wait(15s);
  CHECK(code == 0);

  std::uint64_t applied = 0, accepted = 0, stopping_readings = 0;
  for (const auto& a : acks) {
    const bool known =
        a.status == twin::ack_status::applied || a.status == twin::ack_status::stopping;
    CHECK(known);
    if (a.status == twin::ack_status::applied) ++applied, accepted += a.accepted;
    if (a.status == twin::ack_status::stopping)
      stopping_readings += a.rejected[twin::reject_reason::stopping];
    CHECK(a.city == small_city);
  }
  const std::string errors = node.proc->errors();
  std::smatch m;
  const std::regex said(
      "stopped on SIGTERM: ([0-9]+) batches applied \\(([0-9]+) readings accepted\\), ([0-9]+) "
      "in flight at the stop finished, ([0-9]+) batches refused stopping \\(([0-9]+) readings\\)");
  REQUIRE_MESSAGE(std::regex_search(errors, m, said), errors);
  CHECK(std::stoull(m[1]) == applied);
  CHECK(std::stoull(m[2]) == accepted);
  CHECK(std::stoull(m[3]) <= window);
  CHECK(std::stoull(m[4]) == stopping_acks);
  CHECK(std::stoull(m[5]) == stopping_readings);
  CHECK(stopping_readings == 64 * stopping_acks);
  CHECK(applied >= before_stop - window);
  CHECK(accepted == 64 * applied);
  MESSAGE("SIGTERM after " << before_stop << " acks: " << applied << " batches applied, " << m[3]
                           << " finished in flight, first `stopping` ack " << first_stopping_ms
                           << " ms after the signal");
}

TEST_CASE("the city handshake: a feed of another city is refused, nothing applied, exit 1") {
  auto dir = systest::make_temp_dir("city-handshake");
  systest::node_process node(dir, systest::small_city);
  REQUIRE_MESSAGE(node.ready, node.proc->errors());

  auto feed = systest::run_cli(dir, "feed-macau",
                               {"feed", "--city", systest::macau_city, "--to", node.ingest,
                                "--count", "1000", "--gateway-id", "31"},
                               60s);
  CHECK(feed.code == 1);
  CHECK(feed.errors.find("citytwin: wrong city: " + node.ingest +
                         " refused batch 0: batch for city 'Macau' (0x3f3d3f9170a6ee94), this "
                         "node runs city 'Vila Pequena' (0x3e9e956ee242685f)") !=
        std::string::npos);
  auto metrics = node.metrics();
  CHECK(systest::series(metrics, "citytwin_ingest_batches_total{result=\"wrong_city\"}") == 1);
  CHECK(systest::series(metrics, "citytwin_ingest_readings_total{result=\"wrong_city\"}") == 256);
  CHECK(systest::series(metrics, "citytwin_ingest_readings_total{result=\"accepted\"}") == 0);

  // Raw batches: another city's fingerprint refused whole; none (an older gateway) and the
  // node's own applied; every ack names the node's city.
  raw_gateway gw(node.ingest);
  const std::int64_t t0 = now_ms() - 60'000;
  gw.send(0, t0, macau);
  auto ack = gw.receive(5000ms);
  REQUIRE(ack.has_value());
  CHECK(ack->status == twin::ack_status::wrong_city);
  CHECK(ack->rejected[twin::reject_reason::wrong_city] == 64);
  CHECK(ack->accepted == 0);
  CHECK(ack->city == small_city);
  gw.send(1, t0);
  ack = gw.receive(5000ms);
  REQUIRE(ack.has_value());
  CHECK(ack->status == twin::ack_status::applied);
  CHECK(ack->accepted == 64);
  CHECK(ack->city == small_city);
  gw.send(2, t0, small_city);
  ack = gw.receive(5000ms);
  REQUIRE(ack.has_value());
  CHECK(ack->status == twin::ack_status::applied);
  CHECK(ack->accepted == 64);

  auto q = systest::run_cli(dir, "query", {"query", "--node", node.query, "--json", "city"}, 20s);
  REQUIRE_MESSAGE(q.code == 0, q.errors);
  CHECK(nlohmann::json::parse(q.output)["readings_applied"] == 128);
  metrics = node.metrics();
  CHECK(systest::series(metrics, "citytwin_ingest_batches_total{result=\"wrong_city\"}") == 2);
  CHECK(systest::series(metrics, "citytwin_ingest_readings_total{result=\"wrong_city\"}") == 320);
  CHECK(systest::series(metrics, "citytwin_ingest_readings_total{result=\"accepted\"}") == 128);

  // The bundle the node runs: taken.
  auto own = systest::run_cli(dir, "feed-small",
                              {"feed", "--city", systest::small_city, "--to", node.ingest,
                               "--count", "500", "--gateway-id", "32", "--json"},
                              60s);
  CHECK_MESSAGE(own.code == 0, own.errors);
  CHECK(node.proc->stop(10s) == 0);
}
