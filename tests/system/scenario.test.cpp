// `citytwin scenario run` end to end on the Macau scenarios: exit status, the files it writes and
// what they hold, and its refusal of a bad scenario file.
#include <doctest/doctest.h>

#include <cstdlib>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cluster/snapshot_file.hpp"
#include "fed_runtime.hpp"
#include "node.hpp"
#include "process.hpp"
#include "skip.hpp"
#include "twin/city/bundle.hpp"

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
  if (const std::string promtool = CITYTWIN_PROMTOOL;
      testkit::have_tool("promtool", promtool, "promtool check metrics on scenario.prom"))
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

TEST_CASE("scenario run: --json prints the summary and the same run twice gives the same numbers") {
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

TEST_CASE("scenario run: the diesel lorry ban lowers peninsula NO2 and raises it nowhere") {
  const std::string name = "diesel-truck-ban";
  const auto dir = systest::make_temp_dir("scenario-env-" + name);
  const auto out = dir + "/out";
  auto r = run_cli(dir, "scenario",
                   {"scenario", "run", scenarios + "/" + name + ".yaml", "--out", out}, 120s);
  REQUIRE_MESSAGE(r.code == 0, r.output << r.errors);
  CHECK(r.output.find("PM2.5 exposure (ug/m3)") != std::string::npos);
  // Environmental changes only: the traffic is the baseline's, said once instead of zero deltas.
  CHECK(r.output.find(name + "        traffic of the baseline (not solved again)\n") !=
        std::string::npos);
  CHECK(r.output.find("traffic: the baseline's (environmental changes only; network and demand "
                      "unchanged)\n") != std::string::npos);
  CHECK(r.output.find("most affected links") == std::string::npos);
  auto s = json::parse(read_file(out + "/summary.json"));
  CHECK(s["variants"][0]["traffic_reused"] == true);
  REQUIRE(s.contains("environment"));
  const auto& env = s["environment"];
  const auto& base = env["baseline"];
  const auto& ban = env["variants"][0];
  CHECK(ban["traffic_reused"] == true);
  REQUIRE(ban["districts"].size() == 8);
  const std::set<std::string> peninsula{"fatima", "santo-antonio", "sao-lazaro", "se",
                                        "sao-lourenco"};
  for (std::size_t d = 0; d < 8; ++d) {
    const auto& now = ban["districts"][d];
    const auto& before = base["districts"][d];
    const double delta_no2 = now["delta"]["no2_mean_ug_m3"].get<double>();
    CHECK(delta_no2 == doctest::Approx(now["no2"]["mean_ug_m3"].get<double>() -
                                       before["no2"]["mean_ug_m3"].get<double>()));
    CHECK(delta_no2 <= 0);
    if (peninsula.count(now["key"].get<std::string>())) {
      CHECK(delta_no2 < 0);
      CHECK(now["road_nox_kg_h"].get<double>() < before["road_nox_kg_h"].get<double>());
    } else {
      // No ban there: the same emissions; only air drifting from the peninsula changes.
      CHECK(now["road_nox_kg_h"].get<double>() == before["road_nox_kg_h"].get<double>());
    }
    // The background (20 ug/m3 PM2.5, 30 NO2) is a floor.
    CHECK(now["pm25"]["mean_ug_m3"].get<double>() >= 20);
    CHECK(now["no2"]["mean_ug_m3"].get<double>() >= 30);
  }
  CHECK(ban["delta"]["nox_kg_h"].get<double>() < 0);
  CHECK(ban["city"]["co2_t_h"].get<double>() < base["city"]["co2_t_h"].get<double>());
  // Every cell of the grid: never dirtier with the ban.
  auto grid = lines_of(read_file(out + "/grid_" + name + ".csv"));
  REQUIRE(grid.size() > 1000);
  CHECK(grid[0] ==
        "cell,row,column,lon,lat,district,population,pm25_ug_m3,no2_ug_m3,lden_db,"
        "delta_pm25_ug_m3,delta_no2_ug_m3,delta_lden_db");
  for (std::size_t i = 1; i < grid.size(); ++i) {
    const auto last = grid[i].rfind(',');
    const auto before_last = grid[i].rfind(',', last - 1);
    CHECK(std::stod(grid[i].substr(before_last + 1, last - before_last - 1)) <= 0);
  }
  for (const char* file : {"grid_baseline.csv", "grid_baseline.geojson", "heatmap_baseline_no2.svg",
                           "heatmap_diesel-truck-ban_no2_delta.svg",
                           "heatmap_diesel-truck-ban_pm25.svg", "grid_diesel-truck-ban.geojson"})
    CHECK_MESSAGE(!read_file(out + "/" + file).empty(), file);
  auto geo = json::parse(read_file(out + "/grid_" + name + ".geojson"));
  CHECK(geo["features"].size() == grid.size() - 1);
  CHECK(geo["features"][0]["geometry"]["type"] == "Polygon");
  auto prom = read_file(out + "/scenario.prom");
  if (const std::string promtool = CITYTWIN_PROMTOOL;
      testkit::have_tool("promtool", promtool, "promtool check metrics on scenario.prom"))
    CHECK(std::system((promtool + " check metrics < " + out + "/scenario.prom > " + dir +
                       "/promtool.out 2>&1")
                          .c_str()) == 0);
  CHECK(prom.find("citytwin_scenario_exposure_ug_m3{scenario=\"" + name + "\",variant=\"" + name +
                  "\",district=\"se\",pollutant=\"no2\"} ") != std::string::npos);
}

namespace {

std::int64_t wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const std::string live_corridor = std::string(CITYTWIN_TEST_DATA) + "/scenario/live-corridor";

// A scenario on `city` whose one variant is `perturbation`; based on `node` when not empty.
std::string write_live_scenario(const std::string& dir, const std::string& city,
                                const std::string& node,
                                const std::string& perturbation =
                                    "capacity: { links: [ab], "
                                    "factor: 0.5 }") {
  const auto file = dir + "/live.yaml";
  std::ofstream out(file);
  out << "scenario: live-corridor\nbase:\n  city: \"" << city << "\"\n";
  if (!node.empty()) out << "  node: \"" << node << "\"\n";
  out << "assignment: { gap: 1.0e-9 }\nvariants:\n  - name: v\n    perturbations:\n      - "
      << perturbation << "\n";
  return file;
}

// Replays `rows` (timestamp,sensor,value lines) into the node with their own times; returns the
// feed's --json summary.
json feed_rows(const std::string& dir, const systest::node_process& node, const std::string& rows,
               const std::string& city = live_corridor) {
  const std::string csv = dir + "/live.csv";
  {
    std::ofstream out(csv);
    out << "timestamp,sensor,value\n" << rows;
  }
  auto feed = run_cli(
      dir, "feed",
      {"feed", "--city", city, "--to", node.ingest, "--replay", csv, "--keep-time", "--json"});
  REQUIRE_MESSAGE(feed.code == 0, feed.output << feed.errors);
  return json::parse(feed.output);
}

}  // namespace

TEST_CASE("scenario run forks a live node: exact capacity cut, demand factor and environment") {
  const auto dir = systest::make_temp_dir("scenario-live");
  systest::node_process node(dir, live_corridor);
  REQUIRE_MESSAGE(node.ready, node.proc->output() << node.proc->errors());

  // Speeds and flows a minute old, the spur's twenty minutes old (past 2 x the 5 min traffic
  // cadence).
  const auto now = wall_now_ms();
  const auto fresh = now - 60000, old = now - 20 * 60000;
  std::ostringstream rows;
  rows << fresh << ",ab-speed,30\n"
       << fresh << ",ab-flow,900\n"
       << fresh << ",bc-speed,60\n"
       << fresh << ",bc-flow,800\n"
       << old << ",ad-speed,20\n"
       << old << ",ad-flow,100\n"
       << fresh << ",w-pm25,20\n"
       << fresh << ",e-pm25,30\n"
       << fresh << ",e-no2,40\n"
       << fresh << ",wind-speed,3.5\n"
       << fresh << ",wind-dir,180\n";
  CHECK(feed_rows(dir, node, rows.str())["readings_accepted"] == 11);

  // The node named in the file.
  const auto file = write_live_scenario(dir, live_corridor, node.query);
  auto r = run_cli(dir, "live", {"scenario", "run", file, "--out", dir + "/out", "--json"}, 60s);
  REQUIRE_MESSAGE(r.code == 0, r.output << r.errors);
  const auto j = json::parse(r.output);
  CHECK(j["base"]["node"] == node.query);
  const auto& lb = j["live_base"];
  CHECK(lb["node"] == node.query);
  CHECK(lb["city"] == "Live Corridor");
  CHECK(lb["as_of_ms"].get<std::int64_t>() >= now);
  CHECK(lb["links_observed"] == 3);
  CHECK(lb["links_stale"] == 1);
  CHECK(lb["capacities_cut"] == 1);
  // ab: 1000 m at 60 km/h (t0 = 1 min) seen at 30 km/h (t = 2 min) with 900 veh/h:
  // c_live = 900 / ((2 - 1) / 0.15)^(1/4) = 900 / 1.6068568378893 = 560.0996795596 veh/h.
  REQUIRE(lb["capacity_cuts"].size() == 1);
  const auto& cut = lb["capacity_cuts"][0];
  CHECK(cut["key"] == "ab");
  CHECK(cut["observed_speed_kmh"] == 30.0);
  CHECK(cut["observed_flow_veh_h"] == 900.0);
  CHECK(cut["capacity_veh_h"].get<double>() == doctest::Approx(560.0996795596304).epsilon(1e-12));
  CHECK(cut["at_floor"] == false);
  // The bundle's flows are 1200 on ab and 1000 on bc (unique routes), so
  // f = (900 * 1200 + 800 * 1000) / (1200^2 + 1000^2) = 1880000 / 2440000.
  CHECK(lb["demand"]["factor"].get<double>() ==
        doctest::Approx(1880000.0 / 2440000.0).epsilon(1e-9));
  CHECK(lb["demand"]["links"] == 2);
  CHECK(lb["demand"]["clamped"] == false);
  CHECK(lb["environment"]["sensors"] == 7);
  CHECK(lb["environment"]["pm25_ug_m3"] == 25.0);
  CHECK(lb["environment"]["no2_ug_m3"] == 40.0);
  CHECK(lb["environment"]["wind_speed_m_s"] == 3.5);
  CHECK(lb["environment"]["wind_from_deg"].get<double>() == doctest::Approx(180).epsilon(1e-12));
  // The baseline is the live base: the scaled demand on the cut capacity.
  CHECK(j["baseline"]["totals"]["demand_veh_h"].get<double>() ==
        doctest::Approx(1200 * 1880000.0 / 2440000.0).epsilon(1e-9));
  // summary.json gives a link's flow and v/c: their ratio is the capacity it was solved with.
  auto capacity = [](const json& link) {
    return link["flow_veh_h"].get<double>() / link["vc"].get<double>();
  };
  CHECK(j["baseline"]["links"][0]["key"] == "ab");
  CHECK(capacity(j["baseline"]["links"][0]) == doctest::Approx(560.0996795596304).epsilon(1e-9));
  CHECK(capacity(j["variants"][0]["links"][0]) ==
        doctest::Approx(560.0996795596304 / 2).epsilon(1e-9));
  auto prom = read_file(dir + "/out/scenario.prom");
  CHECK(prom.find("citytwin_scenario_live_links_stale{scenario=\"live-corridor\"} 1\n") !=
        std::string::npos);

  // The live ingest went on untouched: the node still answers and its state is what was fed.
  auto q = run_cli(dir, "query", {"query", "--node", node.query, "--json", "sensor", "ab-flow"});
  REQUIRE_MESSAGE(q.code == 0, q.errors);
  CHECK(json::parse(q.output)["value"] == 900.0);

  // The table names the node and the cut.
  auto t = run_cli(dir, "table", {"scenario", "run", file, "--out", dir + "/out-table"});
  REQUIRE_MESSAGE(t.code == 0, t.errors);
  CHECK(t.output.find("Live base: " + node.query) != std::string::npos);
  CHECK(t.output.find("3 links observed, 1 stale (older than 2 cadences), 1 capacities cut") !=
        std::string::npos);
  CHECK(t.output.find("demand factor 0.7705 on 2 links") != std::string::npos);

  // A node of another city is refused, naming both.
  const auto other_dir = systest::make_temp_dir("scenario-live-other");
  const auto other =
      write_live_scenario(other_dir, std::string(CITYTWIN_TEST_DATA) + "/scenario/two-routes", "",
                          "demand: { factor: 1.1 }");
  auto m = run_cli(other_dir, "other", {"scenario", "run", other, "--node", node.query});
  CHECK(m.code == 1);
  CHECK(m.errors.find("the node runs city 'Live Corridor' but the scenario's bundle is "
                      "'Two Routes'") != std::string::npos);
}

TEST_CASE(
    "an environmental scenario on a live node: live wind and background, modelled vs "
    "observed") {
  const auto dir = systest::make_temp_dir("scenario-live-env");
  systest::node_process node(dir, live_corridor);
  REQUIRE_MESSAGE(node.ready, node.proc->output() << node.proc->errors());
  const auto now = wall_now_ms();
  // w-no2 is older than 2 h: stale for an hourly NO2 station (2 x its 1 h cadence).
  const auto fresh = now - 60000, old = now - 130 * 60000;
  std::ostringstream rows;
  rows << fresh << ",ab-speed,60\n"
       << fresh << ",ab-flow,1200\n"
       << fresh << ",w-pm25,20\n"
       << fresh << ",e-pm25,30\n"
       << fresh << ",e-no2,40\n"
       << old << ",w-no2,90\n"
       << fresh << ",wind-speed,3.5\n"
       << fresh << ",wind-dir,0\n"
       << fresh << ",wind-dir-w,90\n";
  CHECK(feed_rows(dir, node, rows.str())["readings_accepted"] == 9);

  // The file fixes the class and the NO2 background; the wind and the PM2.5 background are left
  // to the live twin.
  const auto file = dir + "/live-env.yaml";
  {
    std::ofstream out(file);
    out << "scenario: live-corridor-air\nbase:\n  city: \"" << live_corridor << "\"\n"
        << "assignment: { gap: 1.0e-9 }\n"
        << "environment:\n  weather: { stability: D }\n  background: { no2: 12 }\n"
        << "  grid: { resolution_m: 100, margin_m: 300 }\n"
        << "variants:\n  - name: calm\n    perturbations:\n"
        << "      - weather: { wind_speed_m_s: 1.5 }\n";
  }
  const auto out = dir + "/out";
  auto r =
      run_cli(dir, "live-env", {"scenario", "run", file, "--node", node.query, "--out", out}, 120s);
  REQUIRE_MESSAGE(r.code == 0, r.output << r.errors);
  const auto s = json::parse(read_file(out + "/summary.json"));
  const auto& env = s["environment"];
  // 0 and 90 degrees averaged as unit vectors; class D's mixing height at 3.5 m/s: 320 x 3.5.
  const auto& w = env["baseline"]["weather"];
  CHECK(w["wind_speed_m_s"] == 3.5);
  CHECK(w["wind_from_deg"].get<double>() == doctest::Approx(45).epsilon(1e-12));
  CHECK(w["stability"] == "D");
  CHECK(w["mixing_height_m"].get<double>() == doctest::Approx(1120));
  // The variant's weather change applies on top of the live weather.
  CHECK(env["variants"][0]["weather"]["wind_speed_m_s"] == 1.5);
  CHECK(env["variants"][0]["weather"]["wind_from_deg"].get<double>() ==
        doctest::Approx(45).epsilon(1e-12));

  const auto& o = env["observed"];
  CHECK(o["node"] == node.query);
  CHECK(o["weather"]["wind_speed"] == "live");
  CHECK(o["weather"]["wind_from"] == "live");
  CHECK(o["weather"]["wind_direction_sensors"]["fresh"] == 2);
  CHECK(o["summary"]["no2"]["count"]["stale"] == 1);
  CHECK(o["summary"]["no2"]["count"]["fresh"] == 1);
  CHECK(o["summary"]["pm25"]["count"]["fresh"] == 2);
  REQUIRE(o["sensors"].size() == 3);
  // PM2.5: one sensor per district, so each district's background is max(0, observed - local)
  // and the modelled baseline at the sensor is max(observed, local); the city-wide value is the
  // median of the two residuals.
  std::vector<double> residuals;
  std::size_t downwind = 0;  // sensors the corridor's traffic reaches under the live wind
  for (const auto& x : o["sensors"]) {
    REQUIRE(!x["cell"].is_null());
    const double observed = x["observed_ug_m3"], local = x["local_ug_m3"];
    if (local > 0) ++downwind;
    const double modelled = x["modelled_ug_m3"];
    if (x["pollutant"] == "pm25") {
      residuals.push_back(observed - local);
      const std::string district = x["district"];
      CHECK(o["background"]["pm25"]["districts"][district]["source"] == "live");
      CHECK(o["background"]["pm25"]["districts"][district]["ug_m3"].get<double>() ==
            doctest::Approx(std::max(0.0, observed - local)).epsilon(1e-12));
      CHECK(modelled == doctest::Approx(std::max(observed, local)).epsilon(1e-12));
    } else {
      // NO2: the file's 12 wins over the live sensors.
      CHECK(x["key"] == "e-no2");
      CHECK(observed == 40.0);
      CHECK(modelled == doctest::Approx(local + 12).epsilon(1e-12));
      CHECK(o["summary"]["no2"]["mean_bias_ug_m3"].get<double>() ==
            doctest::Approx(local + 12 - 40).epsilon(1e-12));
      CHECK(o["summary"]["no2"]["rmse_ug_m3"].get<double>() ==
            doctest::Approx(std::abs(local + 12 - 40)).epsilon(1e-12));
    }
  }
  CHECK(downwind >= 1);
  REQUIRE(residuals.size() == 2);
  CHECK(o["background"]["pm25"]["source"] == "live");
  CHECK(o["background"]["pm25"]["city_ug_m3"].get<double>() ==
        doctest::Approx(std::max(0.0, (residuals[0] + residuals[1]) / 2)).epsilon(1e-12));
  CHECK(o["background"]["no2"]["source"] == "file");
  CHECK(o["summary"]["pm25"]["sensors"] == 2);
  CHECK(o["summary"]["pm25"]["correlation"].is_null());
  CHECK(env["settings"]["background"]["no2_ug_m3"] == 12.0);

  const auto prom = read_file(out + "/scenario.prom");
  CHECK(prom.find("citytwin_scenario_observed_sensors{scenario=\"live-corridor-air\",pollutant="
                  "\"no2\",state=\"stale\"} 1\n") != std::string::npos);
  CHECK(prom.find("citytwin_scenario_observed_rmse_ug_m3{scenario=\"live-corridor-air\","
                  "pollutant=\"pm25\"}") != std::string::npos);
  CHECK(prom.find("citytwin_scenario_sensor_concentration_ug_m3{scenario=\"live-corridor-air\","
                  "sensor=\"e-no2\",pollutant=\"no2\",value=\"observed\"} 40\n") !=
        std::string::npos);
  if (const std::string promtool = CITYTWIN_PROMTOOL;
      testkit::have_tool("promtool", promtool, "promtool check metrics on scenario.prom"))
    CHECK(std::system((promtool + " check metrics < " + out + "/scenario.prom > " + dir +
                       "/promtool.out 2>&1")
                          .c_str()) == 0);
  CHECK(r.output.find("wind 3.5 m/s (live) from 45 deg (live), class D") != std::string::npos);
  CHECK(r.output.find("modelled vs observed PM2.5 (2 fresh, 0 stale, 0 silent, 0 outside the "
                      "grid)") != std::string::npos);
  CHECK(r.output.find("e-no2") != std::string::npos);
}

TEST_CASE("scenario run --node with a node that does not answer fails clearly, in bounded time") {
  const auto dir = systest::make_temp_dir("scenario-dead");
  const auto address = "tcp://127.0.0.1:" + std::to_string(systest::free_port());
  const auto file = write_live_scenario(dir, live_corridor, "tcp://127.0.0.1:1");
  const auto start = std::chrono::steady_clock::now();
  // --node overrides the file's node.
  auto r = run_cli(dir, "dead",
                   {"scenario", "run", file, "--node", address, "--node-timeout-ms", "1500"}, 30s);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(r.code == 1);
  CHECK(r.errors.find("live base: no reply from " + address + " within 1500 ms") !=
        std::string::npos);
  CHECK(elapsed < 10s);
}

namespace {

// The summary without the fields that name where the live base came from.
json without_base_origin(json j) {
  j["base"].erase("node");
  j["base"].erase("snapshot");
  j["live_base"].erase("node");
  j["live_base"].erase("snapshot");
  j["environment"]["observed"].erase("node");
  j["environment"]["observed"].erase("snapshot");
  j["baseline"]["solver"].erase("solve_ms");
  for (auto& v : j["variants"]) v["solver"].erase("solve_ms");
  return j;
}

}  // namespace

TEST_CASE("scenario run from a snapshot file gives the numbers of the live node it holds") {
  const auto dir = systest::make_temp_dir("scenario-snapshot");
  systest::node_process node(dir, systest::macau_city);
  REQUIRE_MESSAGE(node.ready, node.proc->output() << node.proc->errors());

  // Slow traffic on the peninsula a minute old, a flow twenty minutes old (stale), air quality
  // and wind a minute old.
  const auto now = wall_now_ms();
  const auto fresh = now - 60000, old = now - 20 * 60000;
  const std::vector<testkit::keyed_reading> readings = {{"fat-traffic-speed-01", fresh, 12},
                                                        {"fat-traffic-flow-01", fresh, 1400},
                                                        {"sa-traffic-speed-01", fresh, 22},
                                                        {"sa-traffic-flow-01", fresh, 900},
                                                        {"sa-traffic-speed-02", fresh, 35},
                                                        {"sa-traffic-flow-02", fresh, 650},
                                                        {"sl-traffic-speed-01", old, 9},
                                                        {"sl-traffic-flow-01", old, 300},
                                                        {"fat-pm25-01", fresh, 31},
                                                        {"fat-pm25-02", fresh, 27.5},
                                                        {"fat-no2-01", fresh, 44},
                                                        {"sl-wind-speed-01", fresh, 4.25},
                                                        {"sl-wind-direction-01", fresh, 200},
                                                        {"cot-wind-direction-01", fresh, 170}};
  std::ostringstream rows;
  for (const auto& r : readings) rows << r.time << ',' << r.sensor << ',' << r.value << '\n';
  CHECK(feed_rows(dir, node, rows.str(), systest::macau_city)["readings_accepted"] ==
        readings.size());

  auto scenario = [&](const std::string& name, const std::string& base) {
    const auto file = dir + "/" + name + ".yaml";
    std::ofstream(file) << "scenario: macau-now\nbase:\n  city: \"" << systest::macau_city
                        << "\"\n  " << base << "\n"
                        << "assignment: { gap: 1.0e-6 }\n"
                        << "environment:\n  weather: { stability: D }\n"
                        << "  grid: { resolution_m: 500 }\n"
                        << "variants:\n  - name: lane-closed\n    perturbations:\n"
                        << "      - capacity: { bridge: \"Istmo Ferreira do Amaral / Av. do "
                           "Almirante Lacerda\", factor: 0.5 }\n"
                        << "      - weather: { wind_speed_m_s: 1.5 }\n";
    auto r =
        run_cli(dir, name, {"scenario", "run", file, "--out", dir + "/" + name, "--json"}, 120s);
    REQUIRE_MESSAGE(r.code == 0, r.output << r.errors);
    return json::parse(r.output);
  };
  const auto from_node = scenario("from-node", "node: \"" + node.query + "\"");
  CHECK(from_node["base"]["node"] == node.query);
  const auto& lb = from_node["live_base"];
  CHECK(lb["links_observed"] == 4);
  CHECK(lb["links_stale"] == 1);
  CHECK(lb["capacities_cut"].get<int>() >= 1);
  CHECK(lb["environment"]["pm25_ug_m3"] == 29.25);
  CHECK(from_node["environment"]["observed"]["weather"]["wind_speed"] == "live");

  // The same state in a snapshot file, taken when the node answered: the in-process runtime is
  // fed the same readings, its clock at the node's as-of time.
  const auto as_of = lb["as_of_ms"].get<std::int64_t>();
  auto city = twin::load_city(systest::macau_city);
  REQUIRE(city.has_value());
  const std::string snap = "snapshots/00000000000000000042.snap";
  {
    testkit::fed_runtime rt(*city, readings, as_of);
    std::filesystem::create_directories(dir + "/snapshots");
    REQUIRE(cluster::write_snapshot_file(dir + "/" + snap, rt.snapshot(42)).has_value());
  }
  const auto from_snapshot = scenario("from-snapshot", "snapshot: " + snap);
  CHECK_FALSE(from_snapshot["base"].contains("node"));
  CHECK(from_snapshot["base"]["snapshot"]["file"] == dir + "/" + snap);
  CHECK(from_snapshot["base"]["snapshot"]["lsn"] == 42);
  CHECK(from_snapshot["base"]["snapshot"]["taken_ms"] == as_of);
  CHECK(from_snapshot["live_base"]["snapshot"]["lsn"] == 42);
  CHECK(from_snapshot["environment"]["observed"]["snapshot"]["lsn"] == 42);
  // Every number, bit for bit (nlohmann prints doubles round-trip exact).
  CHECK(without_base_origin(from_node).dump() == without_base_origin(from_snapshot).dump());

  // The table names the snapshot; --snapshot overrides the file's node, and is refused with
  // --node.
  const auto node_file = dir + "/from-node.yaml";
  auto t = run_cli(
      dir, "table",
      {"scenario", "run", node_file, "--snapshot", dir + "/" + snap, "--out", dir + "/table"},
      120s);
  REQUIRE_MESSAGE(t.code == 0, t.errors);
  CHECK(t.output.find("Live base: snapshot " + dir + "/" + snap + " (LSN 42) as of ") !=
        std::string::npos);
  auto both =
      run_cli(dir, "both",
              {"scenario", "run", node_file, "--snapshot", dir + "/" + snap, "--node", node.query});
  CHECK(both.code == 2);
  CHECK(both.errors.find("--node and --snapshot together") != std::string::npos);

  // A snapshot file that is not there is named.
  auto missing =
      run_cli(dir, "missing", {"scenario", "run", node_file, "--snapshot", dir + "/none.snap"});
  CHECK(missing.code == 1);
  CHECK(missing.errors.find("live base: ") != std::string::npos);
  CHECK(missing.errors.find(dir + "/none.snap") != std::string::npos);
}
