#pragma once

// Gaussian dispersion of stacks and roads to receptors: Pasquill-Gifford and Briggs sigmas, Briggs
// plume rise as in EPA's ISC3, ground reflection and a mixing lid, finite line sources, and the
// grid kernel that accumulates every source at every receptor.
//
// Frames: sources and receptors are given in the local_frame (metres east/north). The single-source
// functions below (point_concentration, line_concentration) work in the WIND frame: x downwind,
// y crosswind (to the left looking downwind), z above ground. disperse() does the rotation.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "twin/env/types.hpp"

namespace twin::env {

// Which curves give sigma-y and sigma-z as functions of downwind distance.
enum class sigma_scheme : std::uint8_t { pasquill_gifford, briggs_urban, briggs_rural };
std::string_view to_string(sigma_scheme s);  // "pg", "briggs-urban", ...
std::optional<sigma_scheme> parse_sigma_scheme(std::string_view text);

struct sigma_yz {
  double y_m = 0;
  double z_m = 0;
};

// Pasquill-Gifford: the Turner / ISC3 curve fits (sigma-z capped at 5000 m). Briggs: his 1973
// urban and rural formulas (stated valid 100 m - 10 km; used as they are outside that range).
// x_m > 0.
sigma_yz sigmas(sigma_scheme scheme, stability s, double x_m);

// Bounds of the Turner sigma-z curves (ISC3).
inline constexpr double pg_sigma_z_max_m = 5000;

struct stack {
  double height_m = 0;
  double diameter_m = 0;
  double exit_velocity_m_s = 0;
  double exit_temperature_k = 0;
};

struct plume_rise {
  double buoyancy_flux = 0;       // Fb, m4/s3
  double momentum_flux = 0;       // Fm, m4/s2
  double downwash_height_m = 0;   // h': the stack height after stack-tip downwash
  double rise_m = 0;              // rise at the distance asked (gradual before final_distance_m)
  double effective_height_m = 0;  // h' + rise
  double final_distance_m = 0;    // xf, where the rise stops
  bool final = false;             // x >= xf
  bool momentum_dominated = false;
};

// Default potential temperature gradients of the stable classes (ISC3): E 0.020 K/m,
// F 0.035 K/m; 0 for A-D.
double default_dtheta_dz_k_m(stability s);

// Briggs plume rise as in the ISC3 user's guide (vol. II, 1.1.4): stack-tip downwash, buoyancy or
// momentum dominated by the crossover temperature difference, gradual rise before xf, and the
// stable-class formulas with default_dtheta_dz_k_m. wind_m_s is the wind at stack top, >= 1.
plume_rise briggs_plume_rise(const stack& s, double wind_m_s, stability cls,
                             double air_temperature_k, double x_m);

// The Gaussian plume fails in calms: the wind at release never goes below this.
inline constexpr double wind_min_m_s = 1.0;
// Height of the reference (weather) wind.
inline constexpr double wind_reference_height_m = 10.0;

// Power-law exponents of the wind profile, per class (ISC3 defaults): rural 0.07 0.07 0.10 0.15
// 0.35 0.55, urban 0.15 0.15 0.20 0.25 0.30 0.30.
double wind_profile_exponent(stability s, bool urban);
// The 10 m wind at release height: power law above 10 m, the 10 m wind below (as ISC3 does not
// extrapolate below the anemometer), never below wind_min_m_s.
double wind_at_height(double wind_10m_m_s, double height_m, stability s, bool urban);

// Gaussian plume of a point source, g/m3 per the q_g_s given, with ground reflection and a mixing
// lid: image terms while sigma-z <= 1.6 L, well mixed (Q / (sqrt(2 pi) sy L u)) beyond.
// Receptor at crosswind y_m, height z_m; wind at release height wind_m_s.
double point_concentration(double q_g_s, double wind_m_s, sigma_yz s, double effective_height_m,
                           double y_m, double z_m, double mixing_height_m);

// A straight line source in the wind frame: from a to b (x downwind, y crosswind), emitting
// q_g_m_s per metre of length at release_height_m, with an initial vertical spread added in
// quadrature to sigma-z; receptor at r, height receptor_z_m. Parts of the line within
// min_distance_m upwind of the receptor are taken at min_distance_m (the Gaussian plume has no
// meaning at the source); parts downwind of the receptor, or more than max_distance_m upwind,
// contribute nothing.
struct line_geometry {
  xy a;
  xy b;
  double release_height_m = 0;
  double initial_sigma_z_m = 0;
};
struct line_conditions {
  double wind_m_s = 1;
  stability stability_class = stability::d;
  sigma_scheme scheme = sigma_scheme::briggs_urban;
  double mixing_height_m = 800;
  double min_distance_m = 10;
  double max_distance_m = 10'000;  // parts of the line farther downwind contribute nothing
};

// Exact reference: the point kernel integrated numerically along the line (adaptive Simpson).
double line_concentration_exact(double q_g_m_s, const line_geometry& line, const line_conditions& c,
                                xy r, double receptor_z_m);

// The fast form the grid uses. Along the line, zeta = crosswind offset / sigma-y(x) turns the
// crosswind Gaussian into erf terms whose arguments use each END's own sigma-y; what remains
// (1/sigma-z and the Jacobian) is constant along the line when the sigmas grow linearly with
// distance (the form is then exact) and is taken at the Gaussian-weighted mean point otherwise.
// Lines seen from near are cut into pieces whose along-wind extent is at most half their distance
// to the receptor. Receptors more than 4 sigma-y beyond a line's crosswind ends (< 3e-5 of its
// crosswind integral) get nothing from it. Lines within line_parallel_deg of the wind: point
// sub-sources at Gauss-Legendre nodes. Tested against line_concentration_exact over random
// geometries: |fast - exact| <= 10 % of exact + 2 % of the infinite crosswind line there.
double line_concentration(double q_g_m_s, const line_geometry& line, const line_conditions& c, xy r,
                          double receptor_z_m);

inline constexpr double line_parallel_deg = 0.01;

// ---- the grid kernel ----

struct point_emitter {
  xy at;
  stack s;
  per_pollutant g_s{};
};

struct line_emitter {
  xy a;
  xy b;
  double release_height_m = 0;
  // Vehicle-induced mixing behind traffic: a few metres (see road_initial_sigma_z_m).
  double initial_sigma_z_m = 0;
  per_pollutant g_m_s{};
};

// Initial vertical spread of road emissions from vehicle wakes, a default for emitters that have
// none of their own: 1.5 m, in the 1-3 m range roadway dispersion models use.
inline constexpr double road_initial_sigma_z_m = 1.5;

struct dispersion_options {
  sigma_scheme scheme = sigma_scheme::briggs_urban;
  double receptor_height_m = 1.5;
  // Downwind distances below this are taken at this distance: the receptor is then in the near
  // field the Gaussian plume does not describe (sigmas near zero give unbounded values).
  double min_distance_m = 10;
  // Pairs farther apart downwind than this are skipped: the limit of the Briggs sigma curves.
  double max_distance_m = 10'000;
  // Urban or rural wind profile exponents for the wind at release height.
  bool urban = true;
};

struct dispersion_counts {
  std::uint64_t pairs = 0;  // sources x receptors
  // Downwind of a source and within max_distance_m: pairs the model had to look at (including
  // those then found more than 4 sigma-y off the plume); the rest are upwind or out of range.
  std::uint64_t evaluated = 0;
};

// Adds the concentration (g/m3) of every emitter at every receptor to out[p][i], for every
// pollutant p whose out span is not empty (each must then have receptors.size() entries). Upwind
// pairs add 0. The wind at release height follows wind_at_height.
dispersion_counts disperse(const weather& w, const dispersion_options& o,
                           std::span<const point_emitter> points,
                           std::span<const line_emitter> lines, std::span<const xy> receptors,
                           std::array<std::span<double>, pollutant_count> out);

// disperse()'s batched line kernel is built for AVX-512, AVX2 and baseline x86-64 (with GCC on
// x86-64; elsewhere only the baseline), all giving the same bits; disperse() uses the best build
// the processor runs.
enum class kernel_build : std::uint8_t { avx512, avx2, baseline };
std::string_view to_string(kernel_build b);
bool runs_here(kernel_build b);  // the baseline always runs
kernel_build best_kernel_build();

// disperse() with the given build of its batched kernel, which must run here.
dispersion_counts disperse(const weather& w, const dispersion_options& o,
                           std::span<const point_emitter> points,
                           std::span<const line_emitter> lines, std::span<const xy> receptors,
                           std::array<std::span<double>, pollutant_count> out, kernel_build build);

}  // namespace twin::env
