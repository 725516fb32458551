// The durable node: a data directory, kill -9 at random moments, restarts, torn tails and a full
// disk, with the node as a separate process and a bare DEALER writing batches, checked against
// the test's own ledger of the acks.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <regex>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "cluster/codec.hpp"
#include "cluster/query_client.hpp"
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

// The Macau bundle's PM2.5 sensors (examples/macau/sensors.csv), by district.
struct pm25_sensor {
  std::uint32_t id;
  const char* district;
};
const std::vector<pm25_sensor> pm25 = {{251, "fatima"},
                                       {252, "fatima"},
                                       {253, "fatima"},
                                       {254, "fatima"},
                                       {255, "fatima"},
                                       {272, "santo-antonio"},
                                       {273, "santo-antonio"},
                                       {274, "santo-antonio"},
                                       {275, "santo-antonio"},
                                       {289, "sao-lazaro"},
                                       {290, "sao-lazaro"},
                                       {297, "se"},
                                       {298, "se"},
                                       {299, "se"},
                                       {300, "se"},
                                       {314, "sao-lourenco"},
                                       {315, "sao-lourenco"},
                                       {316, "sao-lourenco"},
                                       {328, "carmo-taipa"},
                                       {329, "carmo-taipa"},
                                       {330, "carmo-taipa"},
                                       {331, "carmo-taipa"},
                                       {332, "carmo-taipa"},
                                       {349, "cotai"},
                                       {350, "cotai"},
                                       {351, "cotai"},
                                       {352, "cotai"},
                                       {366, "sao-francisco-xavier-coloane"},
                                       {367, "sao-francisco-xavier-coloane"},
                                       {368, "sao-francisco-xavier-coloane"}};

constexpr std::uint32_t readings_per_batch = 256;
constexpr std::uint64_t gateway_id = 1001;
constexpr std::uint64_t session_id = 7;

// Reading g of the stream: sensor g mod 30, a second apart per sensor, an integral value (so
// that every sum is exact in a double).
twin::reading reading_at(std::uint64_t g, std::int64_t t0) {
  const auto& s = pm25[g % pm25.size()];
  return {twin::sensor_id{s.id}, t0 + static_cast<std::int64_t>(g / pm25.size()) * 1000,
          static_cast<double>(g % 97 + 1)};
}

// Batch `sequence` of the stream: readings_per_batch readings from reading_at.
struct raw_gateway : systest::raw_dealer {
  using raw_dealer::raw_dealer;
  void send(std::uint64_t sequence, std::int64_t t0) {
    std::vector<twin::reading> readings;
    for (std::uint32_t i = 0; i < readings_per_batch; ++i)
      readings.push_back(reading_at(sequence * readings_per_batch + i, t0));
    raw_dealer::send({gateway_id, session_id, sequence}, readings);
  }
};

// The test's ledger: which batches the node acknowledged as kept (`applied` or `duplicate`).
struct ledger {
  explicit ledger(std::uint64_t batches) : acked(batches, false) {}
  std::vector<bool> acked;
  std::uint64_t acked_count = 0;
  std::uint64_t accepted = 0;  // readings accepted over every ack
  std::uint64_t duplicates = 0;

  std::uint64_t acked_readings_of(std::uint32_t sensor_index) const {
    std::uint64_t n = 0;
    for (std::uint64_t b = 0; b < acked.size(); ++b)
      if (acked[b])
        for (std::uint64_t g = b * readings_per_batch; g < (b + 1) * readings_per_batch; ++g)
          if (g % pm25.size() == sensor_index) ++n;
    return n;
  }
};

twin::city_view ask_city(cluster::query_client& q) {
  auto r = q.ask(twin::query_city{}, 10000);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error()));
  REQUIRE(std::holds_alternative<twin::city_view>(*r));
  return std::get<twin::city_view>(*r);
}

twin::sensor_view ask_sensor(cluster::query_client& q, std::uint32_t id) {
  auto r = q.ask(twin::query_sensor{std::to_string(id)}, 10000);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error()));
  REQUIRE(std::holds_alternative<twin::sensor_view>(*r));
  return std::get<twin::sensor_view>(*r);
}

twin::district_view ask_district(cluster::query_client& q, const std::string& key) {
  auto r = q.ask(twin::query_district{key}, 10000);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error()));
  REQUIRE(std::holds_alternative<twin::district_view>(*r));
  return std::get<twin::district_view>(*r);
}

// After a restart: every reading the ledger says was acked is in the state, and nothing twice
// (at most what was sent).
void check_nothing_acked_lost(cluster::query_client& q, const ledger& l, std::uint64_t sent) {
  const auto city = ask_city(q);
  CHECK(city.readings_applied >= l.acked_count * readings_per_batch);
  CHECK(city.readings_applied <= sent * readings_per_batch);
  for (std::uint32_t i = 0; i < pm25.size(); ++i) {
    const auto s = ask_sensor(q, pm25[i].id);
    CAPTURE(pm25[i].id);
    CHECK(s.readings >= l.acked_readings_of(i));
  }
}

// Every batch acked: the state holds every reading exactly once.
void check_exact_state(cluster::query_client& q, std::uint64_t batches, std::int64_t t0) {
  const std::uint64_t n = batches * readings_per_batch;
  const auto city = ask_city(q);
  CHECK(city.readings_applied == n);
  std::map<std::string, std::pair<std::uint64_t, double>> by_district;  // count, sum
  std::vector<std::uint64_t> count(pm25.size());
  std::vector<twin::reading> latest(pm25.size());
  for (std::uint64_t g = 0; g < n; ++g) {
    const auto r = reading_at(g, t0);
    const auto i = g % pm25.size();
    ++count[i];
    if (r.time >= latest[i].time) latest[i] = r;
    auto& d = by_district[pm25[i].district];
    ++d.first;
    d.second += r.value;
  }
  for (std::uint32_t i = 0; i < pm25.size(); ++i) {
    const auto s = ask_sensor(q, pm25[i].id);
    CAPTURE(pm25[i].id);
    CHECK(s.readings == count[i]);
    CHECK(s.time == latest[i].time);
    CHECK(s.value == latest[i].value);
  }
  for (const auto& [key, cs] : by_district) {
    const auto d = ask_district(q, key);
    CAPTURE(key);
    const auto it = std::find_if(d.kinds.begin(), d.kinds.end(), [](const twin::kind_stats& k) {
      return k.kind == twin::sensor_kind::pm25;
    });
    REQUIRE(it != d.kinds.end());
    CHECK(it->last_1h.count == cs.first);
    CHECK(it->last_1h.mean == cs.second / static_cast<double>(cs.first));
  }
}

struct run_result {
  std::uint64_t kills = 0;
  std::uint64_t acked_before_kill_min = ~0ull, acked_before_kill_max = 0;
  std::uint64_t resent = 0;
  std::uint64_t starts_from_snapshot = 0;  // restarts that restored a periodic snapshot
};

// Streams `batches` batches through nodes on one data directory, killing the node with SIGKILL
// after a seeded random number of acks `cycles` times, then finishing and checking exactly.
run_result stream_with_kills(const std::string& dir, const std::string& durability,
                             std::uint64_t batches, int cycles, std::uint32_t seed) {
  const std::string data = dir + "/data";
  const std::int64_t t0 = now_ms() - 50 * 60 * 1000;
  std::mt19937 rng(seed);
  ledger book(batches);
  std::vector<bool> sent(batches, false);
  std::uint64_t sent_count = 0;
  run_result result;
  constexpr std::size_t window = 16;
  for (int cycle = 0; cycle <= cycles; ++cycle) {
    const bool last = cycle == cycles;
    const auto cycle_dir = dir + "/run" + std::to_string(cycle);
    std::filesystem::create_directories(cycle_dir);
    // Snapshots every 32 KiB of log (some 5 batches): kills land before, during and after them.
    systest::node_process node(
        cycle_dir, systest::macau_city,
        {"--data-dir", data, "--durability", durability, "--snapshot-every", "32KiB"});
    REQUIRE_MESSAGE(node.ready, node.proc->errors());
    if (node.proc->output().find("  recovered: snapshot ") != std::string::npos)
      ++result.starts_from_snapshot;
    cluster::query_client q;
    REQUIRE(q.connect(node.query).has_value());
    check_nothing_acked_lost(q, book, sent_count);

    raw_gateway gw(node.ingest);
    const std::uint64_t kill_after =
        last ? ~0ull : std::uniform_int_distribution<std::uint64_t>(5, batches / (cycles + 1))(rng);
    std::vector<std::uint64_t> todo;  // unacked batches, oldest first: resends, then new ones
    for (std::uint64_t b = 0; b < batches; ++b)
      if (!book.acked[b]) todo.push_back(b);
    std::size_t next = 0;
    std::vector<std::uint64_t> unacked;
    std::uint64_t acks_this_cycle = 0;
    const auto deadline = steady::now() + 120s;
    bool killed = false;
    while (steady::now() < deadline) {
      while (unacked.size() < window && next < todo.size()) {
        const auto b = todo[next++];
        if (sent[b]) ++result.resent;
        if (!sent[b]) sent[b] = true, ++sent_count;
        gw.send(b, t0);
        unacked.push_back(b);
      }
      if (unacked.empty()) break;
      auto ack = gw.receive(10000ms);
      REQUIRE_MESSAGE(ack.has_value(), "no ack within 10 s, cycle " << cycle);
      auto it = std::find(unacked.begin(), unacked.end(), ack->key.sequence);
      REQUIRE(it != unacked.end());
      unacked.erase(it);
      CAPTURE(ack->key.sequence);
      CAPTURE(ack->message);
      const bool kept =
          ack->status == twin::ack_status::applied || ack->status == twin::ack_status::duplicate;
      REQUIRE(kept);
      CHECK(ack->accepted + ack->rejected[twin::reject_reason::duplicate] == readings_per_batch);
      CHECK(ack->rejected.total() == ack->rejected[twin::reject_reason::duplicate]);
      if (!book.acked[ack->key.sequence]) {
        book.acked[ack->key.sequence] = true;
        ++book.acked_count;
      }
      book.accepted += ack->accepted;
      if (ack->status == twin::ack_status::duplicate) ++book.duplicates;
      if (++acks_this_cycle == kill_after) {
        // Batches are still in flight: some logged and applied, some only received.
        REQUIRE(kill(node.proc->pid(), SIGKILL) == 0);
        CHECK(node.proc->wait(10s) == -1);
        killed = true;
        ++result.kills;
        result.acked_before_kill_min = std::min(result.acked_before_kill_min, book.acked_count);
        result.acked_before_kill_max = std::max(result.acked_before_kill_max, book.acked_count);
        break;
      }
    }
    if (last) {
      REQUIRE(book.acked_count == batches);
      // Never more accepted than exist: a reading is accepted at most once over every ack.
      CHECK(book.accepted <= batches * readings_per_batch);
      check_exact_state(q, batches, t0);
      // A graceful stop, then a restart: the log replayed, the same exact state.
      CHECK(node.proc->stop(15s) == 0);
    } else {
      REQUIRE(killed);
    }
  }
  // One more start on the stopped node's data directory.
  const auto final_dir = dir + "/final";
  std::filesystem::create_directories(final_dir);
  systest::node_process node(final_dir, systest::macau_city,
                             {"--data-dir", data, "--durability", durability});
  REQUIRE_MESSAGE(node.ready, node.proc->errors());
  cluster::query_client q;
  REQUIRE(q.connect(node.query).has_value());
  check_exact_state(q, batches, t0);
  // The stop wrote a snapshot of everything: the restart replays nothing.
  const auto out = node.proc->output();
  CHECK(out.find("  recovered: snapshot " + data + "/snapshots/") != std::string::npos);
  CHECK(out.find("), then 0 batches (0 readings applied) from the log") != std::string::npos);
  raw_gateway gw(node.ingest);
  gw.send(0, t0);
  auto ack = gw.receive(10000ms);
  REQUIRE(ack.has_value());
  CHECK(ack->status == twin::ack_status::duplicate);
  CHECK(node.proc->output().find("recovered: ") != std::string::npos);
  return result;
}

}  // namespace

TEST_CASE(
    "kill -9 at random moments (process durability): every acked reading kept, exactly once") {
  auto dir = systest::make_temp_dir("durable-process");
  const auto r = stream_with_kills(dir, "process", 240, 12, 20261203);
  CHECK(r.kills == 12);
  MESSAGE("12 kills after " << r.acked_before_kill_min << "-" << r.acked_before_kill_max
                            << " acked batches, " << r.resent << " batches resent, "
                            << r.starts_from_snapshot << " restarts from a periodic snapshot");
}

TEST_CASE("kill -9 at random moments (power durability): every acked reading kept, exactly once") {
  auto dir = systest::make_temp_dir("durable-power");
  const auto r = stream_with_kills(dir, "power", 120, 10, 7);
  CHECK(r.kills == 10);
  MESSAGE("10 kills after " << r.acked_before_kill_min << "-" << r.acked_before_kill_max
                            << " acked batches, " << r.resent << " batches resent, "
                            << r.starts_from_snapshot << " restarts from a periodic snapshot");
}

namespace {

// Sends batches one at a time (each waits for its ack), returning the acks.
std::vector<twin::batch_ack> send_each(raw_gateway& gw, std::uint64_t from, std::uint64_t count,
                                       std::int64_t t0) {
  std::vector<twin::batch_ack> acks;
  for (std::uint64_t b = from; b < from + count; ++b) {
    gw.send(b, t0);
    auto ack = gw.receive(10000ms);
    REQUIRE_MESSAGE(ack.has_value(), "no ack for batch " << b);
    REQUIRE(ack->key.sequence == b);
    acks.push_back(*ack);
  }
  return acks;
}

std::filesystem::path last_segment(const std::string& data) {
  std::filesystem::path last;
  for (const auto& e : std::filesystem::directory_iterator(data + "/log"))
    if (last.empty() || e.path().filename() > last.filename()) last = e.path();
  return last;
}

}  // namespace

TEST_CASE("a node without a data directory says it keeps nothing, and --durability needs one") {
  auto dir = systest::make_temp_dir("durable-none");
  {
    systest::node_process node(dir, systest::small_city);
    REQUIRE_MESSAGE(node.ready, node.proc->errors());
    CHECK(node.proc->output().find(
              "  storage: none (no --data-dir): this node keeps nothing, a restart forgets every "
              "reading\n") != std::string::npos);
    const auto m = node.metrics();
    CHECK(systest::series(m, "citytwin_storage_durability{mode=\"none\"}") == 1);
    CHECK(systest::series(m, "citytwin_storage_log_appends_total") == 0);
  }
  auto r = systest::run_cli(dir, "durability-alone",
                            {"node", "--city", systest::small_city, "--durability", "power"});
  CHECK(r.code == 2);
  CHECK(r.errors.find("--durability: needs --data-dir") != std::string::npos);
  auto bad = systest::run_cli(
      dir, "durability-bad",
      {"node", "--city", systest::small_city, "--data-dir", dir + "/d", "--durability", "fsync"});
  CHECK(bad.code == 2);
  CHECK(bad.errors.find("--durability: 'fsync' is not one of process, power") != std::string::npos);
}

TEST_CASE("a data directory is held by one node, and a torn tail is cut at start and said") {
  auto dir = systest::make_temp_dir("durable-tail");
  const std::string data = dir + "/data";
  const std::int64_t t0 = now_ms() - 50 * 60 * 1000;
  {
    std::filesystem::create_directories(dir + "/one");
    systest::node_process node(dir + "/one", systest::macau_city, {"--data-dir", data});
    REQUIRE_MESSAGE(node.ready, node.proc->errors());
    CHECK(node.proc->output().find("  storage: " + data +
                                   ", durability process (acked once written to the log: "
                                   "survives kill -9, not a power loss)\n  recovered: 0 batches") !=
          std::string::npos);
    raw_gateway gw(node.ingest);
    for (const auto& ack : send_each(gw, 0, 10, t0)) CHECK(ack.status == twin::ack_status::applied);
    // A second node on the same directory is refused, naming the holder.
    auto second = systest::run_cli(
        dir, "second",
        {"node", "--city", systest::macau_city, "--data-dir", data, "--ingest", "tcp://127.0.0.1:0",
         "--query", "tcp://127.0.0.1:0", "--metrics", "127.0.0.1:0"});
    CHECK(second.code == 1);
    CHECK(second.errors.find("data directory " + data + " is in use by process " +
                             std::to_string(node.proc->pid())) != std::string::npos);
    // Killed: no snapshot, the log holds everything.
    REQUIRE(kill(node.proc->pid(), SIGKILL) == 0);
    CHECK(node.proc->wait(10s) == -1);
  }
  // A crash in the middle of a write leaves part of a record.
  const auto segment = last_segment(data);
  const auto size = std::filesystem::file_size(segment);
  {
    std::ofstream out(segment, std::ios::binary | std::ios::app);
    out << std::string(13, '\x5a');
  }
  std::filesystem::create_directories(dir + "/two");
  systest::node_process node(dir + "/two", systest::macau_city, {"--data-dir", data});
  REQUIRE_MESSAGE(node.ready, node.proc->errors());
  const auto out = node.proc->output();
  CHECK(out.find("  recovered: 10 batches (2560 readings applied) from the log (which holds "
                 "LSN 1-10 in 1 segment)") != std::string::npos);
  CHECK(out.find("  torn tail cut: 13 bytes at offset " + std::to_string(size) + " of " +
                 segment.string()) != std::string::npos);
  cluster::query_client q;
  REQUIRE(q.connect(node.query).has_value());
  check_exact_state(q, 10, t0);
  const auto m = node.metrics();
  CHECK(systest::series(m, "citytwin_storage_recovered_batches") == 10);
  CHECK(systest::series(m, "citytwin_storage_snapshot_lsn") == 0);
  CHECK(systest::series(m, "citytwin_storage_log_written_lsn") == 10);
}

TEST_CASE("a full disk: batches refused storage_unavailable, nothing applied, acked ones kept") {
  auto dir = systest::make_temp_dir("durable-full");
  const std::string data = dir + "/data";
  const std::int64_t t0 = now_ms() - 50 * 60 * 1000;
  std::uint64_t kept = 0;
  {
    std::filesystem::create_directories(dir + "/limited");
    // Every file the node writes is limited to 128 KiB: the log's segment fills after some 20
    // batches of 256 readings, and its writes then fail with EFBIG.
    systest::node_process node(dir + "/limited", systest::macau_city, {"--data-dir", data},
                               128 * 1024);
    REQUIRE_MESSAGE(node.ready, node.proc->errors());
    raw_gateway gw(node.ingest);
    std::uint64_t b = 0;
    std::optional<twin::batch_ack> refused;
    for (; b < 200 && !refused; ++b) {
      auto ack = send_each(gw, b, 1, t0).front();
      if (ack.status == twin::ack_status::applied)
        ++kept;
      else
        refused = ack;
    }
    REQUIRE(refused.has_value());
    CHECK(kept >= 5);
    CHECK(refused->status == twin::ack_status::storage_unavailable);
    CHECK(refused->accepted == 0);
    CHECK(refused->rejected[twin::reject_reason::storage_unavailable] == readings_per_batch);
    CHECK(refused->message.find("the node could not keep the batch (cannot append to " + data +
                                "/log/") != std::string::npos);
    CHECK(refused->message.find("File too large): nothing applied, resend later") !=
          std::string::npos);
    // It goes on refusing, and applies nothing.
    for (const auto& ack : send_each(gw, b, 4, t0))
      CHECK(ack.status == twin::ack_status::storage_unavailable);
    cluster::query_client q;
    REQUIRE(q.connect(node.query).has_value());
    CHECK(ask_city(q).readings_applied == kept * readings_per_batch);
    const auto m = node.metrics();
    CHECK(systest::series(m, "citytwin_ingest_readings_total{result=\"storage_unavailable\"}") ==
          5 * readings_per_batch);
    CHECK(systest::series(m, "citytwin_ingest_batches_total{result=\"storage_unavailable\"}") == 5);
    CHECK(systest::series(m, "citytwin_storage_log_append_errors_total") == 5);
    CHECK(systest::series(m, "citytwin_storage_log_appends_total") == double(kept));
    CHECK(systest::series(m, "citytwin_storage_durability{mode=\"process\"}") == 1);
    CHECK(systest::series(m, "citytwin_storage_durability{mode=\"none\"}") == 0);
    CHECK(node.proc->running());
  }
  // With room again, a restart has what was acked, and the refused batches are applied on resend.
  std::filesystem::create_directories(dir + "/roomy");
  systest::node_process node(dir + "/roomy", systest::macau_city, {"--data-dir", data});
  REQUIRE_MESSAGE(node.ready, node.proc->errors());
  raw_gateway gw(node.ingest);
  for (const auto& ack : send_each(gw, kept, 5, t0)) CHECK(ack.status == twin::ack_status::applied);
  cluster::query_client q;
  REQUIRE(q.connect(node.query).has_value());
  check_exact_state(q, kept + 5, t0);
}

TEST_CASE(
    "snapshot save writes a stopped node's whole state, and a new data directory starts from it") {
  auto dir = systest::make_temp_dir("durable-save");
  const std::string data = dir + "/data";
  const std::int64_t t0 = now_ms() - 50 * 60 * 1000;
  {
    std::filesystem::create_directories(dir + "/one");
    systest::node_process node(dir + "/one", systest::macau_city, {"--data-dir", data});
    REQUIRE_MESSAGE(node.ready, node.proc->errors());
    raw_gateway gw(node.ingest);
    for (const auto& ack : send_each(gw, 0, 12, t0)) CHECK(ack.status == twin::ack_status::applied);
    // Not while the node holds the directory.
    auto busy = systest::run_cli(dir, "busy",
                                 {"snapshot", "save", "--city", systest::macau_city, "--data-dir",
                                  data, "--out", dir + "/busy.snap"});
    CHECK(busy.code == 1);
    CHECK(busy.errors.find("is in use by process " + std::to_string(node.proc->pid())) !=
          std::string::npos);
    REQUIRE(kill(node.proc->pid(), SIGKILL) == 0);
    CHECK(node.proc->wait(10s) == -1);
  }
  // Killed: the state is in the log only; save replays it and writes all of it.
  const std::string file = dir + "/macau.snap";
  auto saved = systest::run_cli(
      dir, "save",
      {"snapshot", "save", "--city", systest::macau_city, "--data-dir", data, "--out", file});
  REQUIRE_MESSAGE(saved.code == 0, saved.errors);
  CHECK(saved.output.find("  recovered: 12 batches (3072 readings applied) from the log") !=
        std::string::npos);
  CHECK(saved.output.find("citytwin snapshot save: snapshot " + file + " (LSN 12, ") !=
        std::string::npos);
  // The data directory is as it was: no snapshot of its own, the log whole.
  CHECK(std::filesystem::is_empty(data + "/snapshots"));
  auto inspected = systest::run_cli(dir, "inspect", {"snapshot", "inspect", "--json", file});
  REQUIRE_MESSAGE(inspected.code == 0, inspected.errors);
  auto j = nlohmann::json::parse(inspected.output);
  CHECK(j["lsn"] == 12);
  std::uint64_t applied = 0;
  for (const auto& d : j["districts"]) applied += d["readings_applied"].get<std::uint64_t>();
  CHECK(applied == 12 * readings_per_batch);

  // Restored into a fresh data directory: the node starts from the snapshot and its log goes on
  // after LSN 12; resends are duplicates, new batches applied.
  const std::string fresh = dir + "/restored";
  std::filesystem::create_directories(fresh + "/snapshots");
  std::filesystem::copy_file(file, fresh + "/snapshots/00000000000000000012.snap");
  std::filesystem::create_directories(dir + "/two");
  {
    systest::node_process node(dir + "/two", systest::macau_city, {"--data-dir", fresh});
    REQUIRE_MESSAGE(node.ready, node.proc->errors());
    raw_gateway gw(node.ingest);
    for (const auto& ack : send_each(gw, 10, 2, t0))
      CHECK(ack.status == twin::ack_status::duplicate);
    for (const auto& ack : send_each(gw, 12, 3, t0)) CHECK(ack.status == twin::ack_status::applied);
    cluster::query_client q;
    REQUIRE(q.connect(node.query).has_value());
    check_exact_state(q, 15, t0);
    REQUIRE(kill(node.proc->pid(), SIGKILL) == 0);
    CHECK(node.proc->wait(10s) == -1);
  }
  CHECK(std::filesystem::exists(fresh + "/log/00000000000000000013.log"));
  std::filesystem::create_directories(dir + "/three");
  systest::node_process node(dir + "/three", systest::macau_city, {"--data-dir", fresh});
  REQUIRE_MESSAGE(node.ready, node.proc->errors());
  CHECK(
      node.proc->output().find(
          "(LSN 12), then 5 batches (768 readings applied) from the log (which holds LSN 13-17") !=
      std::string::npos);
  cluster::query_client q;
  REQUIRE(q.connect(node.query).has_value());
  check_exact_state(q, 15, t0);
}

TEST_CASE("a log is replayed only under the settings it was written with") {
  auto dir = systest::make_temp_dir("durable-settings");
  const std::string data = dir + "/data";
  const std::int64_t t0 = now_ms() - 50 * 60 * 1000;
  auto start = [&](const std::string& name, std::vector<std::string> extra) {
    std::filesystem::create_directories(dir + "/" + name);
    extra.insert(extra.begin(), {"--data-dir", data});
    return std::make_unique<systest::node_process>(dir + "/" + name, systest::macau_city, extra);
  };
  {
    auto node = start("one", {});
    REQUIRE_MESSAGE(node->ready, node->proc->errors());
    raw_gateway gw(node->ingest);
    for (const auto& ack : send_each(gw, 0, 3, t0)) CHECK(ack.status == twin::ack_status::applied);
    REQUIRE(kill(node->proc->pid(), SIGKILL) == 0);
    CHECK(node->proc->wait(10s) == -1);
  }
  CHECK(systest::read_file(data + "/SETTINGS").find("\nlateness: 1h\n") != std::string::npos);
  // Three batches to replay: another lateness could judge them differently.
  auto refused = systest::run_cli(
      dir, "refused",
      {"node", "--city", systest::macau_city, "--data-dir", data, "--lateness", "2h", "--ingest",
       "tcp://127.0.0.1:0", "--query", "tcp://127.0.0.1:0", "--metrics", "127.0.0.1:0"});
  CHECK(refused.code == 1);
  CHECK(refused.errors.find("its log holds 3 batches after its snapshot, written under other "
                            "settings") != std::string::npos);
  CHECK(refused.errors.find("was 'lateness: 1h', now 'lateness: 2h'") != std::string::npos);
  {
    // With the old settings, then a graceful stop: the snapshot covers everything.
    auto node = start("two", {});
    REQUIRE_MESSAGE(node->ready, node->proc->errors());
    CHECK(node->proc->stop(15s) == 0);
  }
  auto node = start("three", {"--lateness", "2h"});
  REQUIRE_MESSAGE(node->ready, node->proc->errors());
  CHECK(systest::read_file(data + "/SETTINGS").find("\nlateness: 2h\n") != std::string::npos);
  cluster::query_client q;
  REQUIRE(q.connect(node->query).has_value());
  check_exact_state(q, 3, t0);
}

TEST_CASE(
    "periodic snapshots: a node killed after one restarts from it and replays only the rest") {
  auto dir = systest::make_temp_dir("durable-periodic");
  const std::string data = dir + "/data";
  const std::int64_t t0 = now_ms() - 50 * 60 * 1000;
  std::uint64_t snapshot_lsn = 0;
  {
    std::filesystem::create_directories(dir + "/one");
    systest::node_process node(dir + "/one", systest::macau_city,
                               {"--data-dir", data, "--snapshot-every", "32KiB"});
    REQUIRE_MESSAGE(node.ready, node.proc->errors());
    raw_gateway gw(node.ingest);
    for (const auto& ack : send_each(gw, 0, 20, t0)) CHECK(ack.status == twin::ack_status::applied);
    // Some 6 KiB of log a batch: a snapshot is due after the sixth; wait until one is written.
    REQUIRE(systest::poll_until(
        [&] {
          for (const auto& e : std::filesystem::directory_iterator(data + "/snapshots"))
            if (e.path().extension() == ".snap") return true;
          return false;
        },
        20s));
    for (const auto& e : std::filesystem::directory_iterator(data + "/snapshots"))
      if (e.path().extension() == ".snap")
        snapshot_lsn = std::max<std::uint64_t>(snapshot_lsn, std::stoull(e.path().stem().string()));
    CHECK(snapshot_lsn >= 6);
    CHECK(snapshot_lsn <= 20);
    // The counter follows the file (written, renamed, then counted): poll for it too.
    CHECK(systest::poll_until(
        [&] { return systest::series(node.metrics(), "citytwin_storage_snapshots_total") >= 1; },
        20s));
    REQUIRE(kill(node.proc->pid(), SIGKILL) == 0);
    CHECK(node.proc->wait(10s) == -1);
  }
  std::filesystem::create_directories(dir + "/two");
  systest::node_process node(dir + "/two", systest::macau_city, {"--data-dir", data});
  REQUIRE_MESSAGE(node.ready, node.proc->errors());
  // The newest snapshot at the kill may be newer than the one seen above: read what was restored.
  const auto out = node.proc->output();
  std::smatch m;
  REQUIRE_MESSAGE(std::regex_search(out, m, std::regex("\\(LSN ([0-9]+)\\), then ([0-9]+) batch")),
                  out);
  const auto restored = std::stoull(m[1]);
  CHECK(restored >= snapshot_lsn);
  CHECK(std::stoull(m[2]) == 20 - restored);
  cluster::query_client q;
  REQUIRE(q.connect(node.query).has_value());
  check_exact_state(q, 20, t0);
}
