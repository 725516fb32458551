#include "twin/live/district_state.hpp"
#include "validate_reading.hpp"

#include <doctest/doctest.h>

#include <limits>

namespace {

twin::city validation_city() {
  twin::city c;
  c.districts.push_back({twin::district_id{0}, "a", "A", {}, 10, 1});
  twin::sensor pm;
  pm.id = twin::sensor_id{7};
  pm.key = "a-pm25";
  pm.kind = twin::sensor_kind::pm25;
  pm.district = twin::district_id{0};
  twin::sensor co2 = pm;
  co2.id = twin::sensor_id{9};
  co2.key = "a-co2";
  co2.kind = twin::sensor_kind::co2;
  c.sensors = {pm, co2};
  c.index();
  return c;
}

std::optional<twin::reject_reason> reason(const twin::city& c, std::uint32_t id, twin::time_ms t,
                                          double value) {
  twin::ingest_limits limits;
  limits.max_age_ms = 1000;
  limits.max_future_ms = 500;
  return twin::testing::validate_reading(c, {twin::sensor_id{id}, t, value}, 10000, limits).reason;
}

}  // namespace

TEST_CASE("a valid reading returns its sensor") {
  auto c = validation_city();
  auto v = twin::testing::validate_reading(c, {twin::sensor_id{7}, 10000, 12.5}, 10000, {});
  CHECK_FALSE(v.reason.has_value());
  CHECK(v.sensor == c.find_sensor(twin::sensor_id{7}));
}

TEST_CASE("validation rejects with the first failing reason") {
  using twin::reject_reason;
  auto c = validation_city();
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  constexpr double inf = std::numeric_limits<double>::infinity();
  CHECK(reason(c, 8, 10000, 1) == reject_reason::unknown_sensor);
  CHECK(reason(c, 1000000, 10000, 1) == reject_reason::unknown_sensor);
  CHECK(reason(c, 8, 0, nan) == reject_reason::unknown_sensor);
  CHECK(reason(c, 7, 10000, nan) == reject_reason::non_finite);
  CHECK(reason(c, 7, 10000, inf) == reject_reason::non_finite);
  CHECK(reason(c, 7, 10000, -inf) == reject_reason::non_finite);
  CHECK(reason(c, 7, 0, nan) == reject_reason::non_finite);  // also too old: NaN comes first
  CHECK(reason(c, 7, 10000, -0.1) == reject_reason::out_of_range);
  CHECK(reason(c, 7, 10000, 2000.001) == reject_reason::out_of_range);
  CHECK(reason(c, 7, 0, 5000) == reject_reason::out_of_range);  // also too old
  CHECK(reason(c, 9, 10000, 249) == reject_reason::out_of_range);
  CHECK(reason(c, 7, 8999, 1) == reject_reason::too_old);
  CHECK(reason(c, 7, 10501, 1) == reject_reason::too_new);
}

TEST_CASE("validation bounds are inclusive") {
  auto c = validation_city();
  CHECK_FALSE(reason(c, 7, 10000, 0).has_value());
  CHECK_FALSE(reason(c, 7, 10000, 2000).has_value());
  CHECK_FALSE(reason(c, 9, 10000, 250).has_value());
  CHECK_FALSE(reason(c, 9, 10000, 10000).has_value());
  CHECK_FALSE(reason(c, 7, 9000, 1).has_value());   // exactly max_age old
  CHECK_FALSE(reason(c, 7, 10500, 1).has_value());  // exactly max_future ahead
}
