// A node's snapshot file as the base of a scenario: the live state read from a runtime started
// from it is the live state read from the runtime that took it, as of the moment it was taken;
// and a file that is missing or of another city is refused, naming it.
#include "node/snapshot_base.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <ios>
#include <sstream>
#include <string>
#include <vector>

#include "cluster/snapshot_file.hpp"
#include "fed_runtime.hpp"
#include "twin/city/bundle.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path live_corridor = fs::path(CITYTWIN_TEST_DATA) / "scenario/live-corridor";
const fs::path two_routes = fs::path(CITYTWIN_TEST_DATA) / "scenario/two-routes";
// 2023-11-14T22:13:20Z.
constexpr twin::time_ms t0 = 1'700'000'000'000;

fs::path temp_dir() {
  static const fs::path dir = [] {
    auto d = fs::temp_directory_path() / ("citytwin-snapshot-base-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

// Every field, doubles in hexadecimal (exact, NaN included).
std::string text(const twin::live_snapshot& s) {
  std::ostringstream out;
  out << std::hexfloat << s.city_name << ' ' << s.as_of << '\n';
  for (const auto& l : s.links)
    out << "link " << l.key << ' ' << l.speed_kmh << ' ' << l.flow_veh_h << ' ' << l.time << '\n';
  for (const auto& d : s.districts) {
    const auto& i = d.indicators;
    out << "district " << d.key << ' ' << i.congestion_index << ' ' << i.mean_speed_kmh << ' '
        << i.pm25_ug_m3 << ' ' << i.no2_ug_m3 << ' ' << i.stale_sensors << '\n';
  }
  for (const auto& x : s.sensors)
    out << "sensor " << x.key << ' ' << twin::to_string(x.kind) << ' ' << x.district << ' '
        << x.reported << ' ' << x.value << ' ' << x.time << '\n';
  return out.str();
}

twin::city load(const fs::path& dir) {
  auto c = twin::load_city(dir);
  REQUIRE_MESSAGE(c.has_value(), c.error().to_string());
  return std::move(*c);
}

// Speeds and flows a minute old, the spur's twenty minutes old, NO2 of the west 130 minutes old.
std::vector<testkit::keyed_reading> corridor_readings(twin::time_ms at) {
  const auto fresh = at - 60000;
  return {{"ab-speed", fresh, 30},
          {"ab-flow", fresh, 900},
          {"bc-speed", fresh, 60},
          {"bc-flow", fresh, 800},
          {"ad-speed", at - 1200000, 20},
          {"ad-flow", at - 1200000, 100},
          {"w-pm25", fresh, 20},
          {"e-pm25", fresh, 30},
          {"e-no2", fresh, 40},
          {"w-no2", at - 7800000, 90},
          {"wind-speed", fresh, 3.5},
          {"wind-dir", fresh, 180},
          {"wind-dir-w", at - 3000000, 90}};
}

}  // namespace

TEST_CASE("a snapshot file as a live base reads as the runtime that took it, as of then") {
  const auto city = load(live_corridor);
  const auto path = temp_dir() / "00000000000000000007.snap";
  std::string expected;
  {
    testkit::fed_runtime node(city, corridor_readings(t0), t0);
    auto snap = node.snapshot(7);
    CHECK(snap.taken_ms == t0);
    REQUIRE(cluster::write_snapshot_file(path, snap).has_value());
    expected = text(node.read(path.string()));
  }
  auto s = node::live_snapshot_from_file(path, city);
  REQUIRE_MESSAGE(s.has_value(), s.error());
  CHECK(text(*s) == expected);
  CHECK(s->as_of == t0);
  CHECK(s->node == path.string());
  REQUIRE(s->snapshot.has_value());
  CHECK(s->snapshot->file == path.string());
  CHECK(s->snapshot->lsn == 7);
  CHECK(s->snapshot->taken_ms == t0);
  // ab, bc and ad (the latter stale as of t0, but there) and every environment sensor.
  CHECK(s->links.size() == 3);
  CHECK(s->sensors.size() == 7);
}

TEST_CASE("a snapshot base that is missing or of another city is refused, naming the file") {
  const auto city = load(live_corridor);
  const auto missing = temp_dir() / "no-such.snap";
  auto m = node::live_snapshot_from_file(missing, city);
  REQUIRE_FALSE(m.has_value());
  CHECK(m.error().find(missing.string()) != std::string::npos);

  const auto other_city = load(two_routes);
  const auto other = temp_dir() / "two-routes.snap";
  {
    testkit::fed_runtime node(other_city, {}, t0);
    REQUIRE(cluster::write_snapshot_file(other, node.snapshot(1)).has_value());
  }
  auto o = node::live_snapshot_from_file(other, city);
  REQUIRE_FALSE(o.has_value());
  CHECK(o.error() == other.string() +
                         " is a snapshot of city 'Two Routes' but the scenario's bundle is "
                         "'Live Corridor'");

  const auto garbage = temp_dir() / "garbage.snap";
  std::ofstream(garbage) << "not a snapshot\n";
  auto g = node::live_snapshot_from_file(garbage, city);
  REQUIRE_FALSE(g.has_value());
  CHECK(g.error().find(garbage.string()) != std::string::npos);
}
