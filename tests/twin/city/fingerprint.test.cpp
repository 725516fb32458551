#include "twin/city/fingerprint.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "twin/city/bundle.hpp"
#include "twin/city/city.hpp"

namespace {

namespace fs = std::filesystem;

twin::city load_ok(const fs::path& dir) {
  auto c = twin::load_city(dir);
  if (!c) FAIL("loading " << dir << " failed: " << c.error().to_string());
  return std::move(*c);
}

twin::sensor make_sensor(std::uint32_t id, const char* key, twin::sensor_kind kind) {
  twin::sensor s;
  s.id = twin::sensor_id{id};
  s.key = key;
  s.kind = kind;
  return s;
}

twin::city two_sensors() {
  twin::city c;
  c.name = "A";
  c.sensors.push_back(make_sensor(2, "b", twin::sensor_kind::no2));
  c.sensors.push_back(make_sensor(1, "a", twin::sensor_kind::pm25));
  return c;
}

}  // namespace

// The expected values were computed from the README's definition by a separate implementation
// (FNV-1a 64 over name, 0, then per sensor by id: id LE32, key, 0, kind, 0).
TEST_CASE("city fingerprint: the bundles' values as the README defines them") {
  const auto small = load_ok(fs::path(CITYTWIN_TEST_DATA) / "bundles" / "small");
  CHECK(twin::city_fingerprint(small) == 0x3e9e956ee242685fULL);
  const auto macau = load_ok(fs::path(CITYTWIN_EXAMPLES) / "macau");
  CHECK(twin::city_fingerprint(macau) == 0x3f3d3f9170a6ee94ULL);
  CHECK(twin::identity_of(macau) == twin::city_identity{"Macau", 0x3f3d3f9170a6ee94ULL});
  CHECK(twin::fingerprint_text(0x3f3d3f9170a6ee94ULL) == "0x3f3d3f9170a6ee94");
  CHECK(twin::fingerprint_text(1) == "0x0000000000000001");
}

TEST_CASE("city fingerprint: sensors count in id order, and every field of the definition counts") {
  auto c = two_sensors();
  const auto base = twin::city_fingerprint(c);
  CHECK(base == 0x469de77c537a137fULL);
  std::reverse(c.sensors.begin(), c.sensors.end());
  CHECK(twin::city_fingerprint(c) == base);

  auto renamed = two_sensors();
  renamed.name = "B";
  CHECK(twin::city_fingerprint(renamed) != base);
  auto rekeyed = two_sensors();
  rekeyed.sensors[0].key = "c";
  CHECK(twin::city_fingerprint(rekeyed) != base);
  auto rekinded = two_sensors();
  rekinded.sensors[0].kind = twin::sensor_kind::pm10;
  CHECK(twin::city_fingerprint(rekinded) != base);
  auto renumbered = two_sensors();
  renumbered.sensors[0].id = twin::sensor_id{3};
  CHECK(twin::city_fingerprint(renumbered) != base);
  // Where a sensor stands does not enter it.
  auto moved = two_sensors();
  moved.sensors[0].position = {113.5, 22.1};
  CHECK(twin::city_fingerprint(moved) == base);
}
