// Feeds against a node on the Macau bundle: real-world wide-form data, a stream stopped with
// SIGTERM (nothing lost), and the one-process demo.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "node.hpp"

using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

const std::string& bin = systest::citytwin_bin;
const std::string& macau = systest::macau_city;
const std::string replay_dir = std::string(CITYTWIN_TEST_DATA) + "/replay";

struct macau_node : systest::node_process {
  explicit macau_node(const std::string& dir) : node_process(dir, macau) {}
};

json run_json(const std::string& dir, const std::string& name, std::vector<std::string> args) {
  args.insert(args.begin(), bin);
  systest::process p(args, dir + "/" + name + ".out");
  auto code = p.wait(60s);
  REQUIRE_MESSAGE(code == 0, p.output() << p.errors());
  return json::parse(p.output());
}

}  // namespace

TEST_CASE("a real wide-form station file replays into the Macau twin") {
  auto dir = systest::make_temp_dir("wide");
  macau_node node(dir);
  REQUIRE_MESSAGE(!node.ingest.empty(), node.proc->output());
  auto f =
      run_json(dir, "feed",
               {"feed", "--city", macau, "--to", node.ingest, "--replay",
                replay_dir + "/prsa_aotizhongxin_excerpt.csv", "--mapping",
                macau + "/feeds/beijing-aotizhongxin.mapping", "--csv-utc-offset", "8", "--json"});
  // 96 hourly rows x 6 mapped columns, one of them NA (see tests/data/replay/README.md).
  CHECK(f["replay"]["rows"] == 96);
  CHECK(f["replay"]["missing"] == 1);
  CHECK(f["readings_sent"] == 575);
  CHECK(f["readings_accepted"] == 575);
  CHECK(f["readings_rejected"] == 0);

  // The newest row (2013-03-04 23:00 local) is the latest value of each mapped sensor.
  auto pm25 =
      run_json(dir, "q1", {"query", "--node", node.query, "--json", "sensor", "sl-pm25-01"});
  CHECK(pm25["value"] == 58.0);
  CHECK(pm25["readings"] == 96);
  auto wd = run_json(dir, "q2",
                     {"query", "--node", node.query, "--json", "sensor", "sl-wind-direction-01"});
  CHECK(wd["value"] == 225.0);  // "SW"
  auto no2 = run_json(dir, "q3", {"query", "--node", node.query, "--json", "sensor", "sl-no2-01"});
  CHECK(no2["value"] == 86.0);
  CHECK(no2["readings"] == 95);  // one NA
  CHECK(node.proc->stop(10s) == 0);
}

TEST_CASE("a feed stopped with SIGTERM waits for its acks: nothing is lost") {
  auto dir = systest::make_temp_dir("sigterm");
  macau_node node(dir);
  REQUIRE_MESSAGE(!node.ingest.empty(), node.proc->output());
  systest::process feed({bin, "feed", "--city", macau, "--to", node.ingest, "--rate", "20000",
                         "--json", "--gateway-id", "21"},
                        dir + "/feed.out");
  auto applied = [&] {
    systest::process q({bin, "query", "--node", node.query, "--json", "city"}, dir + "/q.out");
    if (q.wait(10s) != 0) return std::uint64_t{0};
    return json::parse(q.output())["readings_applied"].get<std::uint64_t>();
  };
  REQUIRE(systest::poll_until([&] { return applied() > 2000; }, 20s));
  CHECK(feed.stop(20s) == 0);
  auto s = json::parse(feed.output());
  CHECK(s["error"].is_null());
  CHECK(s["readings_sent"].get<std::uint64_t>() > 2000);
  CHECK(s["readings_accepted"] == s["readings_sent"]);
  CHECK(applied() == s["readings_accepted"].get<std::uint64_t>());
  CHECK(node.proc->stop(10s) == 0);
}

TEST_CASE("the demo shows the live city, exits cleanly and ends with a what-if") {
  auto dir = systest::make_temp_dir("demo");
  systest::process demo({bin, "demo", "--city", macau, "--seconds", "3", "--rate", "5000",
                         "--metrics", "127.0.0.1:0"},
                        dir + "/demo.out");
  CHECK(demo.wait(60s) == 0);
  auto out = demo.output();
  CHECK_MESSAGE(out.find("Macau at ") != std::string::npos, out);
  CHECK(out.find("Nossa Senhora de Fátima") != std::string::npos);
  CHECK(out.find("metrics: http://127.0.0.1:") != std::string::npos);
  CHECK(out.find("citytwin demo: node stopped cleanly") != std::string::npos);
  // It ends with a what-if and its comparison table.
  CHECK(out.find("Scenario sai-van-closed") != std::string::npos);
  CHECK(out.find("Ponte de Sai Van") != std::string::npos);
}
