// `citytwin assign` end to end: the real binary on the published TNTP cases, its JSON, its flow
// file read back by the TNTP reader, and its refusals of bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "node.hpp"
#include "twin/assign/tntp.hpp"

using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

using systest::run_cli;

const std::string tntp_dir = std::string(CITYTWIN_TEST_DATA) + "/tntp";
const std::string sioux_net = tntp_dir + "/SiouxFalls/SiouxFalls_net.tntp";
const std::string sioux_trips = tntp_dir + "/SiouxFalls/SiouxFalls_trips.tntp";
const std::string sioux_flow = tntp_dir + "/SiouxFalls/SiouxFalls_flow.tntp";

// Best-known values of the published SiouxFalls solution.
constexpr double sioux_objective = 4231335.28710744;
constexpr double sioux_tstt = 7480225.34;
constexpr double sioux_demand = 360600;

bool near_relative(double value, double expected, double relative) {
  return std::abs(value - expected) <= relative * std::abs(expected);
}

json run_json(const std::string& dir, std::vector<std::string> args) {
  args.insert(args.begin(), "assign");
  args.push_back("--json");
  auto r = run_cli(dir, "assign", args, 120s);
  REQUIRE_MESSAGE(r.code == 0, r.output << r.errors);
  return json::parse(r.output);
}

// Copies `from` to `to` with line `line` (1-based) replaced by `replacement`.
std::string write_with_line(const std::string& from, const std::string& to, std::size_t line,
                            const std::string& replacement) {
  std::ifstream in(from);
  std::ofstream out(to);
  std::string row;
  for (std::size_t n = 1; std::getline(in, row); ++n)
    out << (n == line ? replacement : row) << '\n';
  return to;
}

}  // namespace

TEST_CASE("assign solves SiouxFalls to the best-known objective and writes the published flows") {
  const auto dir = systest::make_temp_dir("assign-sioux");
  const auto flows_path = dir + "/SiouxFalls_flow.tntp";
  const json j = run_json(
      dir, {"--net", sioux_net, "--trips", sioux_trips, "--gap", "1e-10", "--flows", flows_path});

  for (const char* key : {"iterations", "relative_gap", "objective", "tstt", "seconds"})
    REQUIRE_MESSAGE(j.contains(key), key);
  CHECK(near_relative(j["objective"].get<double>(), sioux_objective, 1e-8));
  CHECK(j["relative_gap"].get<double>() <= 1e-10);
  CHECK(j["relative_gap"].get<double>() >= 0);
  CHECK(near_relative(j["tstt"].get<double>(), sioux_tstt, 1e-6));
  // The reported gap is the one of the reported TSTT and SPTT.
  const double tstt = j["tstt"], sptt = j["sptt"];
  CHECK(std::abs((tstt - sptt) / tstt - j["relative_gap"].get<double>()) <= 1e-12);
  CHECK(j["iterations"].get<int>() >= 1);
  CHECK(j["iterations"].get<int>() <= 1000);
  CHECK(j["seconds"].get<double>() >= 0);
  CHECK(j["seconds"].get<double>() < 60);
  CHECK(near_relative(j["assigned"].get<double>(), sioux_demand, 1e-12));
  CHECK(j["unassigned"].get<double>() == 0);
  CHECK(j["intrazonal"].get<double>() == 0);
  CHECK(j["stop"] == "gap_reached");
  CHECK(j["links"] == 76);

  // Our flow file is read by the same reader as the published one, row for row.
  const auto ours = twin::tntp::load_flow(flows_path);
  REQUIRE_MESSAGE(ours.has_value(), ours.error().to_string());
  const auto published = twin::tntp::load_flow(sioux_flow);
  REQUIRE(published.has_value());
  REQUIRE(ours->size() == 76);
  REQUIRE(ours->size() == published->size());
  double tstt_from_file = 0;
  for (std::size_t l = 0; l < ours->size(); ++l) {
    const auto& a = (*ours)[l];
    const auto& b = (*published)[l];
    CAPTURE(l);
    REQUIRE(a.from_node == b.from_node);
    REQUIRE(a.to_node == b.to_node);
    // Every SiouxFalls link is loaded in the published solution.
    REQUIRE(b.volume > 100);
    CHECK(a.volume == doctest::Approx(b.volume).epsilon(1e-3));
    CHECK(a.cost == doctest::Approx(b.cost).epsilon(1e-3));
    tstt_from_file += a.volume * a.cost;
  }
  CHECK(near_relative(tstt_from_file, tstt, 1e-12));
}

TEST_CASE("assign prints the human-readable summary and agrees across worker counts") {
  const auto dir = systest::make_temp_dir("assign-text");
  auto r = run_cli(dir, "assign-text",
                   {"assign", "--net", sioux_net, "--trips", sioux_trips, "--gap", "1e-8"}, 120s);
  REQUIRE_MESSAGE(r.code == 0, r.output << r.errors);
  for (const char* label : {"  iterations      ", "  relative gap    ", "  objective       ",
                            "  TSTT            ", "  time            "})
    CHECK_MESSAGE(r.output.find(label) != std::string::npos, label, "\n", r.output);
  CHECK(r.output.find("objective       4231335.28") != std::string::npos);

  // Two workers combine two blocks of origins each round: another path, the same equilibrium.
  // The combined steps stall near a gap of 1e-10 on this small case: ask for 1e-8.
  const json two = run_json(dir, {"--net", sioux_net, "--trips", sioux_trips, "--gap", "1e-8",
                                  "--workers", "2", "--threads", "2"});
  CHECK(near_relative(two["objective"].get<double>(), sioux_objective, 1e-8));
  CHECK(two["relative_gap"].get<double>() <= 1e-8);
  CHECK(two["workers"] == 2);
}

TEST_CASE("assign applies the toll and distance factors that ChicagoSketch needs") {
  const auto dir = systest::make_temp_dir("assign-chicago");
  const std::string base = tntp_dir + "/ChicagoSketch/ChicagoSketch";
  const json weighted =
      run_json(dir, {"--net", base + "_net.tntp", "--trips", base + "_trips.tntp", "--gap", "1e-8",
                     "--toll-factor", "0.02", "--distance-factor", "0.04"});
  CHECK(near_relative(weighted["objective"].get<double>(), 17313018.7387477, 1e-7));
  CHECK(weighted["relative_gap"].get<double>() <= 1e-8);
  CHECK(near_relative(weighted["intrazonal"].get<double>(), 123414, 1e-3));
  // Without them the equilibrium is another one: the factors do reach the engine.
  const json plain = run_json(
      dir, {"--net", base + "_net.tntp", "--trips", base + "_trips.tntp", "--gap", "1e-4"});
  CHECK_FALSE(near_relative(plain["objective"].get<double>(), 17313018.7387477, 1e-2));
}

TEST_CASE("assign refuses a malformed network with the file and line, exit 2") {
  const auto dir = systest::make_temp_dir("assign-bad");
  // Line 12 is the third link row of the SiouxFalls network (2 -> 1); its capacity is not a number.
  const auto bad_net = write_with_line(sioux_net, dir + "/bad_net.tntp", 12,
                                       "\t2\t1\tlots\t6\t6\t0.15\t4\t0\t0\t1\t;");
  auto r = run_cli(dir, "assign-bad", {"assign", "--net", bad_net, "--trips", sioux_trips}, 30s);
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.errors.find(bad_net + ":12") != std::string::npos, r.errors);
  CHECK(r.output.empty());

  // A link to a node the header does not declare.
  const auto unknown = write_with_line(sioux_net, dir + "/unknown_net.tntp", 13,
                                       "\t2\t99\t4958.180928\t5\t5\t0.15\t4\t0\t0\t1\t;");
  r = run_cli(dir, "assign-unknown", {"assign", "--net", unknown, "--trips", sioux_trips}, 30s);
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.errors.find(unknown) != std::string::npos, r.errors);

  const auto missing = dir + "/missing_trips.tntp";
  r = run_cli(dir, "assign-missing", {"assign", "--net", sioux_net, "--trips", missing}, 30s);
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.errors.find(missing) != std::string::npos, r.errors);
}

TEST_CASE("assign reports a solve stopped before its gap with exit 1, results still written") {
  const auto dir = systest::make_temp_dir("assign-stopped");
  const auto flows_path = dir + "/flows.tntp";
  auto r = run_cli(dir, "assign-stopped",
                   {"assign", "--net", sioux_net, "--trips", sioux_trips, "--gap", "1e-14",
                    "--max-iterations", "1", "--json", "--flows", flows_path},
                   60s);
  CHECK(r.code == 1);
  CHECK_MESSAGE(r.errors.find("iterations_max") != std::string::npos, r.errors);
  const json j = json::parse(r.output);
  CHECK(j["iterations"] == 1);
  CHECK(j["stop"] == "iterations_max");
  CHECK(j["relative_gap"].get<double>() > 1e-14);
  const auto flows = twin::tntp::load_flow(flows_path);
  REQUIRE(flows.has_value());
  CHECK(flows->size() == 76);
}
