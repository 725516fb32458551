// End to end: a node and feeds as separate processes on 127.0.0.1, checked through
// `citytwin query --json` and the node's /metrics text.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>
#include <zmq.hpp>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "cluster/codec.hpp"
#include "node.hpp"
#include "schemas/ingest.capnp.h"
#include "skip.hpp"

using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

using systest::cli_result;
using systest::node_process;
using systest::run_cli;
using systest::series;
using systest::small_city;

json query_json(const std::string& dir, const node_process& node, std::vector<std::string> what) {
  std::vector<std::string> args{"query", "--node", node.query, "--json"};
  args.insert(args.end(), what.begin(), what.end());
  auto r = run_cli(dir, "query", args, 20s);
  REQUIRE_MESSAGE(r.code == 0, r.output << r.errors);
  return json::parse(r.output);
}

const json& kind_of(const json& district, const std::string& kind) {
  for (const auto& k : district["kinds"])
    if (k["kind"] == kind) return k;
  FAIL("no kind " << kind);
  static json none;
  return none;
}

// A long-form replay whose times the test chooses relative to now, with duplicates, a late reading
// (older than its sensor's latest, within the lateness bound: applied, not the latest), one out of
// range, one too old and one too new.
std::string write_known_readings(const std::string& dir, std::int64_t now_ms) {
  auto t0 = now_ms - 30000;
  struct row {
    std::int64_t t;
    const char* sensor;
    double value;
  };
  std::vector<row> rows{
      {t0, "a-speed", 40},
      {t0 + 10000, "a-speed", 30},
      {t0 + 10000, "a-speed", 30},  // duplicate: same sensor and time
      {t0 + 5000, "a-speed", 35},   // late: older than the latest, applied to the windows
      {t0, "a-flow", 1200},
      {t0 + 20000, "a-flow", 1500},
      {t0, "b-pm25", 20},
      {t0 + 25000, "b-pm25", 40},
      {t0 + 25000, "b-pm25", 40},  // duplicate
      {t0 + 15000, "c-visitors", 600},
      {t0 + 20000, "b-bin", 85},
      {t0 + 21000, "b-bin", 120},               // out of range: a bin is at most 100 % full
      {now_ms - 2 * 86400000LL, "b-pm25", 10},  // too old for a node with --max-age 1d
      {now_ms + 3600000LL, "a-flow", 10},       // too new: an hour ahead
  };
  auto path = dir + "/known.csv";
  std::ofstream out(path);
  out << "timestamp,sensor,value\n";
  for (const auto& r : rows) out << r.t << ',' << r.sensor << ',' << r.value << '\n';
  return path;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TEST_CASE("a node and feeds as processes: exact state through query --json and /metrics") {
  auto dir = systest::make_temp_dir("e2e");
  node_process node(dir, small_city, {"--max-age", "1d"});
  REQUIRE_MESSAGE(node.ready, node.proc->output());

  auto csv = write_known_readings(dir, now_ms());
  auto feed = run_cli(dir, "feed1",
                      {"feed", "--city", small_city, "--to", node.ingest, "--replay", csv,
                       "--keep-time", "--json", "--gateway-id", "11"});
  REQUIRE_MESSAGE(feed.code == 0, feed.output << feed.errors);
  auto f = json::parse(feed.output);
  CHECK(f["readings_sent"] == 14);
  CHECK(f["readings_accepted"] == 9);
  CHECK(f["readings_rejected"] == 5);
  CHECK(f["rejected"] ==
        json{{"duplicate", 2}, {"out_of_range", 1}, {"too_old", 1}, {"too_new", 1}});

  // An acked reading is visible to the next query.
  auto a_speed = query_json(dir, node, {"sensor", "a-speed"});
  CHECK(a_speed["value"] == 30.0);  // the late 35 is not the latest
  CHECK(a_speed["readings"] == 3);
  CHECK(a_speed["district"] == "a");

  auto a = query_json(dir, node, {"district", "a"});
  CHECK(a["readings_applied"] == 5);
  // Link ab: 30 km/h against 50 km/h free flow, so 50/30 - 1 extra travel time.
  CHECK(a["indicators"]["mean_speed_kmh"] == 30.0);
  CHECK(a["indicators"]["congestion_index"].get<double>() == doctest::Approx(50.0 / 30.0 - 1));
  REQUIRE(a["links"].size() == 1);
  CHECK(a["links"][0]["link"] == "ab");
  CHECK(a["links"][0]["speed_kmh"] == 30.0);
  CHECK(a["links"][0]["flow_veh_h"] == 1500.0);

  auto b = query_json(dir, node, {"district", "b"});
  CHECK(b["readings_applied"] == 3);
  CHECK(b["indicators"]["pm25_ug_m3"] == 30.0);
  CHECK(b["indicators"]["waste_fill_pct"] == 85.0);
  CHECK(b["indicators"]["bins_full"] == 1);
  CHECK(kind_of(b, "pm25")["last_1h"]["count"] == 2);
  CHECK(kind_of(b, "pm25")["last_1h"]["max"] == 40.0);

  auto city = query_json(dir, node, {"city"});
  CHECK(city["readings_applied"] == 9);
  CHECK(city["rejected"] == f["rejected"]);
  REQUIRE(city["districts"].size() == 3);
  CHECK(city["districts"][2]["indicators"]["visitors"] == 600.0);
  CHECK(city["districts"][2]["indicators"]["crowding"] == 0.4);

  auto m = node.metrics();
  CHECK(series(m, "citytwin_ingest_readings_total{result=\"accepted\"}") == 9);
  CHECK(series(m, "citytwin_ingest_readings_total{result=\"duplicate\"}") == 2);
  CHECK(series(m, "citytwin_ingest_readings_total{result=\"too_old\"}") == 1);
  CHECK(series(m, "citytwin_ingest_batches_total{result=\"applied\"}") == 1);
  // District gauges are published on the districts' tick (every second).
  CHECK(systest::poll_until(
      [&] {
        m = node.metrics();
        return series(m, "citytwin_district_pm25_ug_m3{district=\"b\"}") == 30 &&
               series(m, "citytwin_district_readings_total{district=\"a\"}") == 5;
      },
      10s));
  CHECK(series(m, "citytwin_district_waste_fill_ratio{district=\"b\"}") == 0.85);
  CHECK(series(m, "citytwin_district_speed_kmh{district=\"a\"}") == 30);
  CHECK(series(m, "citytwin_district_readings_total{district=\"a\"}") == 5);
  // The exposition follows Prometheus' naming conventions, as its own linter sees them.
  if (const std::string promtool = CITYTWIN_PROMTOOL;
      testkit::have_tool("promtool", promtool, "promtool check metrics on a scrape")) {
    std::ofstream(dir + "/scrape.txt") << m;
    CHECK(std::system(
              (promtool + " check metrics < " + dir + "/scrape.txt > " + dir + "/promtool.out 2>&1")
                  .c_str()) == 0);
    CHECK_MESSAGE(systest::read_file(dir + "/promtool.out").empty(),
                  systest::read_file(dir + "/promtool.out"));
  }

  SUBCASE("replaying the same file again never double counts") {
    auto again = run_cli(dir, "feed2",
                         {"feed", "--city", small_city, "--to", node.ingest, "--replay", csv,
                          "--keep-time", "--json", "--gateway-id", "11"});
    REQUIRE_MESSAGE(again.code == 0, again.output << again.errors);
    auto g = json::parse(again.output);
    CHECK(g["readings_accepted"] == 0);
    // Every reading applied before is a duplicate now, the late one included.
    CHECK(g["rejected"] ==
          json{{"duplicate", 11}, {"out_of_range", 1}, {"too_old", 1}, {"too_new", 1}});
    CHECK(query_json(dir, node, {"city"})["readings_applied"] == 9);
    CHECK(query_json(dir, node, {"sensor", "a-speed"})["readings"] == 3);
  }

  SUBCASE("bad synthetic readings are rejected with a reason, counted exactly") {
    auto synth = run_cli(dir, "synth",
                         {"feed", "--city", small_city, "--to", node.ingest, "--count", "1000",
                          "--bad-share", "0.03", "--seed", "5", "--json", "--gateway-id", "12"});
    REQUIRE_MESSAGE(synth.code == 0, synth.output << synth.errors);
    auto s = json::parse(synth.output);
    CHECK(s["readings_sent"] == 1000);
    CHECK(s["injected_bad"] ==
          json{{"non_finite", 10}, {"out_of_range", 10}, {"unknown_sensor", 10}});
    CHECK(s["readings_accepted"] == 970);
    CHECK(s["rejected"] == json{{"non_finite", 10}, {"out_of_range", 10}, {"unknown_sensor", 10}});
    auto m2 = node.metrics();
    CHECK(series(m2, "citytwin_ingest_readings_total{result=\"accepted\"}") == 979);
    CHECK(series(m2, "citytwin_ingest_readings_total{result=\"unknown_sensor\"}") == 10);
    CHECK(series(m2, "citytwin_ingest_readings_total{result=\"non_finite\"}") == 10);
    CHECK(series(m2, "citytwin_ingest_readings_total{result=\"out_of_range\"}") == 11);
    CHECK(query_json(dir, node, {"city"})["readings_applied"] == 979);
  }

  SUBCASE("garbage and wrong-version frames are refused with a reason and the node lives on") {
    zmq::context_t ctx;
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::rcvtimeo, 5000);
    s.set(zmq::sockopt::linger, 0);
    s.connect(node.ingest);
    cluster::decoder decoder;
    auto ack_of = [&]() -> twin::batch_ack {
      zmq::message_t frame;
      REQUIRE(s.recv(frame));
      auto ack = decoder.decode_ack(cluster::bytes_of(frame));
      REQUIRE(ack.has_value());
      return *ack;
    };

    std::string garbage = "this is not a Cap'n Proto frame at all";
    s.send(zmq::buffer(garbage), zmq::send_flags::none);
    auto bad = ack_of();
    CHECK(bad.status == twin::ack_status::malformed);
    CHECK_FALSE(bad.message.empty());

    // A batch of a future protocol version, with one reading of a known sensor.
    capnp::MallocMessageBuilder message;
    auto batch = message.initRoot<citytwin::schema::ReadingBatch>();
    batch.setProtocolVersion(cluster::ingest_protocol_version + 1);
    batch.setGateway(99);
    batch.setSession(1);
    batch.setSequence(7);
    auto readings = batch.initReadings(1);
    readings[0].setSensor(5);
    readings[0].setTimeMs(now_ms());
    readings[0].setValue(12.0);
    auto words = capnp::messageToFlatArray(message);
    auto bytes = words.asBytes();
    s.send(zmq::buffer(bytes.begin(), bytes.size()), zmq::send_flags::none);
    auto refused = ack_of();
    CHECK(refused.status == twin::ack_status::wrong_version);
    CHECK(refused.key.sequence == 7);
    CHECK_MESSAGE(refused.message.find("protocol version 2") != std::string::npos, refused.message);

    CHECK(systest::poll_until(
        [&] { return series(node.metrics(), "citytwin_ingest_decode_failures_total") == 1; }, 5s));
    auto m2 = node.metrics();
    CHECK(series(m2, "citytwin_ingest_batches_total{result=\"malformed\"}") == 1);
    CHECK(series(m2, "citytwin_ingest_batches_total{result=\"wrong_version\"}") == 1);
    CHECK(node.proc->running());
    // Nothing of the refused batch was applied.
    CHECK(query_json(dir, node, {"city"})["readings_applied"] == 9);
    CHECK(query_json(dir, node, {"sensor", "b-pm25"})["readings"] == 2);
  }

  // SIGTERM: a clean exit.
  CHECK(node.proc->stop(10s) == 0);
  CHECK(node.proc->output().find("citytwin node: stopped") != std::string::npos);
}

TEST_CASE("a node takes its settings from a YAML file and the city is relative to it") {
  auto dir = systest::make_temp_dir("config");
  std::filesystem::create_directories(dir + "/cities");
  std::filesystem::create_symlink(small_city, dir + "/cities/small");
  {
    std::ofstream(dir + "/node.yaml") << "city: cities/small\ningest: tcp://127.0.0.1:0\n"
                                         "query: tcp://127.0.0.1:0\nmetrics: 127.0.0.1:0\n"
                                         "threads: 1\nmax_age: 1h\n";
  }
  systest::process node({systest::citytwin_bin, "node", "--config", dir + "/node.yaml",
                         "--ready-file", dir + "/ready.json"},
                        dir + "/node.out");
  REQUIRE_MESSAGE(
      systest::poll_until([&] { return !systest::read_file(dir + "/ready.json").empty(); }, 20s),
      node.errors());
  CHECK(node.output().find("Vila Pequena (3 districts") != std::string::npos);
  CHECK(node.stop(10s) == 0);
}

TEST_CASE("bad input on the command line gets a clear error naming the file and line") {
  auto dir = systest::make_temp_dir("cli-errors");
  { std::ofstream(dir + "/city.yaml") << "citytwin_bundle: 1\nname: x\ndistricts: [unclosed\n"; }
  auto r = run_cli(dir, "bad-bundle",
                   {"node", "--city", dir, "--ingest", "tcp://127.0.0.1:0", "--query",
                    "tcp://127.0.0.1:0", "--metrics", "127.0.0.1:0"});
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.errors.find(dir + "/city.yaml:") != std::string::npos, r.errors);

  { std::ofstream(dir + "/node.yaml") << "city: macau\nthreds: 2\n"; }
  auto cfg = run_cli(dir, "bad-config", {"node", "--config", dir + "/node.yaml"});
  CHECK(cfg.code == 2);
  CHECK_MESSAGE(
      cfg.errors.find(dir + "/node.yaml:2: field 'threds': unknown key") != std::string::npos,
      cfg.errors);

  auto node_dir = systest::make_temp_dir("cli-errors-node");
  node_process node(node_dir, small_city);
  // The small bundle is fine; ask about things that do not exist.
  REQUIRE_MESSAGE(node.ready, node.proc->output());
  auto q = run_cli(dir, "unknown", {"query", "--node", node.query, "district", "atlantis"});
  CHECK(q.code == 1);
  CHECK_MESSAGE(q.output.find("unknown district 'atlantis'") != std::string::npos,
                q.output << q.errors);
  auto silent = run_cli(dir, "silent",
                        {"query", "--node", "tcp://127.0.0.1:1", "--timeout-ms", "300", "city"});
  CHECK(silent.code == 1);
  CHECK_MESSAGE(silent.errors.find("tcp://127.0.0.1:1") != std::string::npos, silent.errors);
  CHECK(node.proc->stop(10s) == 0);
}

TEST_CASE("city check counts a bundle's parts and prints each kind's cadence") {
  auto dir = systest::make_temp_dir("city-check");
  auto r = run_cli(dir, "check", {"city", "check", small_city});
  REQUIRE_MESSAGE(r.code == 0, r.errors);
  CHECK(r.output.find(": 3 districts, ") != std::string::npos);
  CHECK(r.output.find("cadences (a sensor is stale 2 cadences after its latest reading):\n") !=
        std::string::npos);
  CHECK(r.output.find("  pm25               1h, 1 sensor\n") != std::string::npos);
  CHECK(r.output.find("5 sensors, 1 point source, 2 rules\n") != std::string::npos);
  CHECK(r.output.find(" 1 sensors") == std::string::npos);
}
