#include "twin/env/emission.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <string>

#include "twin/city/fleet.hpp"

namespace {

using twin::euro_standard;
using twin::fleet_mix;
using twin::fleet_share;
using twin::fuel;
using twin::vehicle_category;
using twin::env::index;
using twin::env::pollutant;

// `expected` as printed in a reference table: the computed value must round to it, i.e. lie within
// half a unit of its last printed digit.
void check_printed(double actual, const std::string& expected) {
  auto dot = expected.find('.');
  int decimals = dot == std::string::npos ? 0 : static_cast<int>(expected.size() - dot - 1);
  double half_unit = 0.5 * std::pow(10.0, -decimals);
  INFO("actual " << actual << ", table " << expected);
  CHECK(std::abs(actual - std::stod(expected)) <= half_unit * (1 + 1e-9));
}

double nox(const fleet_share& v, double speed_kmh) {
  return twin::env::exhaust_factor_g_km(v, speed_kmh)[index(pollutant::nox)];
}
double pm25(const fleet_share& v, double speed_kmh) {
  return twin::env::exhaust_factor_g_km(v, speed_kmh)[index(pollutant::pm25)];
}

// One row of the heavy-duty annex: its factors at 86 km/h, 50 % load, 0 % slope, as tabulated to
// five decimals (computed by the spreadsheet, so its last digit may differ from exact arithmetic).
struct annex_row {
  euro_standard standard;
  double nox_g_km;
  double pm_g_km;
  double fc_g_km;
};

// NOx and PM within one unit of the last tabulated digit; fuel within `fuel_units` units.
template <std::size_t n>
void check_annex_at_86_kmh(vehicle_category category, const annex_row (&rows)[n],
                           double fuel_units) {
  const double one_unit = 1e-5 * (1 + 1e-9);
  for (const auto& row : rows) {
    CAPTURE(to_string(row.standard));
    const fleet_share v{category, fuel::diesel, row.standard, 1};
    CHECK(std::abs(nox(v, 86) - row.nox_g_km) <= one_unit);
    CHECK(std::abs(pm25(v, 86) - row.pm_g_km) <= one_unit);
    CHECK(std::abs(twin::env::fuel_factor_g_km(v, 86) - row.fc_g_km) <= fuel_units * one_unit);
  }
}

const fleet_share diesel_euro_5{vehicle_category::car, fuel::diesel, euro_standard::euro_5, 1};
const fleet_share diesel_euro_6{vehicle_category::car, fuel::diesel, euro_standard::euro_6, 1};
const fleet_share petrol_euro_6{vehicle_category::car, fuel::petrol, euro_standard::euro_6, 1};
const fleet_share bus_euro_vi{vehicle_category::bus, fuel::diesel, euro_standard::euro_6, 1};

const double table_speeds_kmh[] = {20, 30, 50, 90, 100, 120};

}  // namespace

TEST_CASE("passenger car NOx matches the Guidebook annex equation 1 tables") {
  const char* diesel_5[] = {"0.79008", "0.67371", "0.5368", "0.50008", "0.54223", "0.72318"};
  const char* diesel_6[] = {"0.27306", "0.23575", "0.1845", "0.16862", "0.18666", "0.27885"};
  const char* petrol_6[] = {"0.045052", "0.037903", "0.027853", "0.015888", "0.013822", "0.010365"};
  for (std::size_t i = 0; i < 6; ++i) {
    CAPTURE(table_speeds_kmh[i]);
    check_printed(nox(diesel_euro_5, table_speeds_kmh[i]), diesel_5[i]);
    check_printed(nox(diesel_euro_6, table_speeds_kmh[i]), diesel_6[i]);
    check_printed(nox(petrol_euro_6, table_speeds_kmh[i]), petrol_6[i]);
  }
  // Taxis are passenger cars.
  fleet_share taxi = diesel_euro_5;
  taxi.category = vehicle_category::taxi;
  CHECK(nox(taxi, 50) == nox(diesel_euro_5, 50));
}

TEST_CASE("the Euro VI urban bus matches the heavy-duty annex") {
  check_printed(nox(bus_euro_vi, 30), "0.45382");
  check_printed(pm25(bus_euro_vi, 30), "0.00448");
  check_printed(twin::env::fuel_factor_g_km(bus_euro_vi, 30), "276.90");
  check_printed(nox(bus_euro_vi, 50), "0.24311");
  check_printed(pm25(bus_euro_vi, 50), "0.00338");
  check_printed(twin::env::fuel_factor_g_km(bus_euro_vi, 50), "228.56");
  // CO2 comes from the fuel: 3.169 g per g of diesel.
  auto f = twin::env::exhaust_factor_g_km(bus_euro_vi, 50);
  CHECK(f[index(pollutant::co2)] == doctest::Approx(twin::env::fuel_factor_g_km(bus_euro_vi, 50) *
                                                    twin::env::co2_per_g_fuel(fuel::diesel)));
}

TEST_CASE("lorries are the heavy-duty annex Rigid 14-20 t rows, 50 % load, 0 % slope") {
  auto lorry = [](euro_standard s) {
    return fleet_share{vehicle_category::heavy_goods, fuel::diesel, s, 1};
  };
  auto range = twin::env::valid_speed_range(lorry(euro_standard::euro_6));
  CHECK(range.min_kmh == 12);
  CHECK(range.max_kmh == 86);

  // The annex tabulates each row's function at its maximum speed, 86 km/h, to five decimals
  // (computed by the spreadsheet, so its last digit may differ by one unit from exact arithmetic).
  const annex_row at_86_kmh[] = {
      {euro_standard::pre_euro, 9.11560, 0.29048, 191.93209},
      {euro_standard::euro_1, 5.35586, 0.17536, 164.12766},
      {euro_standard::euro_2, 5.77336, 0.12946, 160.12471},
      {euro_standard::euro_3, 4.34359, 0.08713, 164.23036},
      {euro_standard::euro_4, 3.12439, 0.02329, 161.86146},  // Euro IV EGR
      {euro_standard::euro_5, 1.25724, 0.01627, 153.97675},  // Euro V SCR
      {euro_standard::euro_6, 0.11240, 0.00233, 158.15977},
  };
  check_annex_at_86_kmh(vehicle_category::heavy_goods, at_86_kmh, 1);

  // At 30 km/h, by hand from the coefficients:
  // Euro VI NOx, function 0, a b^V V^c: 28.8606129647 x 0.97939027^30 x 30^-0.8434920503
  //   = 28.8606129647 x 0.5353941 x 0.0567623 = 0.877080 g/km.
  CHECK(nox(lorry(euro_standard::euro_6), 30) == doctest::Approx(0.877080).epsilon(1e-6));
  // Euro V SCR NOx, function 10, a + b / (1 + exp(-c + d ln V + e V)):
  //   z = 0.6580649779 + 0.4803744205 x ln 30 + 0.0023723269 x 30 = 2.363083, exp z = 10.623654,
  //   -5.4537349609 + 141.7527624873 / 11.623654 = 6.741463 g/km.
  CHECK(nox(lorry(euro_standard::euro_5), 30) == doctest::Approx(6.741463).epsilon(1e-6));
  // Euro VI PM, function 5, 1 / (c V^2 + b V + a):
  //   1 / (-0.0588829599 x 900 + 9.4040616518 x 30 + 55.0512698807) = 1 / 284.178456 = 0.00351892.
  CHECK(pm25(lorry(euro_standard::euro_6), 30) == doctest::Approx(0.00351892).epsilon(1e-6));
  // Euro VI fuel, function 0: 2156.5530357824 x 1.0086369691^30 x 30^-0.7525795586
  //   = 2156.5530357824 x 1.2943343 x 0.0773301 = 215.8516 g/km; CO2 = 3.169 g per g of diesel.
  CHECK(twin::env::fuel_factor_g_km(lorry(euro_standard::euro_6), 30) ==
        doctest::Approx(215.8516).epsilon(1e-6));
  CHECK(twin::env::exhaust_factor_g_km(lorry(euro_standard::euro_6), 30)[index(pollutant::co2)] ==
        doctest::Approx(215.8516 * twin::env::co2_per_g_fuel(fuel::diesel)).epsilon(1e-6));

  // Outside 12..86 km/h the curves are clamped, and lorries no longer follow the bus.
  CHECK(nox(lorry(euro_standard::euro_6), 5) == nox(lorry(euro_standard::euro_6), 12));
  CHECK(nox(lorry(euro_standard::euro_6), 100) == nox(lorry(euro_standard::euro_6), 86));
  CHECK(nox(lorry(euro_standard::euro_6), 50) != nox(bus_euro_vi, 50));
  // Every newer lorry standard emits less NOx than the conventional one at urban speed.
  for (std::size_t s = 1; s < twin::euro_standard_count; ++s)
    CHECK(nox(lorry(static_cast<euro_standard>(s)), 30) < nox(lorry(euro_standard::pre_euro), 30));
}

TEST_CASE("urban buses are the heavy-duty annex Urban Buses Standard 15-18 t rows") {
  auto bus = [](euro_standard s) { return fleet_share{vehicle_category::bus, fuel::diesel, s, 1}; };
  auto range = twin::env::valid_speed_range(bus(euro_standard::euro_3));
  CHECK(range.min_kmh == 11);
  CHECK(range.max_kmh == 86);

  // The values the annex tabulates at 86 km/h (50 % load, 0 % slope), five decimals. NOx and PM
  // match to one unit of the last digit; the fuel of the cubic rows (Euro IV-VI) differs from
  // exact arithmetic by up to 3 units (relative 2e-7), so fuel is checked to 5 units.
  const annex_row at_86_kmh[] = {
      {euro_standard::pre_euro, 10.21314, 0.31248, 217.25319},
      {euro_standard::euro_1, 5.91549, 0.21672, 192.28722},
      {euro_standard::euro_2, 6.32990, 0.13795, 193.21229},
      {euro_standard::euro_3, 4.35091, 0.10787, 201.64219},
      {euro_standard::euro_4, 3.17245, 0.02690, 190.99033},  // Euro IV EGR
      {euro_standard::euro_5, 2.02649, 0.01824, 185.14965},  // Euro V SCR
      {euro_standard::euro_6, 0.15013, 0.00280, 189.86792},
  };
  check_annex_at_86_kmh(vehicle_category::bus, at_86_kmh, 5);

  // By hand from the coefficients, at 30 and 50 km/h:
  // Conventional NOx, function 0, a b^V V^c: 98.229633742 x 1.0040361649^30 x 30^-0.5859544908
  //   = 98.229633742 x 1.1284457 x 0.1362932 = 15.107666 g/km.
  CHECK(nox(bus(euro_standard::pre_euro), 30) == doctest::Approx(15.107666).epsilon(1e-6));
  // Euro I NOx, function 13, exp(a + b / V + c ln V):
  //   30 km/h: 3.3337196633 + 3.4086908485 / 30 - 0.3582527199 x ln 30 = 2.2288545,
  //   exp = 9.289219; 50 km/h: 3.3337196633 + 0.0681738 - 1.4014929 = 2.0004006, exp = 7.392017.
  CHECK(nox(bus(euro_standard::euro_1), 30) == doctest::Approx(9.289219).epsilon(1e-6));
  CHECK(nox(bus(euro_standard::euro_1), 50) == doctest::Approx(7.392017).epsilon(1e-6));
  // Euro I PM, function 8, a - b exp(-c V^d): 0.1292444166 x 30^0.8242521092 = 2.1327114,
  //   0.2088180608 + 1.2705851417 x exp(-2.1327114) = 0.2088180608 + 1.2705851417 x 0.1185155
  //   = 0.3594021 g/km.
  CHECK(pm25(bus(euro_standard::euro_1), 30) == doctest::Approx(0.3594021).epsilon(1e-6));
  // Euro III NOx, function 1, a V^b + c V^d:
  //   30 km/h: 574.6479678867 x 30^-1.9594665035 + 51.998882069 x 30^-0.5618018982
  //   = 0.7328790 + 7.6938636 = 8.4267425; 50 km/h: 0.2693563 + 5.7744342 = 6.0437904.
  CHECK(nox(bus(euro_standard::euro_3), 30) == doctest::Approx(8.4267425).epsilon(1e-6));
  CHECK(nox(bus(euro_standard::euro_3), 50) == doctest::Approx(6.0437904).epsilon(1e-6));
  // Euro V SCR NOx, function 14, a V^3 + b V^2 + c V + d at 30 km/h:
  //   -1.2756030 + 9.3579195 - 22.9431299 + 20.9456804 = 6.0848670; at 50 km/h 2.7957820.
  CHECK(nox(bus(euro_standard::euro_5), 30) == doctest::Approx(6.0848670).epsilon(1e-6));
  CHECK(nox(bus(euro_standard::euro_5), 50) == doctest::Approx(2.7957820).epsilon(1e-6));

  // Outside 11..86 km/h the curves are clamped.
  CHECK(nox(bus(euro_standard::euro_3), 5) == nox(bus(euro_standard::euro_3), 11));
  CHECK(nox(bus(euro_standard::euro_3), 100) == nox(bus(euro_standard::euro_3), 86));
  // Every newer bus standard emits less NOx than the conventional one at urban speed.
  for (std::size_t s = 1; s < twin::euro_standard_count; ++s)
    CHECK(nox(bus(static_cast<euro_standard>(s)), 30) < nox(bus(euro_standard::pre_euro), 30));
  // Gas lorries have no annex rows: the diesel pollutant curves, fuel by energy (43.0 / 48.0).
  fleet_share cng_lorry{vehicle_category::heavy_goods, fuel::cng, euro_standard::euro_5, 1};
  fleet_share diesel_lorry{vehicle_category::heavy_goods, fuel::diesel, euro_standard::euro_5, 1};
  CHECK(nox(cng_lorry, 30) == nox(diesel_lorry, 30));
  CHECK(twin::env::fuel_factor_g_km(cng_lorry, 30) ==
        doctest::Approx(twin::env::fuel_factor_g_km(diesel_lorry, 30) * 43.0 / 48.0));
}

TEST_CASE("motorcycles follow the Guidebook 4-stroke 50-250 cm3 curves") {
  auto moto = [](euro_standard s) {
    return fleet_share{vehicle_category::motorcycle, fuel::petrol, s, 1};
  };
  auto range = twin::env::valid_speed_range(moto(euro_standard::euro_3));
  CHECK(range.min_kmh == 10);
  CHECK(range.max_kmh == 100);

  // a0 + a1 V + a2 V^2 + a3 V^3 + a4 V^4 + a5 V^5, by hand.
  // Euro 3 NOx at 20 km/h: 0.319 - 0.218 + 0.1632 - 0.05488 + 0.009616 - 0.000624 = 0.218312;
  //   at 50 km/h: 0.319 - 0.545 + 1.02 - 0.8575 + 0.375625 - 0.0609375 = 0.2511875.
  CHECK(nox(moto(euro_standard::euro_3), 20) == doctest::Approx(0.218312).epsilon(1e-9));
  CHECK(nox(moto(euro_standard::euro_3), 50) == doctest::Approx(0.2511875).epsilon(1e-9));
  // Conventional NOx at 20 km/h: 0.348 - 0.34 + 0.3292 - 0.1232 + 0.02192 - 0.001472 = 0.234448;
  //   at 50 km/h: 0.348 - 0.85 + 2.0575 - 1.925 + 0.85625 - 0.14375 = 0.343.
  CHECK(nox(moto(euro_standard::pre_euro), 20) == doctest::Approx(0.234448).epsilon(1e-9));
  CHECK(nox(moto(euro_standard::pre_euro), 50) == doctest::Approx(0.343).epsilon(1e-9));
  // Euro 3 fuel at 20 km/h: 59.3 - 61 + 37.08 - 11.44 + 1.776 - 0.10944 = 25.60656 g/km;
  //   at 50 km/h: 59.3 - 152.5 + 231.75 - 178.75 + 69.375 - 10.6875 = 18.4875 g/km.
  CHECK(twin::env::fuel_factor_g_km(moto(euro_standard::euro_3), 20) ==
        doctest::Approx(25.60656).epsilon(1e-9));
  CHECK(twin::env::fuel_factor_g_km(moto(euro_standard::euro_3), 50) ==
        doctest::Approx(18.4875).epsilon(1e-9));
  CHECK(twin::env::exhaust_factor_g_km(moto(euro_standard::euro_3), 50)[index(pollutant::co2)] ==
        doctest::Approx(18.4875 * twin::env::co2_per_g_fuel(fuel::petrol)));
  // PM: the annex constants (0.02 g/km conventional and Euro 1, 0.005 Euro 2 and 3).
  CHECK(pm25(moto(euro_standard::pre_euro), 30) == doctest::Approx(0.02));
  CHECK(pm25(moto(euro_standard::euro_3), 30) == doctest::Approx(0.005));
  // Euro 4 and 5: the 2016 annex rows (see the test of the later rows).
  CHECK(nox(moto(euro_standard::euro_4), 20) != nox(moto(euro_standard::euro_3), 20));
  CHECK(pm25(moto(euro_standard::euro_5), 50) == doctest::Approx(0.005));
  // Clamped to 10..100 km/h; mopeds keep their speed-independent factors.
  CHECK(nox(moto(euro_standard::euro_3), 5) == nox(moto(euro_standard::euro_3), 10));
  CHECK(nox(moto(euro_standard::euro_3), 120) == nox(moto(euro_standard::euro_3), 100));
  fleet_share moped{vehicle_category::moped, fuel::petrol, euro_standard::euro_3, 1};
  CHECK(nox(moped, 20) == doctest::Approx(0.17));
  CHECK(nox(moped, 60) == nox(moped, 20));
}

TEST_CASE("diesel vans Euro 5 and 6 follow the light-duty annex Diesel < 3.5 t rows") {
  auto van = [](euro_standard s) {
    return fleet_share{vehicle_category::light_goods, fuel::diesel, s, 1};
  };
  auto range = twin::env::valid_speed_range(van(euro_standard::euro_6));
  CHECK(range.min_kmh == 10);
  CHECK(range.max_kmh == 110);

  // Equation 1, (a + cV + eV^2 + f/V) / (1 + bV + dV^2), by hand:
  // Euro 5 NOx at 20 km/h: 0.531660675 / 0.734639897 = 0.723702424;
  //   at 50 km/h: 0.262551106 / 0.421841475 = 0.622392823.
  CHECK(nox(van(euro_standard::euro_5), 20) == doctest::Approx(0.723702424).epsilon(1e-7));
  CHECK(nox(van(euro_standard::euro_5), 50) == doctest::Approx(0.622392823).epsilon(1e-7));
  // Euro 6 NOx at 20 km/h: 0.189234813 / 0.733655326 = 0.257934219;
  //   at 50 km/h: 0.092635018 / 0.419858501 = 0.220633899.
  CHECK(nox(van(euro_standard::euro_6), 20) == doctest::Approx(0.257934219).epsilon(1e-7));
  CHECK(nox(van(euro_standard::euro_6), 50) == doctest::Approx(0.220633899).epsilon(1e-7));
  // Euro 6 PM, equation 12, 1 / (c V^2 + b V + a): at 20 km/h 1 / 610.6590541 = 0.001637575;
  //   at 50 km/h 1 / 1126.0951880 = 0.000888024.
  CHECK(pm25(van(euro_standard::euro_6), 20) == doctest::Approx(0.001637575).epsilon(1e-6));
  CHECK(pm25(van(euro_standard::euro_6), 50) == doctest::Approx(0.000888024).epsilon(1e-6));
  // Euro 5 fuel, equation 9, a V^b + c V^d: at 20 km/h 89.315911 + 0.986900 = 90.302812 g/km;
  //   at 50 km/h 56.688606 + 7.199265 = 63.887871 g/km.
  CHECK(twin::env::fuel_factor_g_km(van(euro_standard::euro_5), 20) ==
        doctest::Approx(90.302812).epsilon(1e-7));
  CHECK(twin::env::fuel_factor_g_km(van(euro_standard::euro_5), 50) ==
        doctest::Approx(63.887871).epsilon(1e-7));
  // Vans no longer follow the diesel car curves.
  CHECK(nox(van(euro_standard::euro_5), 50) != nox(diesel_euro_5, 50));
  CHECK(nox(van(euro_standard::euro_5), 200) == nox(van(euro_standard::euro_5), 110));
}

// The rows of the Guidebook 2016 annex, (Alpha V^2 + Beta V + Gamma + Delta / V) /
// (Epsilon V^2 + Zita V + Hta), by hand as numerator / denominator; fuel = EC x 1000 / NCV.
TEST_CASE("diesel car fuel follows the annex energy rows of the Medium class") {
  auto car = [](euro_standard s) { return fleet_share{vehicle_category::car, fuel::diesel, s, 1}; };
  // Euro 3-6 (one row): at 20 km/h 20.3487701 / 7.48623783 = 2.71815705 MJ/km = 63.2129547 g/km
  //   at 43.0 MJ/kg; at 50 km/h 24.2693875 / 12.3828296 = 1.95992259 MJ/km = 45.5795951 g/km.
  for (auto s : {euro_standard::euro_3, euro_standard::euro_5, euro_standard::euro_6}) {
    CAPTURE(to_string(s));
    CHECK(twin::env::fuel_factor_g_km(car(s), 20) == doctest::Approx(63.2129547).epsilon(1e-8));
    CHECK(twin::env::fuel_factor_g_km(car(s), 50) == doctest::Approx(45.5795951).epsilon(1e-8));
  }
  // Euro 1: 15.9170994 / 5.71787263 = 2.78374501 MJ/km = 64.7382562 g/km at 20 km/h;
  //   17.4859384 / 9.20471339 = 1.89967223 MJ/km = 44.1784240 g/km at 50 km/h.
  CHECK(twin::env::fuel_factor_g_km(car(euro_standard::euro_1), 20) ==
        doctest::Approx(64.7382562).epsilon(1e-8));
  CHECK(twin::env::fuel_factor_g_km(car(euro_standard::euro_1), 50) ==
        doctest::Approx(44.1784240).epsilon(1e-8));
  CHECK(twin::env::exhaust_factor_g_km(car(euro_standard::euro_5), 50)[index(pollutant::co2)] ==
        doctest::Approx(45.5795951 * twin::env::co2_per_g_fuel(fuel::diesel)).epsilon(1e-8));
  // Euro 2 and conventional have their own rows.
  CHECK(twin::env::fuel_factor_g_km(car(euro_standard::euro_2), 50) !=
        twin::env::fuel_factor_g_km(car(euro_standard::euro_1), 50));
  CHECK(twin::env::fuel_factor_g_km(car(euro_standard::pre_euro), 50) !=
        twin::env::fuel_factor_g_km(car(euro_standard::euro_1), 50));
}

TEST_CASE("LPG, CNG and hybrid cars follow their annex rows") {
  auto car = [](fuel f, euro_standard s) { return fleet_share{vehicle_category::car, f, s, 1}; };
  // LPG Euro 4 NOx: 0.421164493 / 5.43052047 = 0.077555088 at 20 km/h; 0.244726883 / 5.43052047
  //   = 0.045065088 at 50 km/h.
  CHECK(nox(car(fuel::lpg, euro_standard::euro_4), 20) ==
        doctest::Approx(0.077555088).epsilon(1e-7));
  CHECK(nox(car(fuel::lpg, euro_standard::euro_4), 50) ==
        doctest::Approx(0.045065088).epsilon(1e-7));
  // LPG energy (every standard): 21.8053199 / 7.9363967 = 2.74750882 MJ/km at 20 km/h, 59.005 g/km
  //   at 46.564 MJ/kg; 17.1378987 / 7.9363967 = 2.1594055 MJ/km at 50 km/h, 46.375 g/km.
  for (auto s : {euro_standard::euro_1, euro_standard::euro_6}) {
    CHECK(twin::env::fuel_factor_g_km(car(fuel::lpg, s), 20) ==
          doctest::Approx(59.005).epsilon(1e-8));
    CHECK(twin::env::fuel_factor_g_km(car(fuel::lpg, s), 50) ==
          doctest::Approx(46.375).epsilon(1e-8));
  }
  // LPG PM: the urban constants, 0.00322 g/km Euro 1-2 and 0.00128 Euro 3-6.
  CHECK(pm25(car(fuel::lpg, euro_standard::euro_2), 40) == doctest::Approx(0.00322));
  CHECK(pm25(car(fuel::lpg, euro_standard::euro_6), 40) == doctest::Approx(0.00128));
  CHECK(twin::env::co2_per_g_fuel(fuel::lpg) == doctest::Approx(44.011 / (12.011 + 1.008 * 2.525)));

  // CNG energy: 17.3706999 / 4.88327801 = 3.55718021 MJ/km = 74.1079211 g/km at 48 MJ/kg (20
  //   km/h); 20.1259101 / 8.18645694 = 2.45843962 MJ/km = 51.2174922 g/km (50 km/h). NOx and PM
  //   are the LPG rows, as in the annex.
  CHECK(twin::env::fuel_factor_g_km(car(fuel::cng, euro_standard::euro_5), 20) ==
        doctest::Approx(74.1079211).epsilon(1e-8));
  CHECK(twin::env::fuel_factor_g_km(car(fuel::cng, euro_standard::euro_5), 50) ==
        doctest::Approx(51.2174922).epsilon(1e-8));
  CHECK(nox(car(fuel::cng, euro_standard::euro_4), 50) ==
        nox(car(fuel::lpg, euro_standard::euro_4), 50));

  // Hybrid NOx (Euro 4 and later): 0.103440155 / 16.587581 = 0.006236 at 30 km/h and
  //   0.220614827 / 16.587581 = 0.0133 at 50 km/h; negative below about 17 km/h, so 0 there.
  const auto hybrid = car(fuel::hybrid, euro_standard::euro_6);
  CHECK(nox(hybrid, 30) == doctest::Approx(0.006236).epsilon(1e-6));
  CHECK(nox(hybrid, 50) == doctest::Approx(0.0133).epsilon(1e-6));
  CHECK(nox(hybrid, 10) == 0);
  // Hybrid energy: 788.507652 / 565.721886 = 1.39380793 MJ/km = 31.841 g/km at 43.774 MJ/kg (30
  //   km/h); 760.871129 / 565.721886 = 1.34495615 MJ/km = 30.725 g/km (50 km/h).
  CHECK(twin::env::fuel_factor_g_km(hybrid, 30) == doctest::Approx(31.841).epsilon(1e-8));
  CHECK(twin::env::fuel_factor_g_km(hybrid, 50) == doctest::Approx(30.725).epsilon(1e-8));
  // No hybrid PM row: the petrol car PM of the standard.
  CHECK(pm25(hybrid, 50) == pm25(car(fuel::petrol, euro_standard::euro_6), 50));
}

TEST_CASE("petrol car PM of Euro 1-4 is the annex urban constant") {
  auto car = [](euro_standard s) { return fleet_share{vehicle_category::car, fuel::petrol, s, 1}; };
  for (double speed : {20.0, 50.0}) {
    CHECK(pm25(car(euro_standard::pre_euro), speed) == doctest::Approx(0.00322));
    CHECK(pm25(car(euro_standard::euro_1), speed) == doctest::Approx(0.00322));
    CHECK(pm25(car(euro_standard::euro_2), speed) == doctest::Approx(0.00322));
    CHECK(pm25(car(euro_standard::euro_3), speed) == doctest::Approx(0.00128));
    CHECK(pm25(car(euro_standard::euro_4), speed) == doctest::Approx(0.00128));
  }
  // Euro 5 keeps the Table 3-41 curve.
  CHECK(pm25(car(euro_standard::euro_5), 50) != doctest::Approx(0.00128));
}

TEST_CASE("vans up to Euro 4 follow Tables 3-59 to 3-63") {
  auto van = [](fuel f, euro_standard s) {
    return fleet_share{vehicle_category::light_goods, f, s, 1};
  };
  // Petrol NOx, conventional 0.0179 V + 1.9547: 2.3127 at 20 km/h, 2.8497 at 50 km/h.
  CHECK(nox(van(fuel::petrol, euro_standard::pre_euro), 20) == doctest::Approx(2.3127));
  CHECK(nox(van(fuel::petrol, euro_standard::pre_euro), 50) == doctest::Approx(2.8497));
  // Euro 1, 7.55e-5 V^2 - 0.009 V + 0.666: 0.0302 - 0.18 + 0.666 = 0.5162 at 20 km/h,
  //   0.18875 - 0.45 + 0.666 = 0.40475 at 50 km/h; Euro 2, 3, 4: minus 66, 79, 90 %.
  CHECK(nox(van(fuel::petrol, euro_standard::euro_1), 20) == doctest::Approx(0.5162));
  CHECK(nox(van(fuel::petrol, euro_standard::euro_1), 50) == doctest::Approx(0.40475));
  CHECK(nox(van(fuel::petrol, euro_standard::euro_2), 20) == doctest::Approx(0.5162 * 0.34));
  CHECK(nox(van(fuel::petrol, euro_standard::euro_3), 50) == doctest::Approx(0.40475 * 0.21));
  CHECK(nox(van(fuel::petrol, euro_standard::euro_4), 50) == doctest::Approx(0.40475 * 0.10));
  // Petrol fuel, conventional 0.0167 V^2 - 2.649 V + 161.51: 6.68 - 52.98 + 161.51 = 115.21 at
  //   20 km/h, 41.75 - 132.45 + 161.51 = 70.81 at 50 km/h; Euro 1 and later 0.0195 V^2 - 3.09 V +
  //   188.85: 7.8 - 61.8 + 188.85 = 134.85 at 20 km/h.
  CHECK(twin::env::fuel_factor_g_km(van(fuel::petrol, euro_standard::pre_euro), 20) ==
        doctest::Approx(115.21));
  CHECK(twin::env::fuel_factor_g_km(van(fuel::petrol, euro_standard::pre_euro), 50) ==
        doctest::Approx(70.81));
  CHECK(twin::env::fuel_factor_g_km(van(fuel::petrol, euro_standard::euro_4), 20) ==
        doctest::Approx(134.85));
  // Petrol PM: the car constants, which the annex gives its petrol vans too.
  CHECK(pm25(van(fuel::petrol, euro_standard::euro_2), 30) == doctest::Approx(0.00322));

  // Diesel Euro 1 NOx 24.1e-5 V^2 - 0.03181 V + 2.0247: 1.4849 at 20 km/h, 1.0367 at 50 km/h; PM
  //   4.5e-5 V^2 - 0.004885 V + 0.1932: 0.1135 and 0.06145. Euro 2 = Euro 1; Euro 3 minus 16 %
  //   NOx and 33 % PM; Euro 4 minus 32 % and 65 %.
  CHECK(nox(van(fuel::diesel, euro_standard::euro_2), 20) == doctest::Approx(1.4849));
  CHECK(pm25(van(fuel::diesel, euro_standard::euro_2), 50) == doctest::Approx(0.06145));
  CHECK(nox(van(fuel::diesel, euro_standard::euro_3), 20) == doctest::Approx(1.4849 * 0.84));
  CHECK(pm25(van(fuel::diesel, euro_standard::euro_3), 50) == doctest::Approx(0.06145 * 0.67));
  CHECK(nox(van(fuel::diesel, euro_standard::euro_4), 50) == doctest::Approx(1.0367 * 0.68));
  CHECK(pm25(van(fuel::diesel, euro_standard::euro_4), 20) == doctest::Approx(0.1135 * 0.35));
}

TEST_CASE("Euro 4 and 5 motorcycles follow the annex 4-stroke <250 cm3 NOx rows") {
  auto moto = [](euro_standard s) {
    return fleet_share{vehicle_category::motorcycle, fuel::petrol, s, 1};
  };
  // Euro 4: 33.9285215 / 1235.14381 = 0.0274692884 at 20 km/h; 557.475027 / 16651.4414 =
  //   0.0334790854 at 50 km/h.
  CHECK(nox(moto(euro_standard::euro_4), 20) == doctest::Approx(0.0274692884).epsilon(1e-8));
  CHECK(nox(moto(euro_standard::euro_4), 50) == doctest::Approx(0.0334790854).epsilon(1e-8));
  // Euro 5 (and euro_6, read as Euro 5): 4.96874242 / 274.439996 = 0.0181050229 at 20 km/h;
  //   62.8726177 / 2828.44194 = 0.0222287108 at 50 km/h.
  for (auto s : {euro_standard::euro_5, euro_standard::euro_6}) {
    CHECK(nox(moto(s), 20) == doctest::Approx(0.0181050229).epsilon(1e-8));
    CHECK(nox(moto(s), 50) == doctest::Approx(0.0222287108).epsilon(1e-8));
    CHECK(pm25(moto(s), 50) == doctest::Approx(0.005));
  }
  // The annex energy row of Euro 4 and 5 has a pole inside 10-100 km/h: the Euro 3 fuel is kept.
  CHECK(twin::env::fuel_factor_g_km(moto(euro_standard::euro_4), 50) ==
        twin::env::fuel_factor_g_km(moto(euro_standard::euro_3), 50));
}

TEST_CASE("CNG urban buses follow the 2019 annex Urban CNG Buses rows") {
  auto bus = [](euro_standard s) { return fleet_share{vehicle_category::bus, fuel::cng, s, 1}; };
  // Euro I, II, III constants (pre-Euro as Euro I).
  for (double speed : {20.0, 60.0}) {
    CHECK(nox(bus(euro_standard::pre_euro), speed) == doctest::Approx(16.5));
    CHECK(nox(bus(euro_standard::euro_1), speed) == doctest::Approx(16.5));
    CHECK(nox(bus(euro_standard::euro_2), speed) == doctest::Approx(15.0));
    CHECK(nox(bus(euro_standard::euro_3), speed) == doctest::Approx(10.0));
    CHECK(pm25(bus(euro_standard::euro_1), speed) == doctest::Approx(0.02));
    CHECK(pm25(bus(euro_standard::euro_3), speed) == doctest::Approx(0.01));
    CHECK(twin::env::fuel_factor_g_km(bus(euro_standard::euro_1), speed) == doctest::Approx(555));
    CHECK(twin::env::fuel_factor_g_km(bus(euro_standard::euro_2), speed) == doctest::Approx(515));
    CHECK(twin::env::fuel_factor_g_km(bus(euro_standard::euro_3), speed) == doctest::Approx(455));
  }
  // EEV, used for Euro IV-VI: NOx 33.1492696 / 10.1549877 = 3.26433379 at 30 km/h,
  //   59.7091366 / 24.1072098 = 2.47681656 at 50 km/h; PM 1.34210243 / 149.498968 = 0.00897733574
  //   at 30 km/h, 1.42180841 / 201.566718 = 0.00705378559 at 50 km/h; energy 8.24253845 /
  //   0.509886003 = 16.1654534 MJ/km = 336.780280 g/km at 48 MJ/kg (30 km/h) and 9.0588256 /
  //   0.698661625 = 12.9659699 MJ/km = 270.124373 g/km (50 km/h).
  for (auto s : {euro_standard::euro_4, euro_standard::euro_5, euro_standard::euro_6}) {
    CAPTURE(to_string(s));
    CHECK(nox(bus(s), 30) == doctest::Approx(3.26433379).epsilon(1e-8));
    CHECK(nox(bus(s), 50) == doctest::Approx(2.47681656).epsilon(1e-8));
    CHECK(pm25(bus(s), 30) == doctest::Approx(0.00897733574).epsilon(1e-8));
    CHECK(pm25(bus(s), 50) == doctest::Approx(0.00705378559).epsilon(1e-8));
    CHECK(twin::env::fuel_factor_g_km(bus(s), 30) == doctest::Approx(336.780280).epsilon(1e-8));
    CHECK(twin::env::fuel_factor_g_km(bus(s), 50) == doctest::Approx(270.124373).epsilon(1e-8));
  }
  CHECK(twin::env::exhaust_factor_g_km(bus(euro_standard::euro_6), 50)[index(pollutant::co2)] ==
        doctest::Approx(270.124373 * twin::env::co2_per_g_fuel(fuel::cng)).epsilon(1e-8));
  CHECK(twin::env::valid_speed_range(bus(euro_standard::euro_6)).max_kmh == 86);
}

TEST_CASE("CO2 per gram of fuel follows the carbon balance") {
  check_printed(twin::env::co2_per_g_fuel(fuel::diesel), "3.169");
  check_printed(twin::env::co2_per_g_fuel(fuel::petrol), "3.183");
  CHECK(twin::env::co2_per_g_fuel(fuel::hybrid) == twin::env::co2_per_g_fuel(fuel::petrol));
  CHECK(twin::env::co2_per_g_fuel(fuel::electric) == 0);
}

TEST_CASE("electric vehicles emit no exhaust but do wear tyres, brakes and roads") {
  for (auto c : {vehicle_category::car, vehicle_category::bus, vehicle_category::motorcycle}) {
    fleet_share ev{c, fuel::electric, euro_standard::euro_6, 1};
    auto exhaust = twin::env::exhaust_factor_g_km(ev, 40);
    CHECK(exhaust[index(pollutant::nox)] == 0);
    CHECK(exhaust[index(pollutant::pm25)] == 0);
    CHECK(exhaust[index(pollutant::co2)] == 0);
    CHECK(twin::env::fuel_factor_g_km(ev, 40) == 0);
    fleet_mix only_ev{{ev}};
    CHECK(twin::env::fleet_factor_g_km(only_ev, 40).g_km[index(pollutant::pm25)] ==
          twin::env::non_exhaust_factor_g_km(c)[index(pollutant::pm25)]);
  }
}

TEST_CASE("non-exhaust PM2.5 is the Guidebook wear factors times the PM2.5 fractions") {
  auto pm = [](vehicle_category c) {
    auto f = twin::env::non_exhaust_factor_g_km(c);
    CHECK(f[index(pollutant::nox)] == 0);
    CHECK(f[index(pollutant::co2)] == 0);
    return f[index(pollutant::pm25)];
  };
  // Tyre 0.0107 x 0.42 + brake 0.0075 x 0.39 + road 0.015 x 0.27.
  CHECK(pm(vehicle_category::car) == doctest::Approx(0.011469));
  CHECK(pm(vehicle_category::taxi) == pm(vehicle_category::car));
  CHECK(pm(vehicle_category::light_goods) ==
        doctest::Approx(0.0169 * 0.42 + 0.0117 * 0.39 + 0.015 * 0.27));
  CHECK(pm(vehicle_category::motorcycle) == doctest::Approx(0.004995));
  // Heavy: tyre (axles / 2) x 2.1 x 0.0107, brake 3.13 x 1.395 x 0.0075, road 0.076.
  CHECK(pm(vehicle_category::bus) ==
        doctest::Approx(2.1 * 0.0107 * 0.42 + 3.13 * 1.395 * 0.0075 * 0.39 + 0.076 * 0.27));
  CHECK(pm(vehicle_category::heavy_goods) > pm(vehicle_category::bus));
}

TEST_CASE("speeds outside a curve's range are clamped to it") {
  auto r = twin::env::valid_speed_range(diesel_euro_5);
  CHECK(r.min_kmh == 10);
  CHECK(r.max_kmh == 130);
  CHECK(nox(diesel_euro_5, 2) == nox(diesel_euro_5, 10));
  CHECK(nox(diesel_euro_5, 200) == nox(diesel_euro_5, 130));
  CHECK(nox(bus_euro_vi, 0) == nox(bus_euro_vi, twin::env::valid_speed_range(bus_euro_vi).min_kmh));
}

TEST_CASE("every class gives finite, non-negative factors over its range") {
  for (std::size_t c = 0; c < twin::vehicle_category_count; ++c)
    for (std::size_t f = 0; f < twin::fuel_count; ++f)
      for (std::size_t s = 0; s < twin::euro_standard_count; ++s) {
        fleet_share v{static_cast<vehicle_category>(c), static_cast<fuel>(f),
                      static_cast<euro_standard>(s), 1};
        for (double speed : {5.0, 10.0, 25.0, 50.0, 80.0, 110.0, 140.0}) {
          auto e = twin::env::exhaust_factor_g_km(v, speed);
          for (double x : e) {
            INFO(to_string(v.category)
                 << " " << to_string(v.f) << " " << to_string(v.standard) << " at " << speed);
            CHECK(std::isfinite(x));
            CHECK(x >= 0);
          }
          if (v.f != fuel::electric) CHECK(twin::env::fuel_factor_g_km(v, speed) > 0);
        }
      }
  // Newer standards emit less NOx than the oldest where the Guidebook curves say so.
  fleet_share euro_1 = diesel_euro_5;
  euro_1.standard = euro_standard::euro_1;
  CHECK(nox(diesel_euro_6, 50) < nox(euro_1, 50));
}

TEST_CASE("link emissions are flow x factor x length") {
  fleet_mix mix{{{vehicle_category::car, fuel::diesel, euro_standard::euro_5, 0.75},
                 {vehicle_category::bus, fuel::diesel, euro_standard::euro_6, 0.25}}};
  const double flow_veh_h = 1200;
  const double speed_kmh = 50;
  const double length_m = 500;
  auto link = twin::env::link_emissions(mix, flow_veh_h, speed_kmh, length_m);

  // By hand: vehicles per second x grams per metre per vehicle x metres.
  double car_nox = 0.536801;  // g/km, diesel Euro 5 at 50 km/h
  double bus_nox = 0.243112;  // g/km, Euro VI bus at 50 km/h
  double nox_g_km = 0.75 * car_nox + 0.25 * bus_nox;
  double expected_nox_g_s = flow_veh_h / 3600.0 * nox_g_km / 1000.0 * length_m;
  CHECK(link.g_s[index(pollutant::nox)] == doctest::Approx(expected_nox_g_s).epsilon(1e-5));
  CHECK(link.g_m_s[index(pollutant::nox)] ==
        doctest::Approx(expected_nox_g_s / length_m).epsilon(1e-5));

  double pm_g_km =
      0.75 * (pm25(mix.shares[0], 50) +
              twin::env::non_exhaust_factor_g_km(vehicle_category::car)[index(pollutant::pm25)]) +
      0.25 * (pm25(mix.shares[1], 50) +
              twin::env::non_exhaust_factor_g_km(vehicle_category::bus)[index(pollutant::pm25)]);
  CHECK(link.g_s[index(pollutant::pm25)] ==
        doctest::Approx(flow_veh_h / 3600.0 * pm_g_km / 1000.0 * length_m));

  double fuel_g_km = 0.75 * twin::env::fuel_factor_g_km(mix.shares[0], 50) +
                     0.25 * twin::env::fuel_factor_g_km(mix.shares[1], 50);
  CHECK(link.fuel_g_s == doctest::Approx(flow_veh_h / 3600.0 * fuel_g_km / 1000.0 * length_m));
  CHECK(link.g_s[index(pollutant::co2)] ==
        doctest::Approx(link.fuel_g_s * twin::env::co2_per_g_fuel(fuel::diesel)));

  auto none = twin::env::link_emissions(mix, 0, speed_kmh, length_m);
  CHECK(none.g_s[index(pollutant::nox)] == 0);
  CHECK(none.fuel_g_s == 0);
}

TEST_CASE("fleet policies") {
  // 40 % petrol Euro 6 cars, 30 % diesel Euro 4 cars, 20 % diesel Euro 3 lorries, 10 % electric
  // motorcycles.
  fleet_mix mix{{{vehicle_category::car, fuel::petrol, euro_standard::euro_6, 0.4},
                 {vehicle_category::car, fuel::diesel, euro_standard::euro_4, 0.3},
                 {vehicle_category::heavy_goods, fuel::diesel, euro_standard::euro_3, 0.2},
                 {vehicle_category::motorcycle, fuel::electric, euro_standard::euro_5, 0.1}}};

  SUBCASE("a ban of diesel lorries removes their vehicle-km and renormalises") {
    twin::env::vehicle_filter lorries;
    lorries.category = vehicle_category::heavy_goods;
    lorries.f = fuel::diesel;
    auto r = twin::env::ban(mix, lorries);
    CHECK(r.flow_factor == doctest::Approx(0.8));
    REQUIRE(r.mix.shares.size() == 3);
    CHECK(r.mix.shares[0].share == doctest::Approx(0.5));
    CHECK(r.mix.shares[1].share == doctest::Approx(0.375));
    CHECK(r.mix.shares[2].share == doctest::Approx(0.125));
    CHECK_FALSE(twin::validate(r.mix).has_value());
  }
  SUBCASE("a ban by standard never touches electric vehicles") {
    twin::env::vehicle_filter old;
    old.standard_below = euro_standard::euro_6;
    auto r = twin::env::ban(mix, old);
    CHECK(r.flow_factor == doctest::Approx(0.5));
    REQUIRE(r.mix.shares.size() == 2);
    CHECK(r.mix.shares[0].share == doctest::Approx(0.8));
    CHECK(r.mix.shares[1].f == fuel::electric);
    CHECK(r.mix.shares[1].share == doctest::Approx(0.2));
  }
  SUBCASE("a ban by predicate") {
    auto r = twin::env::ban(mix, [](const fleet_share& s) { return s.f == fuel::petrol; });
    CHECK(r.flow_factor == doctest::Approx(0.6));
    CHECK(r.mix.shares.size() == 3);
  }
  SUBCASE("a cap keeps the matched vehicles at the given share of the old traffic") {
    twin::env::vehicle_filter diesel;
    diesel.f = fuel::diesel;
    auto r = twin::env::cap(mix, diesel, 0.25);  // diesel was 0.5 of the traffic
    CHECK(r.flow_factor == doctest::Approx(0.75));
    REQUIRE(r.mix.shares.size() == 4);
    CHECK(r.mix.shares[0].share == doctest::Approx(0.4 / 0.75));
    CHECK(r.mix.shares[1].share == doctest::Approx(0.15 / 0.75));
    CHECK(r.mix.shares[2].share == doctest::Approx(0.10 / 0.75));
    auto loose = twin::env::cap(mix, diesel, 0.6);
    CHECK(loose.flow_factor == doctest::Approx(1.0));
  }
  SUBCASE("electrify moves a fraction of a category to electric, flow unchanged") {
    auto r = twin::env::electrify(mix, vehicle_category::car, 0.5);
    REQUIRE(r.shares.size() == 5);
    CHECK(r.shares[0].share == doctest::Approx(0.2));
    CHECK(r.shares[1].share == doctest::Approx(0.15));
    CHECK(r.shares[4].category == vehicle_category::car);
    CHECK(r.shares[4].f == fuel::electric);
    CHECK(r.shares[4].share == doctest::Approx(0.35));
    CHECK(twin::total_share(r) == doctest::Approx(1.0));
    CHECK(twin::category_share(r, vehicle_category::car) == doctest::Approx(0.7));
    // All categories.
    auto all = twin::env::electrify(mix, std::nullopt, 1.0);
    double electric = 0;
    for (const auto& s : all.shares)
      if (s.f == fuel::electric) electric += s.share;
    CHECK(electric == doctest::Approx(1.0));
  }
  SUBCASE("a low-emission zone keeps old vehicles out or upgrades them") {
    auto out = twin::env::low_emission_zone(mix, euro_standard::euro_4,
                                            twin::env::lez_replacement::stay_out);
    CHECK(out.flow_factor == doctest::Approx(0.8));
    CHECK(out.mix.shares.size() == 3);
    auto up = twin::env::low_emission_zone(mix, euro_standard::euro_4,
                                           twin::env::lez_replacement::upgrade);
    CHECK(up.flow_factor == doctest::Approx(1.0));
    REQUIRE(up.mix.shares.size() == 4);
    CHECK(up.mix.shares[2].standard == euro_standard::euro_4);
    CHECK(up.mix.shares[2].share == doctest::Approx(0.2));
    CHECK(up.mix.shares[3].standard == euro_standard::euro_5);  // electric left as it was
  }
  SUBCASE("banning everything leaves an empty road") {
    auto r = twin::env::ban(mix, twin::env::vehicle_filter{});
    CHECK(r.flow_factor == 0);
    CHECK(r.mix.shares.empty());
  }
}

TEST_CASE("fleet names parse back and the default mix is valid") {
  for (std::size_t i = 0; i < twin::vehicle_category_count; ++i) {
    auto c = static_cast<vehicle_category>(i);
    CHECK(twin::parse_vehicle_category(to_string(c)) == c);
  }
  for (std::size_t i = 0; i < twin::fuel_count; ++i) {
    auto f = static_cast<fuel>(i);
    CHECK(twin::parse_fuel(to_string(f)) == f);
  }
  for (std::size_t i = 0; i < twin::euro_standard_count; ++i) {
    auto s = static_cast<euro_standard>(i);
    CHECK(twin::parse_euro_standard(to_string(s)) == s);
  }
  CHECK(twin::parse_euro_standard("Euro VI") == euro_standard::euro_6);
  CHECK(twin::parse_euro_standard("euro_iv") == euro_standard::euro_4);
  CHECK(twin::parse_euro_standard("5") == euro_standard::euro_5);
  CHECK_FALSE(twin::parse_euro_standard("euro_7").has_value());
  CHECK_FALSE(twin::parse_vehicle_category("tram").has_value());
  CHECK_FALSE(twin::validate(twin::default_fleet_mix()).has_value());

  fleet_mix short_mix{{{vehicle_category::car, fuel::petrol, euro_standard::euro_6, 0.9}}};
  REQUIRE(twin::validate(short_mix).has_value());
  CHECK(twin::validate(short_mix)->find("sum to 0.9") != std::string::npos);
}
