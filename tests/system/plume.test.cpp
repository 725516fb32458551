// `citytwin plume` end to end: the real binary on ORACLES case P2 (its JSON and its text), plume
// rise, and its refusals of bad input.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "node.hpp"

using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

using systest::run_cli;

// ORACLES P2: Q 100 g/s, H 50 m, u 5 m/s, class D, x 1000 m.
const std::vector<std::string> p2 = {
    "plume", "--q", "100", "--stack-height", "50", "--wind", "5", "--class", "D", "--x", "1000"};

json run_json(const std::string& dir, std::vector<std::string> args) {
  args.push_back("--json");
  auto r = run_cli(dir, "plume", args, 30s);
  REQUIRE_MESSAGE(r.code == 0, r.output << r.errors);
  return json::parse(r.output);
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

}  // namespace

// P2: Briggs urban 352.91 ug/m3 (sy 135.22, sz 122.79); rural 923.24 ug/m3 (sy 76.28,
// sz 37.95); rural at y 50 m, z 1.5 m: 745.17 ug/m3.
TEST_CASE("plume reproduces ORACLES P2 through the command line") {
  const auto dir = systest::make_temp_dir("plume-p2");
  const json urban = run_json(dir, p2);
  CHECK(urban["sigma_y"].get<double>() == doctest::Approx(135.22).epsilon(1e-4));
  CHECK(urban["sigma_z"].get<double>() == doctest::Approx(122.79).epsilon(1e-4));
  CHECK(urban["effective_height"].get<double>() == 50);
  CHECK(urban["concentration"].get<double>() * 1e6 == doctest::Approx(352.91).epsilon(1e-5));
  CHECK(urban["concentration_ug_m3"].get<double>() == doctest::Approx(352.91).epsilon(1e-5));
  CHECK(urban["wind_at_release"].get<double>() == 5);
  CHECK(urban["plume_rise"].is_null());

  const json rural = run_json(dir, with(p2, {"--sigmas", "briggs-rural"}));
  CHECK(rural["concentration"].get<double>() * 1e6 == doctest::Approx(923.24).epsilon(1e-5));
  const json off = run_json(dir, with(p2, {"--sigmas", "briggs-rural", "--y", "50", "--z", "1.5"}));
  CHECK(off["concentration"].get<double>() * 1e6 == doctest::Approx(745.17).epsilon(1e-5));
  // The crosswind side does not matter.
  const json other =
      run_json(dir, with(p2, {"--sigmas", "briggs-rural", "--y", "-50", "--z", "1.5"}));
  CHECK(other["concentration"].get<double>() == off["concentration"].get<double>());

  // The text form prints the same figures for a reader.
  auto r = run_cli(dir, "plume-text", p2, 30s);
  CHECK(r.code == 0);
  CHECK_MESSAGE(r.output.find("sigma-y 135.22 m, sigma-z 122.79 m") != std::string::npos, r.output);
  CHECK_MESSAGE(r.output.find("(352.91 ug/m3)") != std::string::npos, r.output);
}

// Stack (a) of the plume rise tests: d 2 m, vs 15 m/s, Ts 400 K, Ta 300 K, u 5 m/s, class D:
// Fb 36.7731, final rise 21.425 Fb^0.75 / u = 63.988 m beyond xf = 466.29 m.
TEST_CASE("plume adds Briggs plume rise with the stack's exit conditions") {
  const auto dir = systest::make_temp_dir("plume-rise");
  const json j = run_json(dir, with(p2, {"--exit-velocity", "15", "--diameter", "2", "--stack-temp",
                                         "400", "--air-temp", "300"}));
  CHECK(j["plume_rise"]["buoyancy_flux"].get<double>() == doctest::Approx(36.7731).epsilon(1e-6));
  CHECK(j["plume_rise"]["rise"].get<double>() == doctest::Approx(63.988).epsilon(1e-5));
  CHECK(j["plume_rise"]["final"].get<bool>());
  CHECK(j["effective_height"].get<double>() == doctest::Approx(113.988).epsilon(1e-5));
  CHECK(j["concentration"].get<double>() < 352.91e-6);
}

TEST_CASE("plume refuses bad input with exit 2 and names the flag") {
  const auto dir = systest::make_temp_dir("plume-bad");
  struct bad {
    std::vector<std::string> args;
    std::string flag;
  };
  const std::vector<std::string> base = {"plume", "--q",    "1", "--stack-height",
                                         "10",    "--wind", "3"};
  for (const bad& b :
       {bad{with(base, {"--class", "G", "--x", "100"}), "--class"},
        bad{with(base, {"--class", "D", "--x", "0"}), "--x"},
        bad{with(base, {"--class", "D", "--x", "-20"}), "--x"},
        bad{with(base, {"--class", "D", "--x", "nan"}), "--x"},
        bad{with(base, {"--class", "D", "--x", "100", "--sigmas", "turner"}), "--sigmas"},
        bad{with(base, {"--class", "D", "--x", "100", "--exit-velocity", "10"}), "--diameter"},
        bad{{"plume", "--q", "-3", "--stack-height", "10", "--wind", "3", "--class", "D", "--x",
             "100"},
            "--q"},
        bad{{"plume", "--q", "3", "--stack-height", "10", "--class", "D", "--x", "100"},
            "--wind"}}) {
    auto r = run_cli(dir, "plume-bad", b.args, 30s);
    CAPTURE(b.flag);
    CHECK(r.code == 2);
    CHECK_MESSAGE(r.errors.find(b.flag) != std::string::npos, r.errors);
    CHECK(r.output.empty());
  }
}
