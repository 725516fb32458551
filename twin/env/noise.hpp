#pragma once

// Road-traffic noise: CNOSSOS-EU emission (Directive (EU) 2015/996, Annex II section 2.2, with the
// coefficients of Appendix F as replaced by Commission Delegated Directive (EU) 2021/1226), and a
// simple propagation to a receptor: an incoherent sum over road segments of finite incoherent line
// sources with spherical divergence, atmospheric absorption (ISO 9613-1) and a flat-ground term.
//
// Emission per vehicle and octave band (63 Hz .. 8 kHz), speed v in km/h:
//   rolling     L_WR = A_R + B_R log10(v / 70)
//   propulsion  L_WP = A_P + B_P (v - 70) / 70
//   L_W = 10 log10(10^(L_WR/10) + 10^(L_WP/10))      (category 4: propulsion only)
// and per metre of road for a flow Q (veh/h): L_W' = L_W + 10 log10(Q / (1000 v)).
// The reference conditions are those of the Directive: dry virtual reference surface, 20 C air,
// constant speed, no acceleration, no studded tyres; v is clamped to 20..130 km/h as the Directive
// prescribes for speeds below 20 km/h (and the coefficients are fitted up to 130).
//
// Propagation of a segment of length-uniform power W' (W/m) to a receptor at perpendicular distance
// d from its line, seen under the angles phi1..phi2 from the perpendicular: each element dl
// radiates spherically, I = W' dl / (4 pi r^2), and with r = d / cos(phi), dl = d dphi / cos^2(phi)
// the integral is I = W' (phi2 - phi1) / (4 pi d), i.e. L_p = L_W' + 10 log10(theta / (4 pi d))
// with theta the angle of view. An infinite line (theta = pi) gives L_W' - 10 log10(4 d): -3 dB per
// doubling of distance. Atmospheric absorption exp(-alpha r(phi)) is integrated numerically over
// phi. The ground term is the homogeneous-conditions lower bound of CNOSSOS-EU's A_ground,
// -3 (1 - G) dB: hard urban ground (G = 0) reflects, +3 dB. Screening by buildings, reflections off
// facades and meteorological effects are not modelled: levels are free-field upper estimates.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "twin/city/fleet.hpp"
#include "twin/env/types.hpp"

namespace twin::env {

// ---------------------------------------------------------------------------------------------
// Bands

inline constexpr std::size_t octave_band_count = 8;
using octave_bands = std::array<double, octave_band_count>;  // dB per band, 63 Hz first
inline constexpr octave_bands octave_band_hz{63, 125, 250, 500, 1000, 2000, 4000, 8000};
// IEC 61672-1 A-weighting at the octave-band centres.
inline constexpr octave_bands a_weighting_db{-26.2, -16.1, -8.6, -3.2, 0, 1.2, 1.0, -1.1};

// 10 log10(sum 10^(L_i/10)); -infinity when every band is -infinity (no sound).
double energy_sum_db(const octave_bands& levels_db);
// The A-weighted overall level of a band spectrum, dB(A).
double a_weighted_db(const octave_bands& levels_db);

// ---------------------------------------------------------------------------------------------
// Emission

// CNOSSOS-EU vehicle categories: 1 light (cars, vans up to 3.5 t), 2 medium heavy (2 axles, above
// 3.5 t, includes most buses of 2 axles), 3 heavy (3 axles or more), 4a two-wheel mopeds,
// 4b motorcycles.
enum class cnossos_category : std::uint8_t { light, medium_heavy, heavy, moped, motorcycle };
inline constexpr std::size_t cnossos_category_count = 5;
std::string_view to_string(cnossos_category c);  // "1", "2", "3", "4a", "4b"

// Fleet classes to CNOSSOS classes: car, taxi, light_goods -> 1 (the Directive counts vans up to
// 3.5 t as light); bus -> 2 (urban buses of 2 axles, Macau's included); heavy_goods -> 3 (urban
// lorry traffic is dominated by 3-axle and articulated vehicles; documented assumption);
// moped -> 4a; motorcycle -> 4b. The Directive's emission model does not distinguish fuels, so
// neither does this one: an electric car makes the noise of a car (above ~30 km/h rolling noise
// dominates anyway).
cnossos_category cnossos_category_of(vehicle_category c);

// Coefficient sets: the Directive as published (2015/996, Appendix F, Table F-1; the values of the
// ORACLES checks) and as replaced by Delegated Directive (EU) 2021/1226 (in force; the default).
enum class cnossos_edition : std::uint8_t { directive_2015, amended_2021 };
inline constexpr cnossos_edition cnossos_default = cnossos_edition::amended_2021;

// The sound power of one vehicle per band, dB re 1 pW. Speed clamped to 20..130 km/h.
octave_bands vehicle_sound_power_db(cnossos_category c, double speed_kmh,
                                    cnossos_edition edition = cnossos_default);

// The sound power per metre of road of a flow of one category, dB re 1 pW/m per band; the
// clamped speed is used in the vehicle density Q / (1000 v) as well. -infinity for a zero flow.
octave_bands line_sound_power_db_per_m(cnossos_category c, double flow_veh_h, double speed_kmh,
                                       cnossos_edition edition = cnossos_default);
// Of a mixed flow: the categories' powers summed by energy, each with flow x its share.
octave_bands line_sound_power_db_per_m(const fleet_mix& mix, double flow_veh_h, double speed_kmh,
                                       cnossos_edition edition = cnossos_default);
// The A-weighted total of the above, dB(A) re 1 pW/m.
double line_sound_power_db_a_per_m(const fleet_mix& mix, double flow_veh_h, double speed_kmh,
                                   cnossos_edition edition = cnossos_default);

// ---------------------------------------------------------------------------------------------
// Propagation

// ISO 9613-1 pure-tone absorption at the band centre, dB/km, for air at temperature t_c (C),
// relative humidity rh_percent and standard pressure.
double air_absorption_db_per_km(double frequency_hz, double t_c, double rh_percent);
// The per-band values at 20 C and 70 % (the reference atmosphere of ISO 9613-2's table 2).
octave_bands air_absorption_db_per_km_reference();

struct noise_segment {
  xy a;
  xy b;
  octave_bands power_db_per_m{};  // L_W' per band (e.g. from line_sound_power_db_per_m)
};

struct propagation_options {
  double distance_min_m = 5.0;  // receptors closer than this to a line are moved out to it
  double ground_factor = 0.0;   // G: 0 hard (streets, squares), 1 porous (grass, fields)
  double temperature_c = 20.0;
  double humidity_percent = 70.0;
  bool air_absorption = true;
  std::size_t angle_steps = 32;  // steps of the numerical integral over the angle of view
};

// The A-weighted equivalent level at a receptor, dB(A): the energy sum over segments and bands.
// -infinity when no segment radiates.
double level_at(std::span<const noise_segment> segments, xy receptor,
                const propagation_options& options = {});
// The same per band, unweighted, dB.
octave_bands band_levels_at(std::span<const noise_segment> segments, xy receptor,
                            const propagation_options& options = {});

// ---------------------------------------------------------------------------------------------
// Day-evening-night levels (Directive 2002/49/EC, Annex I): day 07-19 (12 h), evening 19-23 (4 h,
// +5 dB), night 23-07 (8 h, +10 dB).
double lden(double ld_db, double le_db, double ln_db);

// Mean hourly flows of the three periods derived from a peak-hour flow. The default factors are
// an assumption of a typical urban weekday profile (mean day hour 80 %, evening hour 55 %, night
// hour 17 % of the peak hour); scenarios with counted profiles should pass their own.
struct period_factors {
  double day = 0.80;
  double evening = 0.55;
  double night = 0.17;
};
struct period_flows {
  double day_veh_h = 0;
  double evening_veh_h = 0;
  double night_veh_h = 0;
};
period_flows period_flows_from_peak(double peak_flow_veh_h, const period_factors& factors = {});

}  // namespace twin::env
