#include "twin/env/weather.hpp"

#include <doctest/doctest.h>

#include <chrono>

using namespace twin::env;
using doctest::Approx;

namespace {

twin::time_ms utc(int y, unsigned m, unsigned d, int hour, int minute) {
  using namespace std::chrono;
  const sys_days date{year{y} / month{m} / day{d}};
  return duration_cast<milliseconds>(date.time_since_epoch() + hours{hour} + minutes{minute})
      .count();
}

const twin::lon_lat macau{113.5439, 22.1987};

}  // namespace

// At an equinox the sun culminates at 90 deg minus the latitude: 90 - 22.2 = 67.8 deg at Macau.
// The March 2024 equinox fell on the 20th at 03:06 UTC; local solar noon at 113.54 E is near
// 04:33 UTC.
TEST_CASE("solar elevation: noon at Macau on the equinox, and night") {
  double highest = -90;
  for (int minute = 0; minute < 24 * 60; ++minute)
    highest = std::max(highest, solar_elevation_deg(utc(2024, 3, 20, 0, minute), macau));
  CHECK(highest == Approx(90 - 22.1987).epsilon(0.5 / 67.8));
  CHECK(solar_elevation_deg(utc(2024, 3, 20, 4, 33), macau) == Approx(67.8).epsilon(0.5 / 67.8));
  // Local midnight (16:30 UTC) is night; so is 22:00 local (14:00 UTC).
  CHECK(solar_elevation_deg(utc(2024, 3, 20, 16, 30), macau) < -60);
  CHECK(solar_elevation_deg(utc(2024, 3, 20, 14, 0), macau) < 0);
  // June solstice noon: 90 - (22.2 - 23.44) = 91.2, i.e. 88.8 deg with the sun to the north.
  double june = -90;
  for (int minute = 0; minute < 24 * 60; ++minute)
    june = std::max(june, solar_elevation_deg(utc(2024, 6, 21, 0, minute), macau));
  CHECK(june == Approx(88.76).epsilon(0.5 / 88.76));
}

TEST_CASE("Turner's insolation classes from solar elevation") {
  CHECK(insolation_class(67.8) == 4);
  CHECK(insolation_class(60) == 3);
  CHECK(insolation_class(40) == 3);
  CHECK(insolation_class(35) == 2);
  CHECK(insolation_class(20) == 2);
  CHECK(insolation_class(15) == 1);
  CHECK(insolation_class(5) == 1);
}

TEST_CASE("Turner's net radiation index") {
  const sky clear{0, 3000};
  CHECK(net_radiation_index(67, clear) == 4);
  CHECK(net_radiation_index(-10, clear) == -2);
  CHECK(net_radiation_index(-10, sky{3, 3000}) == -2);
  CHECK(net_radiation_index(-10, sky{4, 3000}) == -1);
  // Overcast under a low ceiling (< 7000 ft = 2133.6 m): neutral, day and night.
  CHECK(net_radiation_index(67, sky{8, 1000}) == 0);
  CHECK(net_radiation_index(-10, sky{8, 1000}) == 0);
  // More than half covered by day: -2 under 7000 ft, -1 under 16000 ft, unchanged above;
  // overcast above 7000 ft: -1.
  CHECK(net_radiation_index(67, sky{4, 1000}) == 4);
  CHECK(net_radiation_index(67, sky{6, 1000}) == 2);
  CHECK(net_radiation_index(67, sky{6, 3000}) == 3);
  CHECK(net_radiation_index(67, sky{6, 6000}) == 4);
  CHECK(net_radiation_index(67, sky{8, 6000}) == 3);
  CHECK(net_radiation_index(10, sky{6, 1000}) == 1);  // never below 1 by day
}

// Cells of Turner's key (wind in knots; 1 kt = 0.514444 m/s), class 1..7 = A..G, G read as F.
TEST_CASE("Turner's key") {
  CHECK(turner_stability(0.5, 4) == stability::a);   // 1 kt, NRI 4: 1
  CHECK(turner_stability(0.5, 2) == stability::b);   // 1 kt, NRI 2: 2
  CHECK(turner_stability(0.5, 0) == stability::d);   // 1 kt, NRI 0: 4
  CHECK(turner_stability(1.0, -2) == stability::f);  // 2 kt, NRI -2: 7 (G)
  CHECK(turner_stability(1.0, -1) == stability::f);  // 2 kt, NRI -1: 6
  CHECK(turner_stability(2.0, 4) == stability::a);   // 4 kt, NRI 4: 1
  CHECK(turner_stability(2.0, -1) == stability::e);  // 4 kt, NRI -1: 5
  CHECK(turner_stability(3.0, 2) == stability::c);   // 6 kt, NRI 2: 3
  CHECK(turner_stability(3.6, -1) == stability::d);  // 7 kt, NRI -1: 4
  CHECK(turner_stability(4.5, 3) == stability::c);   // 9 kt, NRI 3: 3
  CHECK(turner_stability(5.1, -2) == stability::e);  // 10 kt, NRI -2: 5
  CHECK(turner_stability(5.7, -2) == stability::d);  // 11 kt, NRI -2: 4
  CHECK(turner_stability(7.0, 4) == stability::c);   // 14 kt, NRI 4: 3
  CHECK(turner_stability(7.0, 3) == stability::d);   // 14 kt, NRI 3: 4
}

TEST_CASE("stability from wind, sky, time and place") {
  // Equinox noon at Macau, clear, 2 m/s (3.9 kt -> 4 kt): strong insolation, class A.
  CHECK(stability_from(2, sky{0, 3000}, utc(2024, 3, 20, 4, 33), macau) == stability::a);
  // The same at local midnight: 4 kt, NRI -2: class 6, F.
  CHECK(stability_from(2, sky{0, 3000}, utc(2024, 3, 20, 16, 30), macau) == stability::f);
  // Typhoon-season overcast with a low base: D whatever the hour.
  CHECK(stability_from(2, sky{8, 600}, utc(2024, 3, 20, 4, 33), macau) == stability::d);
}

TEST_CASE("default mixing heights and a weather from a station report") {
  CHECK(default_mixing_height_m(stability::d, 5) == 1600);
  CHECK(default_mixing_height_m(stability::a, 0.4) == 320);
  CHECK(default_mixing_height_m(stability::e, 2) == mixing_height_stable_m);
  station_report r;
  r.wind_speed_m_s = 2;
  r.wind_from_deg = 160;
  r.air_temperature_k = 301;
  const weather w = make_weather(r, utc(2024, 3, 20, 4, 33), macau);
  CHECK(w.stability_class == stability::a);
  CHECK(w.mixing_height_m == 640);
  CHECK(w.wind_from_deg == 160);
  CHECK(w.air_temperature_k == 301);
  r.stability_class = stability::e;
  r.mixing_height_m = 250;
  const weather given = make_weather(r, utc(2024, 3, 20, 4, 33), macau);
  CHECK(given.stability_class == stability::e);
  CHECK(given.mixing_height_m == 250);
}
