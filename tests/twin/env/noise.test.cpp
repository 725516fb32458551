#include "twin/env/noise.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

namespace {

using twin::env::cnossos_category;
using twin::env::cnossos_edition;

constexpr auto directive_2015 = cnossos_edition::directive_2015;

twin::fleet_mix only(twin::vehicle_category c) {
  return {{{c, twin::fuel::petrol, twin::euro_standard::euro_6, 1.0}}};
}

double round_2(double x) {
  return std::round(x * 100.0) / 100.0;
}

// A straight road along the x axis from -half_length to +half_length.
std::vector<twin::env::noise_segment> straight_road(double half_length_m, double power_db_per_m) {
  twin::env::noise_segment s;
  s.a = {-half_length_m, 0};
  s.b = {half_length_m, 0};
  s.power_db_per_m.fill(power_db_per_m);
  return {s};
}

}  // namespace

TEST_CASE("CNOSSOS-EU category 1 emission matches the worked values") {
  auto per_vehicle = twin::env::vehicle_sound_power_db(cnossos_category::light, 70, directive_2015);
  CHECK(round_2(per_vehicle[4]) == 97.51);  // 1 kHz
  CHECK(round_2(twin::env::a_weighted_db(per_vehicle)) == 100.42);

  auto per_m =
      twin::env::line_sound_power_db_per_m(cnossos_category::light, 1000, 70, directive_2015);
  CHECK(round_2(per_m[4]) == 79.06);
  CHECK(round_2(twin::env::a_weighted_db(per_m)) == 81.97);

  auto cars = only(twin::vehicle_category::car);
  CHECK(round_2(twin::env::line_sound_power_db_a_per_m(cars, 1000, 50, directive_2015)) == 78.96);
  CHECK(round_2(twin::env::line_sound_power_db_a_per_m(cars, 1000, 70, directive_2015)) == 81.97);
}

TEST_CASE("CNOSSOS-EU categories and editions") {
  CHECK(twin::env::cnossos_category_of(twin::vehicle_category::car) == cnossos_category::light);
  CHECK(twin::env::cnossos_category_of(twin::vehicle_category::light_goods) ==
        cnossos_category::light);
  CHECK(twin::env::cnossos_category_of(twin::vehicle_category::bus) ==
        cnossos_category::medium_heavy);
  CHECK(twin::env::cnossos_category_of(twin::vehicle_category::heavy_goods) ==
        cnossos_category::heavy);
  CHECK(twin::env::cnossos_category_of(twin::vehicle_category::moped) == cnossos_category::moped);
  CHECK(twin::env::cnossos_category_of(twin::vehicle_category::motorcycle) ==
        cnossos_category::motorcycle);
  CHECK(twin::env::to_string(cnossos_category::moped) == "4a");

  // At 70 km/h the rolling and propulsion terms are A_R and A_P: category 2, 1 kHz, 2015 table
  // A_R 97.4, A_P 98.6; the 2021 table A_R 101.7, A_P 101.0.
  auto medium_2015 =
      twin::env::vehicle_sound_power_db(cnossos_category::medium_heavy, 70, directive_2015);
  CHECK(medium_2015[4] ==
        doctest::Approx(10 * std::log10(std::pow(10, 9.74) + std::pow(10, 9.86))));
  auto medium_2021 = twin::env::vehicle_sound_power_db(cnossos_category::medium_heavy, 70,
                                                       cnossos_edition::amended_2021);
  CHECK(medium_2021[4] ==
        doctest::Approx(10 * std::log10(std::pow(10, 10.17) + std::pow(10, 10.10))));
  // Two-wheelers have propulsion noise only: category 4b, 1 kHz, 2015: A_P 94.7.
  auto motorcycle_2015 =
      twin::env::vehicle_sound_power_db(cnossos_category::motorcycle, 70, directive_2015);
  CHECK(motorcycle_2015[4] == doctest::Approx(94.7));
  // Heavier vehicles are louder than light ones.
  CHECK(twin::env::a_weighted_db(twin::env::vehicle_sound_power_db(cnossos_category::heavy, 50)) >
        twin::env::a_weighted_db(twin::env::vehicle_sound_power_db(cnossos_category::light, 50)));
  // Below 20 km/h the Directive's 20 km/h applies.
  CHECK(twin::env::vehicle_sound_power_db(cnossos_category::light, 5)[3] ==
        twin::env::vehicle_sound_power_db(cnossos_category::light, 20)[3]);
}

TEST_CASE("a mixed flow sums the categories by energy") {
  twin::fleet_mix mix{
      {{twin::vehicle_category::car, twin::fuel::petrol, twin::euro_standard::euro_6, 0.9},
       {twin::vehicle_category::heavy_goods, twin::fuel::diesel, twin::euro_standard::euro_6,
        0.1}}};
  auto mixed = twin::env::line_sound_power_db_per_m(mix, 2000, 50);
  auto light = twin::env::line_sound_power_db_per_m(cnossos_category::light, 1800, 50);
  auto heavy = twin::env::line_sound_power_db_per_m(cnossos_category::heavy, 200, 50);
  for (std::size_t i = 0; i < twin::env::octave_band_count; ++i)
    CHECK(mixed[i] == doctest::Approx(10 * std::log10(std::pow(10, light[i] / 10) +
                                                      std::pow(10, heavy[i] / 10))));
  // Doubling the flow adds 10 log10(2) dB.
  CHECK(twin::env::line_sound_power_db_a_per_m(mix, 4000, 50) ==
        doctest::Approx(twin::env::line_sound_power_db_a_per_m(mix, 2000, 50) +
                        10 * std::log10(2.0)));
  // No traffic, no sound.
  CHECK(std::isinf(twin::env::line_sound_power_db_a_per_m(mix, 0, 50)));
}

TEST_CASE("Lden weights the evening by +5 dB and the night by +10 dB") {
  const double offset = 10 * std::log10((12 + 4 * std::pow(10, 0.5) + 8 * 10) / 24.0);
  CHECK(twin::env::lden(60, 60, 60) == doctest::Approx(60 + offset));
  CHECK(round_2(offset) == 6.40);
  // A quiet night counts for little, a loud one for much.
  CHECK(twin::env::lden(70, -1000, -1000) == doctest::Approx(70 + 10 * std::log10(0.5)));
  CHECK(twin::env::lden(-1000, -1000, 60) == doctest::Approx(70 + 10 * std::log10(8.0 / 24)));

  auto flows = twin::env::period_flows_from_peak(1000);
  CHECK(flows.day_veh_h == doctest::Approx(800));
  CHECK(flows.evening_veh_h == doctest::Approx(550));
  CHECK(flows.night_veh_h == doctest::Approx(170));
}

TEST_CASE("ISO 9613-1 air absorption at 20 C and 70 % matches the tabulated values") {
  // ISO 9613-2, table 2 (dB/km), rounded there to 0.1 below 10 dB/km.
  const double table[] = {0.1, 0.3, 1.1, 2.8, 5.0, 9.0, 22.9, 76.6};
  auto alpha = twin::env::air_absorption_db_per_km_reference();
  for (std::size_t i = 0; i < twin::env::octave_band_count; ++i) {
    CAPTURE(twin::env::octave_band_hz[i]);
    CHECK(alpha[i] == doctest::Approx(table[i]).epsilon(0.1));
  }
}

TEST_CASE("propagation from a line source") {
  twin::env::propagation_options no_air;
  no_air.air_absorption = false;
  no_air.angle_steps = 256;

  SUBCASE("an infinite line: L_p = L_W' - 10 log10(4 d), plus 3 dB over hard ground") {
    auto road = straight_road(1e7, 80);
    auto bands = twin::env::band_levels_at(road, {0, 25}, no_air);
    CHECK(bands[0] == doctest::Approx(80 - 10 * std::log10(4 * 25.0) + 3).epsilon(1e-4));
    twin::env::propagation_options porous = no_air;
    porous.ground_factor = 1;
    auto soft = twin::env::band_levels_at(road, {0, 25}, porous);
    CHECK(soft[0] == doctest::Approx(bands[0] - 3).epsilon(1e-6));
  }
  SUBCASE("doubling the distance from a long line lowers the level by about 3 dB") {
    auto road = straight_road(20000, 80);
    double near = twin::env::level_at(road, {0, 20}, no_air);
    double far = twin::env::level_at(road, {0, 40}, no_air);
    CHECK(near - far == doctest::Approx(10 * std::log10(2.0)).epsilon(0.01));
    // Air absorption takes a little more, mostly from the high bands.
    twin::env::propagation_options air;
    double near_air = twin::env::level_at(road, {0, 20}, air);
    double far_air = twin::env::level_at(road, {0, 40}, air);
    CHECK(near_air < near);
    CHECK(near_air - far_air > near - far);
    CHECK(near_air - far_air < near - far + 1.0);
  }
  SUBCASE("a finite segment seen under the angle theta: L_W' + 10 log10(theta / (4 pi d))") {
    auto road = straight_road(50, 80);  // 100 m seen from 50 m: theta = 2 atan(1) = pi / 2
    auto bands = twin::env::band_levels_at(road, {0, 50}, no_air);
    double theta = std::numbers::pi / 2;
    CHECK(bands[3] ==
          doctest::Approx(80 + 10 * std::log10(theta / (4 * std::numbers::pi * 50)) + 3));
    // Two halves sum to the whole.
    twin::env::noise_segment left = road[0];
    twin::env::noise_segment right = road[0];
    left.b = {0, 0};
    right.a = {0, 0};
    std::vector<twin::env::noise_segment> halves{left, right};
    CHECK(twin::env::band_levels_at(halves, {0, 50}, no_air)[3] == doctest::Approx(bands[3]));
  }
  SUBCASE("receptors on the road are held at the minimum distance") {
    auto road = straight_road(1e7, 80);
    CHECK(twin::env::level_at(road, {0, 0}, no_air) ==
          doctest::Approx(twin::env::level_at(road, {0, no_air.distance_min_m}, no_air)));
  }
  SUBCASE("nothing radiates, nothing is heard") {
    std::vector<twin::env::noise_segment> none;
    CHECK(std::isinf(twin::env::level_at(none, {0, 10})));
  }
}
