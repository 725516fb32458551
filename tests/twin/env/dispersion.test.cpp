#include "twin/env/dispersion.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "skip.hpp"

using namespace twin::env;
using doctest::Approx;

namespace {

constexpr double pi = std::numbers::pi;

// The ground-level plume formula written out, to compare the library against.
double textbook(double q, double u, double sy, double sz, double h, double y, double z) {
  return q / (2 * pi * u * sy * sz) * std::exp(-y * y / (2 * sy * sy)) *
         (std::exp(-(z - h) * (z - h) / (2 * sz * sz)) +
          std::exp(-(z + h) * (z + h) / (2 * sz * sz)));
}

constexpr double no_lid_m = 1e6;

}  // namespace

TEST_CASE("sigma schemes have names") {
  CHECK(to_string(sigma_scheme::pasquill_gifford) == "pg");
  CHECK(parse_sigma_scheme("briggs-urban") == sigma_scheme::briggs_urban);
  CHECK(parse_sigma_scheme("briggs-rural") == sigma_scheme::briggs_rural);
  CHECK(parse_sigma_scheme("pg") == sigma_scheme::pasquill_gifford);
  CHECK_FALSE(parse_sigma_scheme("turner").has_value());
}

// ORACLES P1 (Fundamentals of Air Pollution, 3rd ed., worked example; Turner / ISC3 curve fits):
// Q 0.37 g/s, H 40 m, u 2 m/s, class B, ground centreline, x = 0.26 / 0.28 / 0.30 km:
// sy 45.9 / 49.0 / 52.2 m, sz 26.2 / 28.2 / 30.1 m, C 1.53e-5 / 1.56e-5 / 1.55e-5 g/m3.
TEST_CASE("P1: Turner sigmas and concentration, class B") {
  const double x_m[] = {260, 280, 300};
  const double sy[] = {45.9, 49.0, 52.2};
  const double sz[] = {26.2, 28.2, 30.1};
  const double c[] = {1.53e-5, 1.56e-5, 1.55e-5};
  for (int i = 0; i < 3; ++i) {
    const sigma_yz s = sigmas(sigma_scheme::pasquill_gifford, stability::b, x_m[i]);
    CHECK(s.y_m == Approx(sy[i]).epsilon(0.002));
    CHECK(s.z_m == Approx(sz[i]).epsilon(0.002));
    const double conc = point_concentration(0.37, 2, s, 40, 0, 0, no_lid_m);
    CHECK(conc == Approx(c[i]).epsilon(0.005));
  }
}

// ORACLES P2: Q 100 g/s, H 50 m, u 5 m/s, class D, x 1000 m. Briggs urban D: sy 135.22,
// sz 122.79 -> 352.91 ug/m3; rural D: sy 76.28, sz 37.95 -> 923.24 ug/m3; rural at y 50 m,
// z 1.5 m: 745.17 ug/m3.
TEST_CASE("P2: Briggs urban and rural, centreline and off-axis") {
  const sigma_yz u = sigmas(sigma_scheme::briggs_urban, stability::d, 1000);
  CHECK(point_concentration(100, 5, u, 50, 0, 0, no_lid_m) * 1e6 == Approx(352.91).epsilon(1e-5));
  const sigma_yz r = sigmas(sigma_scheme::briggs_rural, stability::d, 1000);
  CHECK(point_concentration(100, 5, r, 50, 0, 0, no_lid_m) * 1e6 == Approx(923.24).epsilon(1e-5));
  CHECK(point_concentration(100, 5, r, 50, 50, 1.5, no_lid_m) * 1e6 ==
        Approx(745.17).epsilon(1e-5));
}

// ORACLES P3: ground source Q 3 g/s, u 7 m/s, class D, x 3 km, Turner: sy 184.6, sz 65.1,
// C = Q / (pi u sy sz) = 1.135e-5 g/m3.
TEST_CASE("P3: a ground source, class D at 3 km") {
  const sigma_yz s = sigmas(sigma_scheme::pasquill_gifford, stability::d, 3000);
  CHECK(s.y_m == Approx(184.6).epsilon(0.001));
  CHECK(s.z_m == Approx(65.1).epsilon(0.001));
  CHECK(point_concentration(3, 7, s, 0, 0, 0, no_lid_m) == Approx(1.135e-5).epsilon(0.001));
}

// ORACLES L1: infinite crosswind ground line, C = 2 q / (sqrt(2 pi) sz u), q = 10,000 veh/h x
// 10 g/km = 0.027778 g/m/s, u 3 m/s, Briggs rural: x 100 m D (sz 5.595) 1320.4 ug/m3; x 100 m C
// 932.7 ug/m3; x 300 m D 494.2 ug/m3. A 200 km crosswind segment stands in for the infinite line.
TEST_CASE("L1: a long crosswind road at ground level") {
  const double q = 10000.0 / 3600.0 * 10.0 / 1000.0;
  CHECK(sigmas(sigma_scheme::briggs_rural, stability::d, 100).z_m == Approx(5.595).epsilon(1e-4));
  const line_geometry road{{0, -100'000}, {0, 100'000}, 0, 0};
  struct row {
    double x;
    stability s;
    double ug;
  };
  for (const row& r : {row{100, stability::d, 1320.4}, row{100, stability::c, 932.7},
                       row{300, stability::d, 494.2}}) {
    const line_conditions c{3, r.s, sigma_scheme::briggs_rural, no_lid_m, 10, 10'000};
    CHECK(line_concentration(q, road, c, {r.x, 0}, 0) * 1e6 == Approx(r.ug).epsilon(1e-4));
    CHECK(line_concentration_exact(q, road, c, {r.x, 0}, 0) * 1e6 == Approx(r.ug).epsilon(1e-4));
  }
}

// ORACLES spot values (Briggs 1973): rural D at 1000 m sy 76.28 sz 37.95; urban D at 1000 m
// sy 135.22 sz 122.79; rural F at 5000 m sy 163.30 sz 32.00; urban A at 5000 m sy 923.76
// sz 2939.39.
TEST_CASE("Briggs spot values") {
  auto check = [](sigma_scheme sc, stability st, double x, double sy, double sz) {
    const sigma_yz s = sigmas(sc, st, x);
    CHECK(s.y_m == Approx(sy).epsilon(1e-4));  // values given to 0.01 m
    CHECK(s.z_m == Approx(sz).epsilon(1e-4));
  };
  check(sigma_scheme::briggs_rural, stability::d, 1000, 76.28, 37.95);
  check(sigma_scheme::briggs_urban, stability::d, 1000, 135.22, 122.79);
  check(sigma_scheme::briggs_rural, stability::f, 5000, 163.30, 32.00);
  check(sigma_scheme::briggs_urban, stability::a, 5000, 923.76, 2939.39);
  // Urban A and B share curves, as do E and F.
  CHECK(sigmas(sigma_scheme::briggs_urban, stability::b, 700).z_m ==
        sigmas(sigma_scheme::briggs_urban, stability::a, 700).z_m);
  CHECK(sigmas(sigma_scheme::briggs_urban, stability::f, 700).y_m ==
        sigmas(sigma_scheme::briggs_urban, stability::e, 700).y_m);
}

TEST_CASE("PG sigma-z: the 5000 m cap and continuity where the table is continuous") {
  // Class A: 453.85 x^2.1166 passes 5000 m near 3.11 km; beyond, the cap.
  CHECK(sigmas(sigma_scheme::pasquill_gifford, stability::a, 3200).z_m == 5000);
  CHECK(sigmas(sigma_scheme::pasquill_gifford, stability::a, 3100).z_m ==
        Approx(453.85 * std::pow(3.1, 2.1166)));
  CHECK(sigmas(sigma_scheme::pasquill_gifford, stability::b, 50'000).z_m == 5000);
  // The fits join to within 0.5 % at these breakpoints (A at 0.1-0.5 km, B at 0.2 and 0.4 km,
  // D at 0.3, 1, 3, 10 and 30 km, F at 1 km).
  struct joint {
    stability s;
    double x_km;
  };
  for (const joint j :
       {joint{stability::a, 0.1}, joint{stability::a, 0.15}, joint{stability::a, 0.2},
        joint{stability::a, 0.25}, joint{stability::a, 0.3}, joint{stability::a, 0.4},
        joint{stability::a, 0.5}, joint{stability::b, 0.2}, joint{stability::b, 0.4},
        joint{stability::d, 0.3}, joint{stability::d, 1}, joint{stability::d, 3},
        joint{stability::d, 10}, joint{stability::d, 30}, joint{stability::f, 1}}) {
    const double below = sigmas(sigma_scheme::pasquill_gifford, j.s, j.x_km * 1000 - 1e-6).z_m;
    const double above = sigmas(sigma_scheme::pasquill_gifford, j.s, j.x_km * 1000 + 1e-6).z_m;
    CAPTURE(j.x_km);
    CHECK(above == Approx(below).epsilon(0.005));
  }
  // sigma-y is one smooth curve per class.
  const double a = sigmas(sigma_scheme::pasquill_gifford, stability::c, 999.999).y_m;
  const double b = sigmas(sigma_scheme::pasquill_gifford, stability::c, 1000.001).y_m;
  CHECK(b == Approx(a).epsilon(1e-5));
}

// Plume rise, ISC3 formulas (ORACLES), g = 9.80616 m/s2, worked by hand:
// (a) h 50 m, d 2 m, vs 15 m/s, Ts 400 K, Ta 300 K, u 5 m/s, class D.
//     Fb = g vs d^2 (Ts - Ta) / (4 Ts) = 9.80616 * 15 * 4 * 100 / 1600 = 36.7731 m4/s3;
//     Fm = vs^2 d^2 Ta / (4 Ts) = 225 * 4 * 300 / 1600 = 168.75 m4/s2;
//     crossover dTc = 0.0297 Ts vs^(1/3) / d^(2/3) = 18.457 K < 100 K: buoyant;
//     Fb < 55: dh = 21.425 Fb^0.75 / u = 63.988 m at xf = 49 Fb^0.625 = 466.29 m;
//     at 200 m, gradual: 1.6 Fb^(1/3) 200^(2/3) / u = 36.393 m; vs >= 1.5 u: no downwash.
TEST_CASE("plume rise: buoyant, Fb < 55, neutral") {
  const stack st{50, 2, 15, 400};
  const plume_rise f = briggs_plume_rise(st, 5, stability::d, 300, 1000);
  CHECK(f.buoyancy_flux == Approx(36.7731).epsilon(1e-6));
  CHECK(f.momentum_flux == Approx(168.75).epsilon(1e-9));
  CHECK(f.downwash_height_m == 50);
  CHECK(f.final);
  CHECK_FALSE(f.momentum_dominated);
  CHECK(f.final_distance_m == Approx(466.286).epsilon(1e-5));
  CHECK(f.rise_m == Approx(63.988).epsilon(1e-5));
  CHECK(f.effective_height_m == Approx(113.988).epsilon(1e-5));
  const plume_rise g = briggs_plume_rise(st, 5, stability::d, 300, 200);
  CHECK_FALSE(g.final);
  CHECK(g.rise_m == Approx(36.3926).epsilon(1e-5));
}

// (b) d 3 m, vs 20 m/s, Ts 450 K, Ta 300 K, u 5 m/s, class C: Fb = 9.80616 * 20 * 9 * 150 / 1800
//     = 147.092; dTc = 0.00575 Ts vs^(2/3) / d^(1/3) = 13.219 K: buoyant; Fb >= 55:
//     dh = 38.71 Fb^0.6 / u = 154.670 m, xf = 119 Fb^0.4 = 876.16 m; at 300 m: 75.700 m.
TEST_CASE("plume rise: buoyant, Fb >= 55") {
  const stack st{80, 3, 20, 450};
  const plume_rise f = briggs_plume_rise(st, 5, stability::c, 300, 2000);
  CHECK(f.buoyancy_flux == Approx(147.0924).epsilon(1e-6));
  CHECK(f.rise_m == Approx(154.670).epsilon(1e-5));
  CHECK(f.final_distance_m == Approx(876.159).epsilon(1e-5));
  CHECK(briggs_plume_rise(st, 5, stability::c, 300, 300).rise_m == Approx(75.6997).epsilon(1e-5));
}

// (c) stack (a) in class E at u 3 m/s: s = g 0.020 / Ta = 6.53744e-4 s^-2; dTc = 0.019582 Ts vs
//     sqrt(s) = 3.004 K: buoyant; dh = 2.6 (Fb / (u s))^(1/3) = 69.073 m, xf = 2.0715 u / sqrt(s)
//     = 243.05 m. Class F (0.035 K/m): s = 1.144052e-3, dh = 57.318 m, xf = 183.73 m.
TEST_CASE("plume rise: stable classes with the default gradients") {
  const stack st{50, 2, 15, 400};
  CHECK(default_dtheta_dz_k_m(stability::e) == 0.020);
  CHECK(default_dtheta_dz_k_m(stability::f) == 0.035);
  CHECK(default_dtheta_dz_k_m(stability::d) == 0);
  const plume_rise e = briggs_plume_rise(st, 3, stability::e, 300, 1000);
  CHECK(e.rise_m == Approx(69.0728).epsilon(1e-5));
  CHECK(e.final_distance_m == Approx(243.054).epsilon(1e-5));
  const plume_rise f = briggs_plume_rise(st, 3, stability::f, 300, 1000);
  CHECK(f.rise_m == Approx(57.3184).epsilon(1e-5));
  CHECK(f.final_distance_m == Approx(183.731).epsilon(1e-5));
}

// (d) stack-tip downwash: h 50 m, d 2 m, vs 3 m/s < 1.5 u = 7.5 m/s: h' = h + 2 d (vs/u - 1.5)
//     = 50 + 4 (0.6 - 1.5) = 46.4 m; Fb = 7.35462, dTc = 10.794 K: buoyant, dh = 19.1369 m.
// (e) momentum dominated: d 1 m, vs 20 m/s, Ts 305 K, Ta 300 K, u 5: Fb = 0.803784,
//     dTc = 0.0297 Ts vs^(1/3) / d^(2/3) = 24.589 K > 5 K, so dh = 3 d vs / u = 12 m.
TEST_CASE("plume rise: stack-tip downwash and momentum rise") {
  const plume_rise d = briggs_plume_rise({50, 2, 3, 400}, 5, stability::d, 300, 1000);
  CHECK(d.downwash_height_m == Approx(46.4).epsilon(1e-12));
  CHECK(d.buoyancy_flux == Approx(7.35462).epsilon(1e-6));
  CHECK(d.rise_m == Approx(19.1369).epsilon(1e-5));
  CHECK(d.effective_height_m == Approx(46.4 + 19.1369).epsilon(1e-5));
  const plume_rise m = briggs_plume_rise({30, 1, 20, 305}, 5, stability::d, 300, 1000);
  CHECK(m.momentum_dominated);
  CHECK(m.buoyancy_flux == Approx(0.803784).epsilon(1e-5));
  CHECK(m.rise_m == Approx(12.0).epsilon(1e-12));
  CHECK(m.effective_height_m == Approx(42.0).epsilon(1e-12));
}

TEST_CASE("wind at release height: ISC3 power law, none below 10 m, at least 1 m/s") {
  CHECK(wind_profile_exponent(stability::d, true) == 0.25);
  CHECK(wind_profile_exponent(stability::d, false) == 0.15);
  CHECK(wind_profile_exponent(stability::f, false) == 0.55);
  CHECK(wind_at_height(4, 80, stability::d, true) == Approx(4 * std::pow(8.0, 0.25)));
  CHECK(wind_at_height(4, 2, stability::d, true) == 4);
  CHECK(wind_at_height(0.2, 2, stability::f, true) == wind_min_m_s);
}

TEST_CASE("the mixing lid: image terms, then well mixed beyond sigma-z = 1.6 L") {
  const sigma_yz s{300, 900};
  const double lid = 500;
  // sz 900 > 1.6 * 500: C = Q / (sqrt(2 pi) sy L u).
  CHECK(point_concentration(100, 4, s, 60, 20, 1.5, lid) ==
        Approx(100 / (std::sqrt(2 * pi) * 300 * 500 * 4) * std::exp(-20.0 * 20 / (2 * 300 * 300)))
            .epsilon(1e-12));
  // Just under the switch the image sum is close to uniform already (within 1 %).
  const sigma_yz under{300, 799};
  CHECK(point_concentration(100, 4, under, 60, 0, 1.5, lid) ==
        Approx(100 / (std::sqrt(2 * pi) * 300 * 500 * 4)).epsilon(0.01));
  // A low plume far under the lid does not see it.
  const sigma_yz low{40, 20};
  CHECK(point_concentration(10, 3, low, 30, 5, 0, 1000) ==
        Approx(textbook(10, 3, 40, 20, 30, 5, 0)).epsilon(1e-12));
  // A plume at or above the lid stays above it.
  CHECK(point_concentration(10, 3, low, 600, 0, 1.5, 500) == 0);
}

TEST_CASE("property: the crosswind integral of a ground point source is 2Q / (sqrt(2 pi) u sz)") {
  const double q = 7;
  const double u = 3;
  const sigma_yz s = sigmas(sigma_scheme::briggs_urban, stability::c, 600);
  // Simpson over +-10 sigma-y with 4000 intervals.
  const double a = -10 * s.y_m, b = 10 * s.y_m;
  const int n = 4000;
  const double h = (b - a) / n;
  double sum = 0;
  for (int i = 0; i <= n; ++i) {
    const double w = (i == 0 || i == n) ? 1 : (i % 2 ? 4 : 2);
    sum += w * point_concentration(q, u, s, 0, a + i * h, 0, no_lid_m);
  }
  const double integral = sum * h / 3;
  const double expected = 2 * q / (std::sqrt(2 * pi) * u * s.z_m);
  CHECK(std::abs(integral - expected) <= 1e-6 * expected);
}

TEST_CASE("property: beyond its maximum the centreline concentration falls with distance") {
  for (const stability st : {stability::a, stability::c, stability::d, stability::f}) {
    for (const sigma_scheme sc :
         {sigma_scheme::pasquill_gifford, sigma_scheme::briggs_urban, sigma_scheme::briggs_rural}) {
      auto c = [&](double x) {
        return point_concentration(1, 4, sigmas(sc, st, x), 40, 0, 0, no_lid_m);
      };
      double x_peak = 50, peak = 0;
      for (double x = 50; x < 20'000; x *= 1.02) {
        if (c(x) > peak) {
          peak = c(x);
          x_peak = x;
        }
      }
      CAPTURE(to_char(st));
      CAPTURE(to_string(sc));
      double last = c(x_peak);
      for (double x = x_peak * 1.02; x < 20'000; x *= 1.02) {
        const double now = c(x);
        CHECK(now < last);
        last = now;
      }
    }
  }
}

TEST_CASE("property: a long finite crosswind line tends to the infinite line") {
  const line_conditions c{2.5, stability::d, sigma_scheme::briggs_urban, no_lid_m, 10, 10'000};
  const double x = 400;
  const sigma_yz s = sigmas(c.scheme, c.stability_class, x);
  const double infinite = 2 * 1.0 / (std::sqrt(2 * pi) * s.z_m * c.wind_m_s);
  double previous_gap = 1e300;
  for (const double half : {100.0, 200.0, 400.0, 1000.0, 3000.0}) {
    const line_geometry road{{0, -half}, {0, half}, 0, 0};
    const double exact = line_concentration_exact(1.0, road, c, {x, 0}, 0);
    const double gap = infinite - exact;
    CHECK(gap >= -1e-9 * infinite);
    CHECK((gap < previous_gap || gap <= 1e-9 * infinite));
    previous_gap = gap;
    // The crosswind line with erf ends is exact for a line across the wind.
    CHECK(line_concentration(1.0, road, c, {x, 0}, 0) == Approx(exact).epsilon(1e-6));
  }
  CHECK(previous_gap < 1e-6 * infinite);
}

// The fast kernel against the numerical integral over random roads (30-400 m, any angle) and
// receptors within 1.5 km, all classes, both Briggs schemes, lids of 300 and 1000 m:
// |fast - exact| <= 10 % of exact + 2 % of the infinite crosswind line at the receptor's distance
// from the road's middle (the second term covers the plume edges, where a small absolute error is
// a large relative one and moves no map). Measured: the worst pair uses 60 % of that allowance.
TEST_CASE("the fast line kernel against exact integration, random geometries") {
  std::mt19937_64 rng(20260421);
  std::uniform_real_distribution<double> pos(-1500, 1500);
  std::uniform_real_distribution<double> len(30, 400);
  std::uniform_real_distribution<double> ang(0, 2 * pi);
  const stability classes[] = {stability::a, stability::b, stability::c,
                               stability::d, stability::e, stability::f};
  int significant = 0;
  double worst = 0;
  for (int i = 0; i < 3000; ++i) {
    const double l = len(rng), a = ang(rng);
    const xy mid{pos(rng) * 0.2, pos(rng) * 0.2};
    const line_geometry g{{mid.x - 0.5 * l * std::cos(a), mid.y - 0.5 * l * std::sin(a)},
                          {mid.x + 0.5 * l * std::cos(a), mid.y + 0.5 * l * std::sin(a)},
                          0.5,
                          road_initial_sigma_z_m};
    const line_conditions c{2.0 + 3 * (i % 3),
                            classes[i % 6],
                            i % 2 ? sigma_scheme::briggs_urban : sigma_scheme::briggs_rural,
                            i % 5 == 0 ? 300.0 : 1000.0,
                            10,
                            10'000};
    const xy r{pos(rng), pos(rng)};
    const double exact = line_concentration_exact(1.0, g, c, r, 1.5);
    const double fast = line_concentration(1.0, g, c, r, 1.5);
    const double x_mid = std::max(r.x - mid.x, c.min_distance_m);
    const double scale =
        2 / (std::sqrt(2 * pi) * c.wind_m_s *
             std::hypot(sigmas(c.scheme, c.stability_class, x_mid).z_m, road_initial_sigma_z_m));
    const double allowed = 0.10 * exact + 0.02 * scale;
    worst = std::max(worst, std::abs(fast - exact) / allowed);
    if (exact >= 0.05 * scale) ++significant;
    CAPTURE(i);
    CHECK(std::abs(fast - exact) <= allowed);
  }
  MESSAGE("fast vs exact: 3000 pairs, " << significant << " above 5 % of the line scale; worst "
                                        << worst << " of the allowance");
  CHECK(significant > 200);
}

// disperse() is the same model as the single-source functions, rotated into the wind frame.
TEST_CASE("the grid kernel equals a plain loop over point and line concentrations") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> pos(-2000, 2000);
  std::uniform_real_distribution<double> len(20, 300);
  std::uniform_real_distribution<double> ang(0, 2 * pi);
  weather w;
  w.wind_speed_m_s = 3.5;
  w.wind_from_deg = 135;  // from the south-east: downwind is north-west
  w.stability_class = stability::c;
  w.mixing_height_m = 900;
  w.air_temperature_k = 300;
  dispersion_options o;
  std::vector<line_emitter> lines;
  for (int i = 0; i < 60; ++i) {
    const double l = len(rng), a = ang(rng);
    const xy m{pos(rng), pos(rng)};
    lines.push_back({{m.x, m.y},
                     {m.x + l * std::cos(a), m.y + l * std::sin(a)},
                     0.5,
                     1.5,
                     {1e-4 * (i + 1), 2e-5, i % 2 ? 0.03 : 0.0}});
  }
  std::vector<point_emitter> points = {{{300, -200}, {60, 2.5, 12, 420}, {20, 1, 500}},
                                       {{-900, 400}, {25, 1, 4, 350}, {2, 0.3, 40}}};
  std::vector<xy> receptors;
  for (int i = 0; i < 200; ++i) receptors.push_back({pos(rng), pos(rng)});
  std::vector<double> nox(receptors.size(), 0.0), pm(receptors.size(), 1.0), co2;
  const dispersion_counts counts =
      disperse(w, o, points, lines, receptors,
               {std::span<double>(nox), std::span<double>(pm), std::span<double>(co2)});
  CHECK(counts.pairs == 62 * 200);
  CHECK(counts.evaluated > 0);
  CHECK(counts.evaluated < counts.pairs);

  // The plain loop: rotate by hand, call the single-source functions.
  const double th = w.wind_from_deg * pi / 180;
  const double dx = -std::sin(th), dy = -std::cos(th);
  auto to_wind = [&](xy p) { return xy{p.x * dx + p.y * dy, p.y * dx - p.x * dy}; };
  std::size_t nonzero = 0;
  for (std::size_t i = 0; i < receptors.size(); ++i) {
    const xy r = to_wind(receptors[i]);
    double want_nox = 0, want_pm = 1;
    for (const auto& e : lines) {
      const line_conditions c{
          wind_at_height(w.wind_speed_m_s, e.release_height_m, w.stability_class, true),
          w.stability_class,
          o.scheme,
          w.mixing_height_m,
          o.min_distance_m,
          o.max_distance_m};
      const double k = line_concentration(
          1.0, {to_wind(e.a), to_wind(e.b), e.release_height_m, e.initial_sigma_z_m}, c, r,
          o.receptor_height_m);
      want_nox += e.g_m_s[0] * k;
      want_pm += e.g_m_s[1] * k;
    }
    for (const auto& e : points) {
      const xy s = to_wind(e.at);
      const double x = r.x - s.x;
      if (x <= 0) continue;
      const double u = wind_at_height(w.wind_speed_m_s, e.s.height_m, w.stability_class, true);
      const double he =
          briggs_plume_rise(e.s, u, w.stability_class, w.air_temperature_k, x).effective_height_m;
      const double k = point_concentration(1.0, u, sigmas(o.scheme, w.stability_class, x), he,
                                           r.y - s.y, o.receptor_height_m, w.mixing_height_m);
      want_nox += e.g_s[0] * k;
      want_pm += e.g_s[1] * k;
    }
    if (want_nox > 0) ++nonzero;
    CHECK(nox[i] == Approx(want_nox).epsilon(1e-6));
    CHECK(pm[i] == Approx(want_pm).epsilon(1e-6));
  }
  CHECK(nonzero > 20);
  CHECK(co2.empty());
}

// The grid kernel's batched path (vectorized, built for several instruction sets) gives each
// pair the single-pair kernel's value bit for bit, in every class, both Briggs schemes, with lid
// images, far pairs (up to 9 km) and elevated sources: the map does not depend on the processor
// or on how the receptors are split between actors. Each build the processor runs is compared; one
// it cannot run is reported as skipped.
namespace {

void check_builds_equal_single_pair(kernel_build build) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> pos(-4500, 4500);
  std::uniform_real_distribution<double> len(20, 400);
  std::uniform_real_distribution<double> ang(0, 2 * pi);
  std::uniform_real_distribution<double> unit(0, 1);
  const stability classes[] = {stability::a, stability::b, stability::c,
                               stability::d, stability::e, stability::f};
  std::size_t equal = 0, nonzero = 0;
  for (int i = 0; i < 4000; ++i) {
    weather w;
    w.wind_speed_m_s = 1 + 6 * unit(rng);
    w.wind_from_deg = 360 * unit(rng);
    w.stability_class = classes[i % 6];
    w.mixing_height_m = i % 3 == 0 ? 250 : 1000;
    dispersion_options o;
    o.scheme = i % 2 ? sigma_scheme::briggs_urban : sigma_scheme::briggs_rural;
    const double l = len(rng), a = ang(rng);
    const xy m{pos(rng), pos(rng)};
    const double release_m = i % 5 == 0 ? 20 * unit(rng) : 0.5;
    const line_emitter e{
        {m.x, m.y}, {m.x + l * std::cos(a), m.y + l * std::sin(a)}, release_m, 1.5, {1, 0, 0}};
    const std::vector<line_emitter> lines = {e};
    // A receptor downwind of the road's middle (up to 9 km), within a plume's width or so.
    const double th = w.wind_from_deg * pi / 180;
    const double dx = -std::sin(th), dy = -std::cos(th);
    const double down = 9000 * unit(rng) - 300, across = (unit(rng) - 0.5) * 0.4 * std::abs(down);
    const std::vector<xy> receptors = {
        {m.x + down * dx - across * dy, m.y + down * dy + across * dx}};
    std::vector<double> out(1, 0.0);
    disperse(w, o, {}, lines, receptors,
             {std::span<double>(out), std::span<double>(), std::span<double>()}, build);
    auto to_wind = [&](xy p) { return xy{p.x * dx + p.y * dy, p.y * dx - p.x * dy}; };
    const line_conditions c{
        wind_at_height(w.wind_speed_m_s, e.release_height_m, w.stability_class, o.urban),
        w.stability_class,
        o.scheme,
        w.mixing_height_m,
        o.min_distance_m,
        o.max_distance_m};
    const double want = line_concentration(
        1.0, {to_wind(e.a), to_wind(e.b), e.release_height_m, e.initial_sigma_z_m}, c,
        to_wind(receptors[0]), o.receptor_height_m);
    if (out[0] == want) ++equal;
    if (want > 0) ++nonzero;
  }
  CHECK(equal == 4000);
  CHECK(nonzero == 3865);
}

}  // namespace

TEST_CASE("the grid kernel gives one pair the single-pair value bit for bit, in every build") {
  for (const kernel_build build :
       {kernel_build::avx512, kernel_build::avx2, kernel_build::baseline}) {
    CAPTURE(to_string(build));
    if (!runs_here(build)) {
      testkit::skip(std::string("the ") + std::string(to_string(build)) + " build of the kernel",
                    "this processor does not run it");
      continue;
    }
    check_builds_equal_single_pair(build);
  }
  CHECK(runs_here(best_kernel_build()));
}

TEST_CASE("disperse: a receptor upwind of everything gets nothing added") {
  weather w;
  w.wind_from_deg = 270;  // from the west: downwind is east
  const std::vector<line_emitter> lines = {{{0, -50}, {0, 50}, 0, 1.5, {1, 1, 1}}};
  const std::vector<xy> receptors = {{-200, 0}, {200, 0}};
  std::vector<double> out(2, 0.0);
  disperse(w, {}, {}, lines, receptors,
           {std::span<double>(out), std::span<double>(), std::span<double>()});
  CHECK(out[0] == 0);
  CHECK(out[1] > 0);
}
