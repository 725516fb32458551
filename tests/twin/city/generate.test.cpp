#include "twin/city/generate.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <set>

#include "twin/city/bundle.hpp"
#include "twin/city/bundle_writer.hpp"
#include "twin/city/geo.hpp"

namespace fs = std::filesystem;

namespace {

bool reaches_all(const twin::city& c, bool forward) {
  std::vector<std::vector<std::uint32_t>> next(c.nodes.size());
  for (const auto& l : c.links)
    forward ? next[l.from.value].push_back(l.to.value) : next[l.to.value].push_back(l.from.value);
  std::vector<bool> seen(c.nodes.size(), false);
  std::vector<std::uint32_t> stack{0};
  seen[0] = true;
  std::size_t count = 1;
  while (!stack.empty()) {
    auto n = stack.back();
    stack.pop_back();
    for (auto m : next[n])
      if (!seen[m]) {
        seen[m] = true;
        ++count;
        stack.push_back(m);
      }
  }
  return count == c.nodes.size();
}

bool strongly_connected(const twin::city& c) {
  return reaches_all(c, true) && reaches_all(c, false);
}

bool is_traffic(twin::sensor_kind k) {
  return k == twin::sensor_kind::traffic_speed || k == twin::sensor_kind::traffic_flow ||
         k == twin::sensor_kind::traffic_occupancy;
}

}  // namespace

TEST_CASE("a generated city has exactly the requested counts") {
  for (auto [d, l, s] : {std::tuple{1u, 0u, 0u},
                         {1u, 1u, 3u},
                         {5u, 3u, 20u},
                         {7u, 101u, 500u},
                         {30u, 1000u, 2000u},
                         {100u, 4001u, 777u}}) {
    CAPTURE(d);
    CAPTURE(l);
    CAPTURE(s);
    auto c = twin::generate_city({d, l, s, 42});
    CHECK(c.districts.size() == d);
    CHECK(c.links.size() == l);
    CHECK(c.sensors.size() == s);
    CHECK(c.zones.size() == d);
    CHECK_FALSE(c.nodes.empty());
    CHECK_FALSE(c.rules.empty());
    std::set<std::string> keys;
    for (const auto& k : c.links) {
      CHECK(k.from != k.to);
      CHECK(k.length_m > 0);
      CHECK(k.district.value < d);
      keys.insert(k.key);
    }
    CHECK(keys.size() == l);
    for (std::uint32_t i = 0; i < s; ++i) CHECK(c.sensors[i].id == twin::sensor_id{i + 1});
  }
}

TEST_CASE("a generated road network is strongly connected whenever the link count allows") {
  for (std::uint32_t links = 6; links <= 400; ++links) {
    CAPTURE(links);
    auto c = twin::generate_city({9, links, 0, 3});
    REQUIRE(c.links.size() == links);
    CHECK(strongly_connected(c));
  }
  CHECK(strongly_connected(twin::generate_city({4, 2, 0, 3})));
}

TEST_CASE("generated sensors cover every kind and sit in their district") {
  auto c = twin::generate_city({12, 300, 280, 9});
  std::set<twin::sensor_kind> kinds;
  for (const auto& s : c.sensors) {
    kinds.insert(s.kind);
    if (is_traffic(s.kind)) {
      REQUIRE(s.link.has_value());
      CHECK(s.district == c.links[s.link->value].district);
    } else {
      CHECK_FALSE(s.link.has_value());
      CHECK(twin::contains(c.districts[s.district.value].area, s.position));
    }
    if (s.kind == twin::sensor_kind::visitors) CHECK(s.capacity > 0);
  }
  CHECK(kinds.size() == twin::sensor_kind_count);
  // Without links there is nowhere to put traffic sensors: other kinds take their place.
  auto bare = twin::generate_city({3, 0, 50, 9});
  for (const auto& s : bare.sensors) CHECK_FALSE(is_traffic(s.kind));
  // Links spread over every district of a grid.
  std::set<std::uint32_t> with_links;
  for (const auto& l : c.links) with_links.insert(l.district.value);
  CHECK(with_links.size() == 12);
}

TEST_CASE("generation is deterministic for a seed") {
  auto a = twin::generate_city({10, 250, 300, 7});
  auto b = twin::generate_city({10, 250, 300, 7});
  auto other = twin::generate_city({10, 250, 300, 8});
  REQUIRE(a.sensors.size() == b.sensors.size());
  bool differs = false;
  for (std::size_t i = 0; i < a.sensors.size(); ++i) {
    CHECK(a.sensors[i].key == b.sensors[i].key);
    CHECK(a.sensors[i].position.lon == b.sensors[i].position.lon);
    CHECK(a.sensors[i].position.lat == b.sensors[i].position.lat);
    differs = differs || a.sensors[i].position.lon != other.sensors[i].position.lon;
  }
  for (std::size_t i = 0; i < a.districts.size(); ++i)
    CHECK(a.districts[i].population == b.districts[i].population);
  for (std::size_t i = 0; i < a.links.size(); ++i) {
    CHECK(a.links[i].from == b.links[i].from);
    CHECK(a.links[i].lanes == b.links[i].lanes);
  }
  CHECK(differs);
  // Pinned values: a change here means every generated bundle changes.
  CHECK(a.districts[0].population == 152'105);
  CHECK(a.sensors[3].key == "d10-pm25-4");
}

TEST_CASE("a generated city written as a bundle loads back") {
  auto c = twin::generate_city({6, 120, 150, 5});
  fs::path dir = fs::path(CITYTWIN_BINARY_DIR) / "test-bundles" / "generated";
  fs::remove_all(dir);
  auto written = twin::write_city(c, dir);
  REQUIRE_MESSAGE(written.has_value(), written.error().to_string());
  auto loaded = twin::load_city(dir);
  REQUIRE_MESSAGE(loaded.has_value(), loaded.error().to_string());
  CHECK(loaded->name == c.name);
  CHECK(loaded->districts.size() == 6);
  CHECK(loaded->links.size() == 120);
  CHECK(loaded->sensors.size() == 150);
  CHECK(loaded->demand.size() == c.demand.size());
  for (std::size_t i = 0; i < c.links.size(); ++i) {
    CHECK(loaded->links[i].length_m == c.links[i].length_m);
    CHECK(loaded->links[i].district == c.links[i].district);
  }
  for (std::size_t i = 0; i < c.sensors.size(); ++i) {
    CHECK(loaded->sensors[i].position.lat == c.sensors[i].position.lat);
    CHECK(loaded->sensors[i].link == c.sensors[i].link);
  }
  CHECK(loaded->rules.size() == c.rules.size());
}

TEST_CASE("check_options names what a generator cannot do") {
  CHECK(twin::check_options({1, 0, 0, 1}) == std::nullopt);
  CHECK(twin::check_options({0, 10, 10, 1}).has_value());
  CHECK(twin::check_options({1, 10, twin::sensor_id_max, 1}).has_value());
}
