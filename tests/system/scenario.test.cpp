// `citytwin scenario run` end to end on the Macau scenarios: exit status, the files it writes and
// what they hold, and its refusal of a bad scenario file.
#include <doctest/doctest.h>

#include <cstdlib>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "node.hpp"
#include "process.hpp"

using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

using systest::read_file;
using systest::run_cli;

const std::string scenarios = std::string(CITYTWIN_EXAMPLES) + "/macau/scenarios";
constexpr std::size_t macau_links = 200;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Runs one scenario with --out and checks every file; returns summary.json.
json run_and_check(const std::string& name, const std::vector<std::string>& variants) {
  const auto dir = systest::make_temp_dir("scenario-" + name);
  const auto out = dir + "/out";
  auto r = run_cli(dir, "scenario",
                   {"scenario", "run", scenarios + "/" + name + ".yaml", "--out", out}, 60s);
  REQUIRE_MESSAGE(r.code == 0, r.output << r.errors);
  CHECK(r.output.find("Scenario " + name) != std::string::npos);
  CHECK(r.output.find("most affected links") != std::string::npos);
  CHECK(r.output.find(out + "/summary.json") != std::string::npos);

  auto summary = json::parse(read_file(out + "/summary.json"));
  CHECK(summary["scenario"] == name);
  CHECK(summary["base"]["city"] == "Macau");
  REQUIRE(summary["variants"].size() == variants.size());
  for (std::size_t i = 0; i < variants.size(); ++i) {
    const auto& v = summary["variants"][i];
    CHECK(v["name"] == variants[i]);
    CHECK(v["links"].size() == macau_links);
    CHECK(v["districts"].size() == 8);
    CHECK(v["most_affected_links"].size() == 10);
    CHECK(v["most_affected_od"].size() == 10);
    CHECK(v["totals"]["demand_veh_h"].get<double>() > 0);
    CHECK(v["solver"]["iterations"].get<int>() >= 1);
    CHECK(v["solver"]["gap_reached"] == true);
  }
  CHECK(summary["baseline"]["solver"]["gap_reached"] == true);
  CHECK(summary["baseline"]["totals"]["demand_veh_h"].get<double>() ==
        doctest::Approx(56000).epsilon(1e-3));

  auto csv = lines_of(read_file(out + "/links.csv"));
  REQUIRE(csv.size() == 1 + macau_links * variants.size());
  CHECK(csv[0].rfind("variant,key,name,district,from_node,to_node,", 0) == 0);
  for (std::size_t i = 0; i < variants.size(); ++i)
    CHECK(csv[1 + i * macau_links].rfind(variants[i] + ",", 0) == 0);
  auto districts = lines_of(read_file(out + "/districts.csv"));
  CHECK(districts.size() == 1 + 8 * variants.size());

  auto geo = json::parse(read_file(out + "/links.geojson"));
  CHECK(geo["type"] == "FeatureCollection");
  REQUIRE(geo["features"].size() == macau_links);
  CHECK(geo["features"][0]["geometry"]["type"] == "LineString");
  for (const auto& v : variants) CHECK(geo["features"][0]["properties"].contains("flow_" + v));

  // The results as metrics labelled by scenario and variant, lint-clean for Prometheus.
  auto prom = read_file(out + "/scenario.prom");
  CHECK(prom.find("citytwin_scenario_travel_distance_meters{scenario=\"" + name +
                  "\",variant=\"baseline\"} ") != std::string::npos);
  for (const auto& v : variants)
    CHECK(prom.find("citytwin_scenario_district_mean_speed_kmh{scenario=\"" + name +
                    "\",variant=\"" + v + "\",district=\"cotai\"} ") != std::string::npos);
  if (const std::string promtool = CITYTWIN_PROMTOOL; !promtool.empty())
    CHECK(std::system((promtool + " check metrics < " + out + "/scenario.prom > " + dir +
                       "/promtool.out 2>&1")
                          .c_str()) == 0);

  for (const auto& v : variants) {
    auto svg = read_file(out + "/" + v + ".svg");
    REQUIRE(!svg.empty());
    CHECK(svg.rfind("<svg", 0) == 0);
    while (!svg.empty() && (svg.back() == '\n' || svg.back() == ' ')) svg.pop_back();
    CHECK(svg.size() > 6);
    CHECK(svg.substr(svg.size() - 6) == "</svg>");
    CHECK(std::count(svg.begin(), svg.end(), '<') == std::count(svg.begin(), svg.end(), '>'));
  }
  return summary;
}

double link_flow(const json& variant_or_baseline, const std::string& key) {
  for (const auto& l : variant_or_baseline["links"])
    if (l["key"] == key) return l["flow_veh_h"].get<double>();
  FAIL("no link " << key);
  return 0;
}

}  // namespace

TEST_CASE("scenario run: Sai Van closed puts nothing on the bridge and more on the others") {
  auto s = run_and_check("sai-van-closed", {"sai-van-closed"});
  const auto& b = s["baseline"];
  const auto& v = s["variants"][0];
  CHECK(link_flow(b, "sva-svb") > 0);
  CHECK(link_flow(v, "sva-svb") == 0);
  CHECK(link_flow(v, "svb-sva") == 0);
  double before = 0, after = 0;
  for (const char* key : {"nca-ncb", "ncb-nca", "ama-amb", "amb-ama", "zna-pac", "pac-zna"}) {
    before += link_flow(b, key);
    after += link_flow(v, key);
  }
  CHECK(after > before);
  // Every vehicle still gets across: the closure disconnects no one.
  CHECK(v["totals"]["unassigned_veh_h"] == 0);
  CHECK(v["disconnected"]["pairs"] == 0);
  CHECK(v["perturbations"][0]["kind"] == "close");
  CHECK(v["perturbations"][0]["links"] == 2);
}

TEST_CASE("scenario run: golden week and the avenue lane closure") {
  auto g = run_and_check("golden-week", {"golden-week", "golden-week-sai-van-closed"});
  const double base = g["baseline"]["totals"]["demand_veh_h"].get<double>();
  CHECK(g["variants"][0]["totals"]["demand_veh_h"].get<double>() > base);
  CHECK(g["variants"][0]["delta"]["vht"].get<double>() > 0);
  auto a = run_and_check("avenue-lane-closure", {"one-lane"});
  const auto& link = a["variants"][0]["links"][0];
  CHECK(link["key"] == "pc-cnd");
  CHECK(a["variants"][0]["solver"]["warm_started"] == true);
}

TEST_CASE("scenario run: --json prints the summary; the same run twice gives the same numbers") {
  const auto dir = systest::make_temp_dir("scenario-json");
  auto run = [&](const std::string& out) {
    auto r = run_cli(dir, "json",
                     {"scenario", "run", scenarios + "/avenue-lane-closure.yaml", "--out",
                      dir + "/" + out, "--json"});
    REQUIRE_MESSAGE(r.code == 0, r.errors);
    auto j = json::parse(r.output);
    // The measured solve time is the one field that differs between runs.
    j["baseline"]["solver"].erase("solve_ms");
    for (auto& v : j["variants"]) v["solver"].erase("solve_ms");
    return j;
  };
  auto a = run("a");
  auto b = run("b");
  CHECK(a.dump() == b.dump());
  CHECK(read_file(dir + "/a/links.csv") == read_file(dir + "/b/links.csv"));
}

TEST_CASE("scenario run: a bad scenario file exits 2 naming file, line and field") {
  const auto dir = systest::make_temp_dir("scenario-bad");
  const auto file = dir + "/bad.yaml";
  std::ofstream(file) << "scenario: bad\nbase: { city: \"" << CITYTWIN_EXAMPLES
                      << "/macau\" }\nvariants:\n  - name: v\n    perturbations:\n"
                         "      - close: { bridge: \"Ponte Nenhuma\" }\n";
  auto r = run_cli(dir, "bad", {"scenario", "run", file});
  CHECK(r.code == 2);
  CHECK(r.errors.find(file + ":6: field 'variants[0].perturbations[0].close.bridge'") !=
        std::string::npos);
  CHECK(r.errors.find("no link is named 'Ponte Nenhuma'") != std::string::npos);
}
