#include "twin/scenario/scenario.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "twin/report/report.hpp"

namespace fs = std::filesystem;

namespace {

// Two routes from zone 1 (node 1) to zone 2 (node 2), both 2 min at free flow with capacity
// 1000 veh/h: the direct road (one link) and the North Bridge (two links of 1 min). Zone 2 to
// zone 3 (node 4) only by the spur. Demand: 1000 veh/h 1 -> 2, 150 veh/h 2 -> 3.
const fs::path two_routes = fs::path(CITYTWIN_TEST_DATA) / "scenario" / "two-routes";

constexpr std::size_t direct = 0, north_a = 1, north_b = 2, spur = 3, back = 4;

fs::path temp_dir() {
  static const fs::path dir = [] {
    auto d = fs::temp_directory_path() / ("citytwin-scenario-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

// Writes a scenario file whose base is the two-route city; `body` follows the `base` line.
fs::path write_scenario(const std::string& name, const std::string& body) {
  auto path = temp_dir() / (name + ".yaml");
  std::ofstream out(path);
  out << "scenario: " << name << "\n"
      << "base: { city: \"" << two_routes.string() << "\" }\n"
      << body;
  return path;
}

twin::scenario load(const fs::path& file) {
  auto s = twin::load_scenario(file);
  if (!s) FAIL(s.error().to_string());
  return std::move(*s);
}

twin::load_error load_fails(const fs::path& file) {
  auto s = twin::load_scenario(file);
  REQUIRE_FALSE(s.has_value());
  return s.error();
}

// BPR travel time in minutes.
double bpr_min(double free_min, double flow, double capacity) {
  return free_min * (1 + 0.15 * std::pow(flow / capacity, 4));
}

const auto flow_eps = doctest::Approx(0).epsilon(1e-6);

double flow(const twin::network_result& r, std::size_t l) {
  return r.links[l].flow_veh_h;
}

}  // namespace

TEST_CASE("scenario: baseline of two equal routes splits evenly and its totals are exact") {
  auto s = load(write_scenario("even", R"(assignment: { gap: 1.0e-12 }
variants:
  - name: same
    perturbations: []
)"));
  auto r = twin::run_scenario(s);
  const auto& b = r.baseline;
  CHECK(flow(b, direct) == doctest::Approx(500).epsilon(1e-6));
  CHECK(flow(b, north_a) == doctest::Approx(500).epsilon(1e-6));
  CHECK(flow(b, north_b) == doctest::Approx(500).epsilon(1e-6));
  CHECK(flow(b, spur) == doctest::Approx(150).epsilon(1e-9));
  CHECK(flow(b, back) == 0);
  CHECK(b.gap_reached);

  // VKT: 500 x 2 km + 500 x 2 km + 150 x 0.5 km.
  CHECK(b.city.vkt == doctest::Approx(2075).epsilon(1e-9));
  const double route_min = bpr_min(2, 500, 1000);
  const double spur_min = bpr_min(0.5, 150, 1000);
  const double vht = (1000 * route_min + 150 * spur_min) / 60;
  CHECK(b.city.vht == doctest::Approx(vht).epsilon(1e-6));
  CHECK(b.city.free_flow_vht == doctest::Approx((1000 * 2 + 150 * 0.5) / 60).epsilon(1e-9));
  CHECK(b.city.mean_speed_kmh == doctest::Approx(2075 / vht).epsilon(1e-6));
  CHECK(b.city.congestion ==
        doctest::Approx(vht / ((1000 * 2 + 150 * 0.5) / 60) - 1).epsilon(1e-6));
  CHECK(b.tstt_veh_h == doctest::Approx(vht).epsilon(1e-6));
  CHECK(b.demand_veh_h == 1150);
  CHECK(b.unassigned_veh_h == 0);
  // West holds direct and north-a; east north-b, spur and back.
  CHECK(b.districts[0].vkt == doctest::Approx(500 * 2 + 500 * 1).epsilon(1e-6));
  CHECK(b.districts[1].vkt == doctest::Approx(500 * 1 + 150 * 0.5).epsilon(1e-6));
  // Travel time per trip on both used paths equals the equilibrium cost.
  REQUIRE(b.od.size() == 2);
  REQUIRE(b.od[0].time_min.has_value());
  CHECK(*b.od[0].time_min == doctest::Approx(route_min).epsilon(1e-6));
  CHECK(*b.od[1].time_min == doctest::Approx(spur_min).epsilon(1e-9));
  // An empty variant is the baseline again, warm-started.
  CHECK(r.variants[0].result.warm_started);
  CHECK(flow(r.variants[0].result, direct) == doctest::Approx(500).epsilon(1e-6));
}

TEST_CASE("scenario: closing one route, a demand factor and a capacity factor, in closed form") {
  auto s = load(write_scenario("closed-form", R"(title: "Closed forms"
assignment: { gap: 1.0e-12 }
variants:
  - name: north-closed
    perturbations:
      - close: { bridge: "North Bridge" }
  - name: more-trips
    perturbations:
      - demand: { factor: 1.2, from_zone: 1 }
  - name: half-direct
    perturbations:
      - capacity: { links: [direct], factor: 0.5 }
  - name: tolled
    perturbations:
      - toll: { links: [direct], toll: 1 }
  - name: third-road
    perturbations:
      - add_link: { from: 1, to: 2, capacity_veh_h: 1000, free_speed_kmh: 60, length_m: 2000 }
value_of_time_per_h: 60
)"));
  REQUIRE(s.spec.variants.size() == 5);
  CHECK(s.spec.title == "Closed forms");
  auto r = twin::run_scenario(s);

  // Closed: everything on the direct road; the bridge links carry nothing and are marked.
  const auto& closed = r.variants[0].result;
  CHECK(flow(closed, direct) == doctest::Approx(1000).epsilon(1e-9));
  CHECK(flow(closed, north_a) == 0);
  CHECK(flow(closed, north_b) == 0);
  CHECK(closed.links[north_a].closed);
  CHECK(closed.links[north_b].closed);
  CHECK(closed.warm_started);
  CHECK(closed.unassigned_veh_h == 0);
  auto top = twin::most_affected_links(r.baseline, r.variants[0].result, 3);
  REQUIRE(top.size() == 3);
  // |delta| 500 on three links; ties keep link order.
  CHECK(top[0].link.value == direct);
  CHECK(top[0].delta_flow_veh_h == doctest::Approx(500).epsilon(1e-6));
  CHECK(top[1].link.value == north_a);
  CHECK(top[1].delta_flow_veh_h == doctest::Approx(-500).epsilon(1e-6));
  // The run compared the variant once, at the file's `top` (10): all five links.
  const auto& stored = r.variants[0].against_baseline;
  REQUIRE(stored.links.size() == 5);
  for (std::size_t i = 0; i < top.size(); ++i) {
    CHECK(stored.links[i].link.value == top[i].link.value);
    CHECK(stored.links[i].delta_flow_veh_h == top[i].delta_flow_veh_h);
  }
  auto od = twin::most_affected_od(r.baseline, r.variants[0].result, 10);
  REQUIRE(od.size() == 2);
  CHECK(od[0].trips_veh_h == 1000);
  CHECK(od[0].delta_time_min ==
        doctest::Approx(bpr_min(2, 1000, 1000) - bpr_min(2, 500, 1000)).epsilon(1e-6));

  // Demand x 1.2 from zone 1: 600 / 600; the spur's trips start at zone 2 and stay 150.
  const auto& more = r.variants[1].result;
  CHECK(flow(more, direct) == doctest::Approx(600).epsilon(1e-6));
  CHECK(flow(more, north_a) == doctest::Approx(600).epsilon(1e-6));
  CHECK(flow(more, spur) == doctest::Approx(150).epsilon(1e-9));
  CHECK(more.demand_veh_h == doctest::Approx(1350).epsilon(1e-12));

  // Direct capacity 500: equal costs need x_d / 500 = x_n / 1000, so x_d = 1000 / 3.
  const auto& half = r.variants[2].result;
  CHECK(flow(half, direct) == doctest::Approx(1000.0 / 3).epsilon(1e-6));
  CHECK(flow(half, north_b) == doctest::Approx(2000.0 / 3).epsilon(1e-6));
  CHECK(half.links[direct].vc == doctest::Approx((1000.0 / 3) / 500).epsilon(1e-6));

  // A toll of 1 at 60 per hour is one minute: the direct road costs 3 min empty, more than the
  // bridge's 2.3 min with all 1000 vehicles on it.
  const auto& tolled = r.variants[3].result;
  CHECK(flow(tolled, direct) == doctest::Approx(0).epsilon(1e-6));
  CHECK(flow(tolled, north_a) == doctest::Approx(1000).epsilon(1e-9));
  CHECK(tolled.tstt_veh_h ==
        doctest::Approx(1000 * 2.3 / 60 + 150 * bpr_min(0.5, 150, 1000) / 60).epsilon(1e-6));

  // A third identical road: another shape, a cold start, 1000 / 3 on each route.
  const auto& third = r.variants[4];
  CHECK_FALSE(third.result.warm_started);
  REQUIRE(third.result.links.size() == 6);
  // The variant's network: the city's five links, then the added one with the next id.
  REQUIRE(third.links.size() == 6);
  CHECK(third.links[5].key == "new-1-2");
  CHECK(third.links[5].id.value == 5);
  CHECK(third.links[0].key == r.variants[0].links[0].key);
  CHECK(flow(third.result, 5) == doctest::Approx(1000.0 / 3).epsilon(1e-6));
  CHECK(flow(third.result, direct) == doctest::Approx(1000.0 / 3).epsilon(1e-6));
  CHECK(flow(third.result, north_a) == doctest::Approx(1000.0 / 3).epsilon(1e-6));
}

TEST_CASE("scenario: a closure that disconnects an OD pair reports exactly what is unassigned") {
  auto s = load(write_scenario("cut", R"(variants:
  - name: spur-closed
    perturbations:
      - close: { links: [spur] }
)"));
  auto r = twin::run_scenario(s);
  const auto& v = r.variants[0].result;
  CHECK(v.unassigned_veh_h == 150);
  REQUIRE(v.disconnected.size() == 1);
  CHECK(s.base.zones[v.disconnected[0].from.value].number == 2);
  CHECK(s.base.zones[v.disconnected[0].to.value].number == 3);
  CHECK(v.disconnected[0].trips_veh_h == 150);
  CHECK(v.demand_veh_h == 1150);
  CHECK(flow(v, direct) == doctest::Approx(500).epsilon(1e-5));

  auto summary = nlohmann::json::parse(twin::summary_json(s, r));
  const auto& d = summary["variants"][0]["disconnected"];
  CHECK(d["pairs"] == 1);
  CHECK(d["unassigned_veh_h"] == 150);
  CHECK(d["od"][0]["from_zone"] == 2);
  CHECK(d["od"][0]["to_zone"] == 3);
  CHECK(summary["variants"][0]["warning"].get<std::string>().find("150.0 veh/h") !=
        std::string::npos);
  const auto table = twin::comparison_table(s, r);
  CHECK(table.find("WARNING: 1 OD pair(s) disconnected: 150.0 veh/h") != std::string::npos);
  CHECK(table.find("zone 2 -> zone 3: 150.0 veh/h unassigned") != std::string::npos);
}

TEST_CASE("scenario: same spec and base give bit-identical results and files") {
  const auto file = write_scenario("twice", R"(variants:
  - name: half-direct
    perturbations:
      - capacity: { links: [direct], factor: 0.5 }
      - demand: { factor: 0.9, to_district: east }
)");
  auto s = load(file);
  auto a = twin::run_scenario(s);
  auto b = twin::run_scenario(load(file));
  for (std::size_t l = 0; l < a.variants[0].result.links.size(); ++l)
    CHECK(a.variants[0].result.links[l].flow_veh_h == b.variants[0].result.links[l].flow_veh_h);
  // Only the measured solve time may differ.
  a.baseline.solve_ms = b.baseline.solve_ms = 0;
  a.variants[0].result.solve_ms = b.variants[0].result.solve_ms = 0;
  CHECK(twin::summary_json(s, a) == twin::summary_json(s, b));
  CHECK(twin::links_csv(s, a) == twin::links_csv(s, b));
  CHECK(twin::variant_svg(s, a, 0) == twin::variant_svg(s, b, 0));
}

TEST_CASE("scenario: output files have one row or feature per link per variant") {
  auto s = load(write_scenario("files", R"(variants:
  - name: a
    perturbations:
      - speed: { district: west, factor: 0.5 }
  - name: b
    perturbations:
      - speed: { links: [back], free_speed_kmh: 30 }
)"));
  auto r = twin::run_scenario(s);
  CHECK(r.variants[0].result.links[direct].free_speed_kmh == 30);
  CHECK(r.variants[1].result.links[back].free_speed_kmh == 30);
  const auto csv = twin::links_csv(s, r);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 1 + 2 * 5);
  CHECK(csv.find("a,direct,Direct Road,west,1,2,2000.0,0,1000.0,") != std::string::npos);
  const auto districts = twin::districts_csv(s, r);
  CHECK(std::count(districts.begin(), districts.end(), '\n') == 1 + 2 * 2);
  auto geo = nlohmann::json::parse(twin::links_geojson(s, r));
  REQUIRE(geo["features"].size() == 5);
  CHECK(geo["features"][0]["geometry"]["coordinates"][0][0] == 113.50);
  CHECK(geo["features"][0]["properties"]["key"] == "direct");
  CHECK(geo["features"][0]["properties"].contains("delta_flow_b"));
  const auto svg = twin::variant_svg(s, r, 0);
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.find("</svg>\n") == svg.size() - 7);
}

TEST_CASE("scenario: invalid specs name the file, the line and the field") {
  SUBCASE("unknown bridge") {
    auto e = load_fails(write_scenario("bad-bridge", R"(variants:
  - name: v
    perturbations:
      - close: { bridge: "Nowhere" }
)"));
    CHECK(e.line == 6);
    CHECK(e.field == "variants[0].perturbations[0].close.bridge");
    CHECK(e.message == "no link is named 'Nowhere' in city 'Two Routes'");
    CHECK(e.file.find("bad-bridge.yaml") != std::string::npos);
  }
  SUBCASE("unknown link key in a list") {
    auto e = load_fails(write_scenario("bad-link", R"(variants:
  - name: v
    perturbations:
      - capacity:
          links: [direct, nope]
          factor: 0.5
)"));
    CHECK(e.line == 7);
    CHECK(e.field == "variants[0].perturbations[0].capacity.links[1]");
    CHECK(e.message == "unknown link 'nope' in city 'Two Routes'");
  }
  SUBCASE("negative factor") {
    auto e = load_fails(write_scenario("negative", R"(variants:
  - name: v
    perturbations:
      - capacity: { links: [direct], factor: -0.5 }
)"));
    CHECK(e.line == 6);
    CHECK(e.field == "variants[0].perturbations[0].capacity.factor");
    CHECK(e.message == "must not be negative, got -0.5");
  }
  SUBCASE("NaN factor") {
    auto e = load_fails(write_scenario("nan", R"(variants:
  - name: v
    perturbations:
      - demand: { factor: .nan }
)"));
    CHECK(e.line == 6);
    CHECK(e.field == "variants[0].perturbations[0].demand.factor");
    CHECK(e.message == "'.nan' is not a finite number");
  }
  SUBCASE("unknown district, zone and node") {
    auto d = load_fails(write_scenario("bad-district", R"(variants:
  - name: v
    perturbations:
      - demand: { factor: 2, from_district: north }
)"));
    CHECK(d.line == 6);
    CHECK(d.field == "variants[0].perturbations[0].demand.from_district");
    CHECK(d.message == "unknown district 'north' in city 'Two Routes'");
    auto z = load_fails(write_scenario("bad-zone", R"(variants:
  - name: v
    perturbations:
      - demand: { factor: 2, to_zone: [2, 9] }
)"));
    CHECK(z.line == 6);
    CHECK(z.field == "variants[0].perturbations[0].demand.to_zone[1]");
    CHECK(z.message == "unknown zone 9 in city 'Two Routes'");
    auto n = load_fails(write_scenario("bad-node", R"(variants:
  - name: v
    perturbations:
      - add_link: { from: 1, to: 77, capacity_veh_h: 900, free_speed_kmh: 50 }
)"));
    CHECK(n.line == 6);
    CHECK(n.field == "variants[0].perturbations[0].add_link.to");
    CHECK(n.message == "unknown node 77 in city 'Two Routes'");
  }
  SUBCASE("unknown keys and kinds") {
    auto k = load_fails(write_scenario("bad-key", R"(variants:
  - name: v
    perturbations:
      - close: { bridge: "North Bridge", when: now }
)"));
    CHECK(k.line == 6);
    CHECK(k.field == "variants[0].perturbations[0].close.when");
    CHECK(k.message == "unknown key 'when' (known: links, bridge, district)");
    auto p = load_fails(write_scenario("bad-kind", R"(variants:
  - name: v
    perturbations:
      - flood: { district: west }
)"));
    CHECK(p.line == 6);
    CHECK(p.field == "variants[0].perturbations[0].flood");
    auto top = load_fails(write_scenario("bad-top", "colour: red\nvariants: []\n"));
    CHECK(top.line == 3);
    CHECK(top.field == "colour");
  }
  SUBCASE("a toll without a value of time") {
    auto e = load_fails(write_scenario("toll", R"(variants:
  - name: v
    perturbations:
      - toll: { links: [direct], toll: 5 }
)"));
    CHECK(e.line == 6);
    CHECK(e.field == "variants[0].perturbations[0].toll");
  }
  SUBCASE("a live base still needs the bundle, and a node address") {
    auto path = temp_dir() / "live.yaml";
    std::ofstream(path) << "scenario: live\nbase: { node: \"tcp://127.0.0.1:7000\" }\n"
                           "variants: [{ name: v, perturbations: [] }]\n";
    auto e = load_fails(path);
    CHECK(e.line == 2);
    CHECK(e.field == "base.city");
    CHECK(e.message.find("a live base needs it too") != std::string::npos);
    auto bad = temp_dir() / "live-bad.yaml";
    std::ofstream(bad) << "scenario: live\nbase: { city: \"" << two_routes.string()
                       << "\", node: localhost }\nvariants: [{ name: v, perturbations: [] }]\n";
    auto b = load_fails(bad);
    CHECK(b.line == 2);
    CHECK(b.field == "base.node");
    CHECK(b.message == "'localhost' is not a node address such as tcp://127.0.0.1:7101");
    auto good = temp_dir() / "live-good.yaml";
    std::ofstream(good) << "scenario: live\nbase: { city: \"" << two_routes.string()
                        << "\", node: \"tcp://127.0.0.1:7101\" }\n"
                           "variants: [{ name: v, perturbations: [] }]\n";
    CHECK(load(good).spec.base_node == "tcp://127.0.0.1:7101");
  }
  SUBCASE("a snapshot base: beside the scenario file, never with a node, no unknown key") {
    auto good = temp_dir() / "snap-good.yaml";
    std::ofstream(good) << "scenario: snap\nbase: { city: \"" << two_routes.string()
                        << "\", snapshot: snapshots/00000000000000000042.snap }\n"
                           "variants: [{ name: v, perturbations: [] }]\n";
    const auto spec = load(good).spec;
    CHECK(spec.base_snapshot == temp_dir() / "snapshots/00000000000000000042.snap");
    CHECK(spec.base_node.empty());
    auto both = temp_dir() / "snap-both.yaml";
    std::ofstream(both) << "scenario: snap\nbase:\n  city: \"" << two_routes.string()
                        << "\"\n  node: \"tcp://127.0.0.1:7101\"\n  snapshot: a.snap\n"
                           "variants: [{ name: v, perturbations: [] }]\n";
    auto b = load_fails(both);
    CHECK(b.line == 5);
    CHECK(b.field == "base.snapshot");
    CHECK(b.message.find("base.snapshot and base.node together") != std::string::npos);
    CHECK(b.file.find("snap-both.yaml") != std::string::npos);
    auto unknown = temp_dir() / "snap-unknown.yaml";
    std::ofstream(unknown) << "scenario: snap\nbase:\n  city: \"" << two_routes.string()
                           << "\"\n  snapshot_file: a.snap\n"
                              "variants: [{ name: v, perturbations: [] }]\n";
    auto u = load_fails(unknown);
    CHECK(u.line == 4);
    CHECK(u.field == "base.snapshot_file");
    CHECK(u.message ==
          "unknown key 'snapshot_file' (known: city, node, snapshot, capacity_tolerance)");
  }
  SUBCASE("a missing bundle folder") {
    auto path = temp_dir() / "nobase.yaml";
    std::ofstream(path) << "scenario: nobase\nbase: { city: no-such-folder }\n"
                           "variants: [{ name: v, perturbations: [] }]\n";
    auto e = load_fails(path);
    CHECK(e.line == 2);
    CHECK(e.field == "base.city");
  }
}

TEST_CASE("scenario: a live base cuts a capacity, scales the demand, and the run starts from it") {
  auto s = load(write_scenario("live", R"(assignment: { gap: 1.0e-12 }
variants:
  - name: north-closed
    perturbations:
      - close: { bridge: "North Bridge" }
)"));
  CHECK(s.spec.base_node.empty());
  twin::live_snapshot live;
  live.node = "tcp://127.0.0.1:7101";
  live.city_name = "Two Routes";
  live.as_of = 1'700'000'000'000;
  // The bundle splits 1000 veh/h evenly: 500 on the direct road and 500 over the North Bridge.
  // Direct (2000 m at 60 km/h, t0 = 2 min) seen at 30 km/h with 500 veh/h: t/t0 - 1 = 1, so
  // c_live = 500 / (1 / 0.15)^(1/4) = 311.166. North-a seen at free speed with 600 veh/h.
  // Demand factor f = (500 * 500 + 600 * 500) / (500^2 + 500^2) = 1.1.
  live.links = {{"direct", 30, 500, live.as_of}, {"north-a", 60, 600, live.as_of}};
  REQUIRE(twin::check_live_snapshot(s.base, live).has_value());
  s.live = live;
  auto r = twin::run_scenario(s);
  REQUIRE(r.live_base.has_value());
  const auto& lb = *r.live_base;
  const double c_live = 500 / std::pow(1 / 0.15, 0.25);
  REQUIRE(lb.cuts.size() == 1);
  CHECK(lb.cuts[0].link == twin::link_id{direct});
  CHECK(lb.cuts[0].capacity_veh_h == doctest::Approx(c_live).epsilon(1e-12));
  REQUIRE(lb.demand_factor.has_value());
  CHECK(*lb.demand_factor == doctest::Approx(1.1).epsilon(1e-6));
  CHECK(lb.demand_links == 2);

  // The baseline is the live base: 1100 veh/h over routes of equal t0 split where
  // x / c_live = (1100 - x) / 1000, i.e. x = 1100 c_live / (c_live + 1000).
  const auto& b = r.baseline;
  CHECK(b.demand_veh_h == doctest::Approx(1265).epsilon(1e-6));
  CHECK(b.links[direct].capacity_veh_h == doctest::Approx(c_live).epsilon(1e-12));
  CHECK(flow(b, direct) == doctest::Approx(1100 * c_live / (c_live + 1000)).epsilon(1e-6));
  CHECK(flow(b, north_a) == doctest::Approx(1100 * 1000 / (c_live + 1000)).epsilon(1e-6));
  // The variant perturbs the live base: everything on the cut direct road.
  const auto& v = r.variants[0].result;
  CHECK(flow(v, direct) == doctest::Approx(1100).epsilon(1e-9));
  CHECK(v.links[direct].capacity_veh_h == doctest::Approx(c_live).epsilon(1e-12));

  // The report travels into summary.json, the table and the metrics.
  auto j = nlohmann::json::parse(twin::summary_json(s, r));
  CHECK(j["base"]["node"] == "tcp://127.0.0.1:7101");
  CHECK(j["live_base"]["links_observed"] == 2);
  CHECK(j["live_base"]["links_stale"] == 0);
  CHECK(j["live_base"]["as_of"] == "2023-11-14T22:13:20.000Z");
  CHECK(j["live_base"]["capacity_cuts"][0]["key"] == "direct");
  CHECK(j["live_base"]["capacity_cuts"][0]["capacity_veh_h"].get<double>() ==
        doctest::Approx(c_live).epsilon(1e-12));
  CHECK(j["live_base"]["demand"]["factor"].get<double>() == doctest::Approx(1.1).epsilon(1e-6));
  CHECK(j["live_base"]["demand"]["links"] == 2);
  const auto table = twin::comparison_table(s, r);
  CHECK(table.find("Live base: tcp://127.0.0.1:7101 as of 2023-11-14T22:13:20.000Z: 2 links "
                   "observed, 0 stale (older than 2 cadences), 1 capacities cut") !=
        std::string::npos);
  CHECK(table.find("demand factor 1.1000 on 2 links") != std::string::npos);
  const auto prom = twin::metrics_text(s, r);
  CHECK(prom.find("citytwin_scenario_live_capacities_cut{scenario=\"live\"} 1\n") !=
        std::string::npos);
  CHECK(prom.find("citytwin_scenario_live_demand_factor{scenario=\"live\"} 1.1") !=
        std::string::npos);
}
