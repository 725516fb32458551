#include "twin/env/noise.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "twin/base/check.hpp"

namespace twin::env {

namespace {

constexpr double no_sound_db = -std::numeric_limits<double>::infinity();

double to_energy(double db) {
  return std::isinf(db) && db < 0 ? 0.0 : std::pow(10.0, db / 10.0);
}
double to_db(double energy) {
  return energy > 0 ? 10.0 * std::log10(energy) : no_sound_db;
}

struct coefficients {
  octave_bands a_r;
  octave_bands b_r;
  octave_bands a_p;
  octave_bands b_p;
  bool rolling = true;  // category 4 has propulsion noise only
};

// The speed slopes B_R and B_P of Appendix F, Table F-1 (categories 1, 2, 3, 4a, 4b): the 2021
// amendment changed only the levels A_R and A_P, so both editions share these.
struct slopes {
  octave_bands b_r;
  octave_bands b_p;
  bool rolling = true;
};
constexpr std::array<slopes, cnossos_category_count> table_f1_slopes{{
    {{30.0, 41.5, 38.9, 25.7, 32.5, 37.2, 39.0, 40.0}, {-1.3, 7.2, 7.7, 8.0, 8.0, 8.0, 8.0, 8.0}},
    {{30.0, 35.8, 32.6, 23.8, 30.1, 36.2, 38.3, 40.1}, {-1.9, 4.7, 6.4, 6.5, 6.5, 6.5, 6.5, 6.5}},
    {{30.0, 33.5, 31.3, 25.4, 31.8, 37.1, 38.6, 40.6}, {0.0, 3.0, 4.6, 5.0, 5.0, 5.0, 5.0, 5.0}},
    {{}, {4.2, 7.4, 9.8, 11.6, 15.7, 18.9, 20.3, 20.6}, false},
    {{}, {3.2, 5.9, 11.9, 11.6, 11.5, 12.6, 11.1, 12.0}, false},
}};

struct levels {
  octave_bands a_r;  // empty where there is no rolling noise
  octave_bands a_p;
};

constexpr std::array<coefficients, cnossos_category_count> edition_table(
    const std::array<levels, cnossos_category_count>& a) {
  std::array<coefficients, cnossos_category_count> out{};
  for (std::size_t i = 0; i < cnossos_category_count; ++i) {
    const auto& b = table_f1_slopes[i];
    out[i] = {a[i].a_r, b.b_r, a[i].a_p, b.b_p, b.rolling};
  }
  return out;
}

// Directive (EU) 2015/996, Appendix F, Table F-1.
constexpr auto directive_2015 = edition_table({{
    {{79.7, 85.7, 84.5, 90.2, 97.3, 93.9, 84.1, 74.3},
     {94.5, 89.2, 88.0, 85.9, 84.2, 86.9, 83.3, 76.1}},
    {{84.0, 88.7, 91.5, 96.7, 97.4, 90.9, 83.8, 80.5},
     {101.0, 96.5, 98.8, 96.8, 98.6, 95.2, 88.8, 82.7}},
    {{87.0, 91.7, 94.1, 100.7, 100.8, 94.3, 87.1, 82.5},
     {104.4, 100.6, 101.7, 101.0, 100.1, 95.9, 91.3, 85.3}},
    {{}, {88.0, 87.5, 89.5, 93.7, 96.6, 98.8, 93.9, 88.7}},
    {{}, {95.0, 97.2, 92.7, 92.9, 94.7, 93.2, 90.1, 86.5}},
}});

// Commission Delegated Directive (EU) 2021/1226, Appendix F, Table F-1 (replacing the above).
constexpr auto amended_2021 = edition_table({{
    {{83.1, 89.2, 87.7, 93.1, 100.1, 96.7, 86.8, 76.2},
     {97.9, 92.5, 90.7, 87.2, 84.7, 88.0, 84.4, 77.1}},
    {{88.7, 93.2, 95.7, 100.9, 101.7, 95.1, 87.8, 83.6},
     {105.5, 100.2, 100.5, 98.7, 101.0, 97.8, 91.2, 85.0}},
    {{91.7, 96.2, 98.2, 104.9, 105.1, 98.5, 91.1, 85.6},
     {108.8, 104.2, 103.5, 102.9, 102.6, 98.5, 93.8, 87.5}},
    {{}, {93.0, 93.0, 93.5, 95.3, 97.2, 100.4, 95.8, 90.9}},
    {{}, {99.9, 101.9, 96.7, 94.4, 95.2, 94.7, 92.1, 88.6}},
}});

const coefficients& coefficients_of(cnossos_category c, cnossos_edition e) {
  auto i = static_cast<std::size_t>(c);
  TWIN_REQUIRE_OP(i, <, cnossos_category_count);
  return e == cnossos_edition::directive_2015 ? directive_2015[i] : amended_2021[i];
}

constexpr double speed_min_kmh = 20;
constexpr double speed_max_kmh = 130;

double clamp_speed(double speed_kmh) {
  TWIN_REQUIRE(std::isfinite(speed_kmh));
  return std::clamp(speed_kmh, speed_min_kmh, speed_max_kmh);
}

}  // namespace

double energy_sum_db(const octave_bands& levels_db) {
  double e = 0;
  for (double l : levels_db) e += to_energy(l);
  return to_db(e);
}

double a_weighted_db(const octave_bands& levels_db) {
  double e = 0;
  for (std::size_t i = 0; i < octave_band_count; ++i)
    e += to_energy(levels_db[i] + a_weighting_db[i]);
  return to_db(e);
}

std::string_view to_string(cnossos_category c) {
  switch (c) {
    case cnossos_category::light:
      return "1";
    case cnossos_category::medium_heavy:
      return "2";
    case cnossos_category::heavy:
      return "3";
    case cnossos_category::moped:
      return "4a";
    case cnossos_category::motorcycle:
      return "4b";
  }
  return "?";
}

cnossos_category cnossos_category_of(vehicle_category c) {
  switch (c) {
    case vehicle_category::car:
    case vehicle_category::taxi:
    case vehicle_category::light_goods:
      return cnossos_category::light;
    case vehicle_category::bus:
      return cnossos_category::medium_heavy;
    case vehicle_category::heavy_goods:
      return cnossos_category::heavy;
    case vehicle_category::moped:
      return cnossos_category::moped;
    case vehicle_category::motorcycle:
      return cnossos_category::motorcycle;
  }
  TWIN_CHECK(false);
  return cnossos_category::light;
}

octave_bands vehicle_sound_power_db(cnossos_category c, double speed_kmh, cnossos_edition edition) {
  const auto& k = coefficients_of(c, edition);
  const double v = clamp_speed(speed_kmh);
  octave_bands out;
  for (std::size_t i = 0; i < octave_band_count; ++i) {
    double propulsion = k.a_p[i] + k.b_p[i] * (v - 70.0) / 70.0;
    double energy = to_energy(propulsion);
    if (k.rolling) energy += to_energy(k.a_r[i] + k.b_r[i] * std::log10(v / 70.0));
    out[i] = to_db(energy);
  }
  return out;
}

octave_bands line_sound_power_db_per_m(cnossos_category c, double flow_veh_h, double speed_kmh,
                                       cnossos_edition edition) {
  TWIN_REQUIRE_OP(flow_veh_h, >=, 0.0);
  octave_bands out;
  if (flow_veh_h == 0) {
    out.fill(no_sound_db);
    return out;
  }
  const double density_db = 10.0 * std::log10(flow_veh_h / (1000.0 * clamp_speed(speed_kmh)));
  auto per_vehicle = vehicle_sound_power_db(c, speed_kmh, edition);
  for (std::size_t i = 0; i < octave_band_count; ++i) out[i] = per_vehicle[i] + density_db;
  return out;
}

octave_bands line_sound_power_db_per_m(const fleet_mix& mix, double flow_veh_h, double speed_kmh,
                                       cnossos_edition edition) {
  std::array<double, cnossos_category_count> flow{};
  for (const auto& s : mix.shares)
    flow[static_cast<std::size_t>(cnossos_category_of(s.category))] += s.share * flow_veh_h;
  octave_bands energy{};
  for (std::size_t c = 0; c < cnossos_category_count; ++c) {
    if (flow[c] <= 0) continue;
    auto bands =
        line_sound_power_db_per_m(static_cast<cnossos_category>(c), flow[c], speed_kmh, edition);
    for (std::size_t i = 0; i < octave_band_count; ++i) energy[i] += to_energy(bands[i]);
  }
  octave_bands out;
  for (std::size_t i = 0; i < octave_band_count; ++i) out[i] = to_db(energy[i]);
  return out;
}

double line_sound_power_db_a_per_m(const fleet_mix& mix, double flow_veh_h, double speed_kmh,
                                   cnossos_edition edition) {
  return a_weighted_db(line_sound_power_db_per_m(mix, flow_veh_h, speed_kmh, edition));
}

// ---------------------------------------------------------------------------------------------
// Propagation

double air_absorption_db_per_km(double frequency_hz, double t_c, double rh_percent) {
  // ISO 9613-1:1993, equations (3)-(5) and annex B, at the reference pressure 101.325 kPa.
  const double t = t_c + 273.15;
  const double t0 = 293.15;   // reference temperature
  const double t01 = 273.16;  // triple point of water
  const double c = -6.8346 * std::pow(t01 / t, 1.261) + 4.6151;
  const double h = rh_percent * std::pow(10.0, c);  // molar concentration of water vapour, %
  const double fr_o = 24.0 + 4.04e4 * h * (0.02 + h) / (0.391 + h);
  const double fr_n = std::pow(t / t0, -0.5) *
                      (9.0 + 280.0 * h * std::exp(-4.170 * (std::pow(t / t0, -1.0 / 3.0) - 1.0)));
  const double f2 = frequency_hz * frequency_hz;
  const double alpha_db_m =
      8.686 * f2 *
      (1.84e-11 * std::sqrt(t / t0) +
       std::pow(t / t0, -2.5) * (0.01275 * std::exp(-2239.1 / t) / (fr_o + f2 / fr_o) +
                                 0.1068 * std::exp(-3352.0 / t) / (fr_n + f2 / fr_n)));
  return alpha_db_m * 1000.0;
}

octave_bands air_absorption_db_per_km_reference() {
  octave_bands out;
  for (std::size_t i = 0; i < octave_band_count; ++i)
    out[i] = air_absorption_db_per_km(octave_band_hz[i], 20.0, 70.0);
  return out;
}

octave_bands band_levels_at(std::span<const noise_segment> segments, xy receptor,
                            const propagation_options& options) {
  TWIN_REQUIRE_OP(options.distance_min_m, >, 0.0);
  TWIN_REQUIRE_OP(options.angle_steps, >, 0u);
  TWIN_REQUIRE(options.ground_factor >= 0 && options.ground_factor <= 1);

  octave_bands alpha_db_m{};
  if (options.air_absorption)
    for (std::size_t i = 0; i < octave_band_count; ++i)
      alpha_db_m[i] = air_absorption_db_per_km(octave_band_hz[i], options.temperature_c,
                                               options.humidity_percent) /
                      1000.0;
  // CNOSSOS-EU's homogeneous lower bound of A_ground: -3 (1 - G) dB, a gain over hard ground.
  const double ground_gain = to_energy(3.0 * (1.0 - options.ground_factor));

  octave_bands energy{};
  for (const auto& s : segments) {
    const double dx = s.b.x - s.a.x;
    const double dy = s.b.y - s.a.y;
    const double length = std::hypot(dx, dy);
    if (length <= 0) continue;
    const double ux = dx / length;
    const double uy = dy / length;
    const double px = receptor.x - s.a.x;
    const double py = receptor.y - s.a.y;
    const double along = px * ux + py * uy;  // where the perpendicular meets the line
    const double d = std::max(std::abs(px * uy - py * ux), options.distance_min_m);
    const double phi_1 = std::atan2(-along, d);
    const double phi_2 = std::atan2(length - along, d);
    const double step = (phi_2 - phi_1) / static_cast<double>(options.angle_steps);

    // I = W' / (4 pi d) * integral of exp(-alpha r(phi)) dphi, by the midpoint rule.
    for (std::size_t i = 0; i < octave_band_count; ++i) {
      const double w = to_energy(s.power_db_per_m[i]);
      if (w == 0) continue;
      double integral = 0;
      for (std::size_t k = 0; k < options.angle_steps; ++k) {
        const double phi = phi_1 + (static_cast<double>(k) + 0.5) * step;
        const double r = d / std::cos(phi);
        integral += std::pow(10.0, -alpha_db_m[i] * r / 10.0) * step;
      }
      energy[i] += w * integral / (4.0 * std::numbers::pi * d) * ground_gain;
    }
  }
  octave_bands out;
  for (std::size_t i = 0; i < octave_band_count; ++i) out[i] = to_db(energy[i]);
  return out;
}

double level_at(std::span<const noise_segment> segments, xy receptor,
                const propagation_options& options) {
  return a_weighted_db(band_levels_at(segments, receptor, options));
}

// ---------------------------------------------------------------------------------------------

double lden(double ld_db, double le_db, double ln_db) {
  return 10.0 * std::log10((12.0 * to_energy(ld_db) + 4.0 * to_energy(le_db + 5.0) +
                            8.0 * to_energy(ln_db + 10.0)) /
                           24.0);
}

period_flows period_flows_from_peak(double peak_flow_veh_h, const period_factors& factors) {
  TWIN_REQUIRE_OP(peak_flow_veh_h, >=, 0.0);
  return {peak_flow_veh_h * factors.day, peak_flow_veh_h * factors.evening,
          peak_flow_veh_h * factors.night};
}

}  // namespace twin::env
