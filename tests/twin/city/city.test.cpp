#include "twin/city/city.hpp"

#include <doctest/doctest.h>

TEST_CASE("sensor kinds round-trip through their names") {
  for (std::size_t i = 0; i < twin::sensor_kind_count; ++i) {
    auto k = static_cast<twin::sensor_kind>(i);
    auto parsed = twin::parse_sensor_kind(twin::to_string(k));
    REQUIRE(parsed.has_value());
    CHECK(*parsed == k);
  }
  CHECK_FALSE(twin::parse_sensor_kind("pm3").has_value());
  CHECK(twin::to_string(twin::sensor_kind::pm25) == "pm25");
  CHECK(twin::unit_of(twin::sensor_kind::traffic_speed) == "km/h");
}

TEST_CASE("a city finds its sensors by wire id and by key") {
  twin::city c;
  c.districts.push_back({twin::district_id{0}, "a", "A", {}, 10, 1});
  c.districts.push_back({twin::district_id{1}, "b", "B", {}, 20, 2});
  twin::sensor s1;
  s1.id = twin::sensor_id{7};
  s1.key = "a-pm25";
  s1.district = twin::district_id{0};
  twin::sensor s2 = s1;
  s2.id = twin::sensor_id{3};
  s2.key = "b-no2";
  s2.kind = twin::sensor_kind::no2;
  s2.district = twin::district_id{1};
  c.sensors = {s1, s2};
  c.index();
  REQUIRE(c.find_sensor(twin::sensor_id{7}) != nullptr);
  CHECK(c.find_sensor(twin::sensor_id{7})->key == "a-pm25");
  CHECK(c.find_sensor(twin::sensor_id{3})->kind == twin::sensor_kind::no2);
  CHECK(c.find_sensor(twin::sensor_id{4}) == nullptr);
  CHECK(c.find_sensor(twin::sensor_id{1000}) == nullptr);
  CHECK(c.find_sensor("b-no2")->id == twin::sensor_id{3});
  CHECK(c.find_district("b") == twin::district_id{1});
  CHECK_FALSE(c.find_district("z").has_value());
  CHECK(c.sensors_of(twin::district_id{1}).size() == 1);
}

TEST_CASE("a copied city looks up its own sensors, not the original's") {
  twin::city c;
  c.districts.push_back({twin::district_id{0}, "a", "A", {}, 10, 1});
  twin::sensor s;
  s.id = twin::sensor_id{1};
  s.key = "a-pm25";
  s.district = twin::district_id{0};
  c.sensors = {s};
  c.index();
  twin::city copy = c;
  copy.sensors[0].key = "changed";
  CHECK(copy.find_sensor(twin::sensor_id{1}) == &copy.sensors[0]);
  CHECK(copy.sensors_of(twin::district_id{0})[0] == &copy.sensors[0]);
  CHECK(c.find_sensor(twin::sensor_id{1})->key == "a-pm25");
}
