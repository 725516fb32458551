#include "twin/env/dispersion.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <utility>
#include <vector>

#include "twin/base/check.hpp"

// The batched kernel three times, for AVX-512, AVX2 and baseline x86-64 (GCC's target
// attribute; disperse() picks the best the processor runs, a test runs each); other processors
// build it once. The file is built without FMA contraction (-ffp-contract=off), so all three give
// the same bits.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TWIN_KERNEL_BUILDS 1
#else
#define TWIN_KERNEL_BUILDS 0
#endif

namespace twin::env {

namespace {

constexpr double pi = std::numbers::pi;
constexpr double sqrt_2pi = 2.5066282746310002;
constexpr double inv_sqrt2 = 0.70710678118654752;
// ISC3's value of g.
constexpr double gravity_m_s2 = 9.80616;

std::size_t idx(stability s) {
  return static_cast<std::size_t>(s);
}

// ---- Pasquill-Gifford, Turner / ISC3 curve fits (x in km, sigmas in m) ----

struct pg_y_row {
  double c;
  double d;
};
constexpr std::array<pg_y_row, stability_count> pg_y = {{{24.1670, 2.5334},
                                                         {18.3330, 1.8096},
                                                         {12.5000, 1.0857},
                                                         {8.3330, 0.72382},
                                                         {6.2500, 0.54287},
                                                         {4.1667, 0.36191}}};

struct pg_z_piece {
  double x_km_max;  // the piece applies up to this distance
  double a;
  double b;
};
constexpr double beyond = 1e300;
// Class A's last row is the 5000 m cap itself, written as a = 5000, b = 0.
constexpr pg_z_piece pg_z_a[] = {
    {0.10, 122.800, 0.94470}, {0.15, 158.080, 1.05420}, {0.20, 170.220, 1.09320},
    {0.25, 179.520, 1.12620}, {0.30, 217.410, 1.26440}, {0.40, 258.890, 1.40940},
    {0.50, 346.750, 1.72830}, {3.11, 453.850, 2.11660}, {beyond, 5000, 0}};
constexpr pg_z_piece pg_z_b[] = {
    {0.20, 90.673, 0.93198}, {0.40, 98.483, 0.98332}, {beyond, 109.300, 1.09710}};
constexpr pg_z_piece pg_z_c[] = {{beyond, 61.141, 0.91465}};
constexpr pg_z_piece pg_z_d[] = {{0.30, 34.459, 0.86974}, {1, 32.093, 0.81066},
                                 {3, 32.093, 0.64403},    {10, 33.504, 0.60486},
                                 {30, 36.650, 0.56589},   {beyond, 44.053, 0.51179}};
constexpr pg_z_piece pg_z_e[] = {
    {0.10, 24.260, 0.83660}, {0.30, 23.331, 0.81956}, {1, 21.628, 0.75660},
    {2, 21.628, 0.63077},    {4, 22.534, 0.57154},    {10, 24.703, 0.50527},
    {20, 26.970, 0.46713},   {40, 35.420, 0.37615},   {beyond, 47.618, 0.29592}};
constexpr pg_z_piece pg_z_f[] = {
    {0.20, 15.209, 0.81558}, {0.70, 14.457, 0.78407},  {1, 13.953, 0.68465},  {2, 13.953, 0.63227},
    {3, 14.823, 0.54503},    {7, 16.187, 0.46490},     {15, 17.836, 0.41507}, {30, 22.651, 0.32681},
    {60, 27.074, 0.27436},   {beyond, 34.219, 0.21716}};

std::span<const pg_z_piece> pg_z_pieces(stability s) {
  switch (s) {
    case stability::a:
      return pg_z_a;
    case stability::b:
      return pg_z_b;
    case stability::c:
      return pg_z_c;
    case stability::d:
      return pg_z_d;
    case stability::e:
      return pg_z_e;
    case stability::f:
      return pg_z_f;
  }
  return pg_z_d;
}

sigma_yz pg_sigmas(stability s, double x_m) {
  const double x_km = x_m / 1000.0;
  const auto& yr = pg_y[idx(s)];
  const double theta_rad = (yr.c - yr.d * std::log(x_km)) * pi / 180.0;
  const double sy = 465.11628 * x_km * std::tan(theta_rad);
  double sz = pg_sigma_z_max_m;
  for (const auto& piece : pg_z_pieces(s)) {
    if (x_km <= piece.x_km_max) {
      sz = piece.a * std::pow(x_km, piece.b);
      break;
    }
  }
  return {sy, std::min(sz, pg_sigma_z_max_m)};
}

// ---- Briggs (1973): sigma = a x (1 + b x)^p with p in {-1/2, +1/2, -1}, or a x ----

enum class briggs_form : std::uint8_t { linear, inv_sqrt, sqrt, inv };
struct briggs_curve {
  double a;
  double b;
  briggs_form form;
};
struct briggs_row {
  briggs_curve y;
  briggs_curve z;
};
using bf = briggs_form;
constexpr std::array<briggs_row, stability_count> briggs_rural_rows = {{
    {{0.22, 1e-4, bf::inv_sqrt}, {0.20, 0, bf::linear}},
    {{0.16, 1e-4, bf::inv_sqrt}, {0.12, 0, bf::linear}},
    {{0.11, 1e-4, bf::inv_sqrt}, {0.08, 2e-4, bf::inv_sqrt}},
    {{0.08, 1e-4, bf::inv_sqrt}, {0.06, 1.5e-3, bf::inv_sqrt}},
    {{0.06, 1e-4, bf::inv_sqrt}, {0.03, 3e-4, bf::inv}},
    {{0.04, 1e-4, bf::inv_sqrt}, {0.016, 3e-4, bf::inv}},
}};
constexpr std::array<briggs_row, stability_count> briggs_urban_rows = {{
    {{0.32, 4e-4, bf::inv_sqrt}, {0.24, 1e-3, bf::sqrt}},
    {{0.32, 4e-4, bf::inv_sqrt}, {0.24, 1e-3, bf::sqrt}},
    {{0.22, 4e-4, bf::inv_sqrt}, {0.20, 0, bf::linear}},
    {{0.16, 4e-4, bf::inv_sqrt}, {0.14, 3e-4, bf::inv_sqrt}},
    {{0.11, 4e-4, bf::inv_sqrt}, {0.08, 1.5e-3, bf::inv_sqrt}},
    {{0.11, 4e-4, bf::inv_sqrt}, {0.08, 1.5e-3, bf::inv_sqrt}},
}};

inline double briggs_eval(const briggs_curve& c, double x) {
  const double ax = c.a * x;
  switch (c.form) {
    case bf::linear:
      return ax;
    case bf::inv_sqrt:
      return ax / std::sqrt(1 + c.b * x);
    case bf::sqrt:
      return ax * std::sqrt(1 + c.b * x);
    case bf::inv:
      return ax / (1 + c.b * x);
  }
  return ax;
}

const briggs_row& briggs_for(sigma_scheme scheme, stability s) {
  return scheme == sigma_scheme::briggs_rural ? briggs_rural_rows[idx(s)]
                                              : briggs_urban_rows[idx(s)];
}

// ISC3 power-law exponents, A..F.
constexpr std::array<double, stability_count> exponent_rural = {0.07, 0.07, 0.10, 0.15, 0.35, 0.55};
constexpr std::array<double, stability_count> exponent_urban = {0.15, 0.15, 0.20, 0.25, 0.30, 0.30};

// Lid images: while sigma-z <= 1.6 L the 7th image is at least 14 L - 2 L = 12 L > 7.5 sigma-z
// away; images farther than 8.5 sigma-z (e^-36) are left out.
constexpr int lid_reflections_max = 7;
constexpr double image_sigmas_max = 8.5;

// Candidates of one receptor handled together, as many as fit in L1 beside the line data.
constexpr std::size_t kernel_batch_max = 128;

// exp(x), written so that a loop over it vectorizes (no call, no branch): x = k ln 2 + r with
// |r| <= ln 2 / 2, 2^k put into the exponent bits, exp(r) by its Taylor series to r^10 (relative
// error under 3e-13 against std::exp). Below -708 the result is 0, above 708 it is held at
// exp(708): the kernel's arguments are never positive beyond a few units.
[[gnu::always_inline]] inline double exp_lanes(double x) {
  constexpr double log2e = 1.4426950408889634;
  constexpr double ln2_hi = 6.93147180369123816490e-01;  // ln 2 split so that k ln2_hi is exact
  constexpr double ln2_lo = 1.90821492927058770002e-10;
  constexpr double shifter = 6755399441055744.0;  // 1.5 2^52: adding it rounds to an integer
  constexpr double lowest = -708.0;
  double xc = x < lowest ? lowest : x;
  xc = xc > -lowest ? -lowest : xc;
  const double kd = xc * log2e + shifter;
  const double k = kd - shifter;
  const double r = (xc - k * ln2_hi) - k * ln2_lo;
  double p = 1.0 / 3628800;
  p = p * r + 1.0 / 362880;
  p = p * r + 1.0 / 40320;
  p = p * r + 1.0 / 5040;
  p = p * r + 1.0 / 720;
  p = p * r + 1.0 / 120;
  p = p * r + 1.0 / 24;
  p = p * r + 1.0 / 6;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // The low bits of kd hold k (two's complement): shifted into the exponent field with its bias.
  const std::uint64_t scale = (std::bit_cast<std::uint64_t>(kd) + 1023) << 52;
  const double v = p * std::bit_cast<double>(scale);
  return x < lowest ? 0.0 : v;
}

// erf(z / sqrt 2) and exp(-z^2 / 2) from one exp: Abramowitz and Stegun 7.1.26, absolute error
// of the erf under 1.5e-7 (the map does not see it; the exact reference uses std::erf).
struct gauss_pair {
  double erf;  // erf(z / sqrt 2), the mass of N(0,1) in (-|z|, |z|) with z's sign
  double pdf;  // exp(-z^2 / 2)
};
constexpr double erf_p = 0.3275911;
inline double erf_poly(double t) {
  return t * (0.254829592 +
              t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
}
inline double erf_of(double z, double pdf) {
  const double t = 1.0 / (1.0 + erf_p * inv_sqrt2 * std::abs(z));
  const double e = 1.0 - erf_poly(t) * pdf;
  return z < 0 ? -e : e;
}
inline gauss_pair gauss(double z) {
  const double pdf = exp_lanes(-0.5 * z * z);
  return {erf_of(z, pdf), pdf};
}

// exp(x) for -0.01 < x <= 0 (to 1e-12) and cosh(x) for |x| < 0.1 (to 3e-13), by their series.
inline double exp_small(double x) {
  return 1 + x * (1 + x * (0.5 + x * (1.0 / 6 + x * (1.0 / 24))));
}
inline double cosh_small(double x) {
  const double x2 = x * x;
  return 1 + x2 * (0.5 + x2 * (1.0 / 24 + x2 * (1.0 / 720)));
}
inline double cosh_lanes(double x) {
  const double e = exp_lanes(x);
  return 0.5 * (e + 1 / e);
}
constexpr double exp_small_min = -0.01;
constexpr double cosh_small_max = 0.1;

// The vertical part of the Gaussian plume, 1/m: ground reflection and lid images while sigma-z
// <= 1.6 L, 1/L once well mixed. A plume released at or above the lid does not reach receptors
// under it. The images of order n pair up:
//   exp(k (e - 2nL)^2) + exp(k (e + 2nL)^2) = exp(k e^2) G^(n^2) 2 cosh(n y),
//   k = -1 / (2 sz^2), G = exp(4 k L^2), y = 4 k L e,
// and G^(n^2) and cosh(n y) follow by recurrences (G^((n+1)^2) = G^(n^2) G^(2n+1), cosh((n+1) y)
// = 2 cosh(y) cosh(n y) - cosh((n-1) y), stable for the growing cosh). Images farther than 8.5 sz
// are left out (the test is monotonic in n).
//
// In stages, so that a batch runs each stage as a vectorized loop and one pair gets the same bits:
// vertical_terms sets the exps by their series (exact enough where the arguments are small: a
// plume much deeper than z + h, images of a low source), vertical_exact redoes those that are not,
// vertical_sum adds the images. No branch in any of them.
struct vertical_state {
  double ea, eb;  // exp(k e1^2), exp(k e2^2)
  double a, b;    // their arguments
  double y1, y2;  // 4 k L e1, 4 k L e2 (0 when no image is needed)
  double c1, c2;  // cosh(y1), cosh(y2)
  double g;       // exp(4 k L^2)
};
[[gnu::always_inline]] inline vertical_state vertical_terms(double z_m, double h_m, double sz,
                                                            double lid_m) {
  vertical_state v;
  const double k = -0.5 / (sz * sz);
  const double e1 = z_m - h_m;
  const double e2 = z_m + h_m;
  v.a = k * e1 * e1;
  v.b = k * e2 * e2;
  v.ea = exp_small(v.a);
  v.eb = exp_small(v.b);
  // Without any image y is 0, so that cosh stays finite where G underflows.
  const bool images = 2 * lid_m - e2 <= image_sigmas_max * sz;
  v.y1 = images ? 4 * k * lid_m * e1 : 0.0;
  v.y2 = images ? 4 * k * lid_m * e2 : 0.0;
  v.c1 = cosh_small(v.y1);
  v.c2 = cosh_small(v.y2);
  v.g = exp_lanes(4 * k * lid_m * lid_m);
  return v;
}
// Whether vertical_exact changes anything.
inline bool vertical_needs_exp(const vertical_state& v) {
  return v.b <= exp_small_min;  // b <= a: both series hold when b's does
}
inline bool vertical_needs_cosh(const vertical_state& v) {
  return std::abs(v.y1) >= cosh_small_max || std::abs(v.y2) >= cosh_small_max;
}
[[gnu::always_inline]] inline void vertical_exact_exp(vertical_state& v) {
  const bool series = v.b > exp_small_min;
  const double ea = exp_lanes(v.a);
  const double eb = exp_lanes(v.b);
  v.ea = series ? v.ea : ea;
  v.eb = series ? v.eb : eb;
}
[[gnu::always_inline]] inline void vertical_exact_cosh(vertical_state& v) {
  const double c1 = cosh_lanes(v.y1);
  const double c2 = cosh_lanes(v.y2);
  v.c1 = std::abs(v.y1) < cosh_small_max ? v.c1 : c1;
  v.c2 = std::abs(v.y2) < cosh_small_max ? v.c2 : c2;
}
[[gnu::always_inline]] inline double vertical_sum(const vertical_state& s, double z_m, double h_m,
                                                  double sz, double lid_m) {
  const double e2 = z_m + h_m;
  double v = s.ea + s.eb;
  double cosh1 = s.c1, cosh1_prev = 1, cosh2 = s.c2, cosh2_prev = 1;
  double g_n2 = s.g;   // G^(n^2)
  double g_odd = s.g;  // G^(2n - 1)
  const double g_sq = s.g * s.g;
#pragma GCC unroll 8
  for (int n = 1; n <= lid_reflections_max; ++n) {
    const double term = g_n2 * 2 * (s.ea * cosh1 + s.eb * cosh2);
    v += 2.0 * n * lid_m - e2 <= image_sigmas_max * sz ? term : 0.0;
    const double next1 = 2 * s.c1 * cosh1 - cosh1_prev;
    const double next2 = 2 * s.c2 * cosh2 - cosh2_prev;
    cosh1_prev = cosh1;
    cosh1 = next1;
    cosh2_prev = cosh2;
    cosh2 = next2;
    g_odd *= g_sq;
    g_n2 *= g_odd;
  }
  const double mixed = sz > 1.6 * lid_m ? 1.0 / lid_m : v / (sqrt_2pi * sz);
  return h_m >= lid_m && z_m < lid_m ? 0.0 : mixed;
}

double vertical_factor(double z_m, double h_m, double sz, double lid_m) {
  vertical_state v = vertical_terms(z_m, h_m, sz, lid_m);
  if (vertical_needs_exp(v)) vertical_exact_exp(v);
  if (vertical_needs_cosh(v)) vertical_exact_cosh(v);
  return vertical_sum(v, z_m, h_m, sz, lid_m);
}

// The same over a batch, out[q] for h[q] and sz[q]; each stage a vectorized loop over columns,
// the exact stages only when some pair needs them.
[[gnu::always_inline]] inline void vertical_batch(double z_m, const double* h_m, const double* sz,
                                                  double lid_m, double* out, std::size_t n) {
  using column = std::array<double, kernel_batch_max>;
  column ea, eb, a, b, y1, y2, c1, c2, g;
  int needs_exp = 0, needs_cosh = 0;
  for (std::size_t q = 0; q < n; ++q) {
    const vertical_state v = vertical_terms(z_m, h_m[q], sz[q], lid_m);
    needs_exp |= vertical_needs_exp(v);
    needs_cosh |= vertical_needs_cosh(v);
    ea[q] = v.ea, eb[q] = v.eb, a[q] = v.a, b[q] = v.b, y1[q] = v.y1, y2[q] = v.y2;
    c1[q] = v.c1, c2[q] = v.c2, g[q] = v.g;
  }
  if (needs_exp) {
    for (std::size_t q = 0; q < n; ++q) {
      vertical_state v{ea[q], eb[q], a[q], b[q], 0, 0, 0, 0, 0};
      vertical_exact_exp(v);
      ea[q] = v.ea, eb[q] = v.eb;
    }
  }
  if (needs_cosh) {
    for (std::size_t q = 0; q < n; ++q) {
      vertical_state v{0, 0, 0, 0, y1[q], y2[q], c1[q], c2[q], 0};
      vertical_exact_cosh(v);
      c1[q] = v.c1, c2[q] = v.c2;
    }
  }
  for (std::size_t q = 0; q < n; ++q) {
    const vertical_state v{ea[q], eb[q], 0, 0, 0, 0, c1[q], c2[q], g[q]};
    out[q] = vertical_sum(v, z_m, h_m[q], sz[q], lid_m);
  }
}

// sqrt(sigma_z^2 + initial^2): an initial spread added in quadrature.
inline double grown(double sz, double initial_m) {
  return initial_m > 0 ? std::sqrt(sz * sz + initial_m * initial_m) : sz;
}

// The point kernel of a line element at downwind distance x (clamped to min_distance_m), crosswind
// offset y, per unit emission.
double element_kernel(const line_geometry& line, const line_conditions& c, double x, double y,
                      double z) {
  if (x <= 0 || x > c.max_distance_m) return 0;
  const double xe = std::max(x, c.min_distance_m);
  sigma_yz s = sigmas(c.scheme, c.stability_class, xe);
  s.z_m = grown(s.z_m, line.initial_sigma_z_m);
  return point_concentration(1.0, c.wind_m_s, s, line.release_height_m, y, z, c.mixing_height_m);
}

// Adaptive Simpson on [a, b] of f, to an absolute tolerance.
template <class F>
double simpson_step(const F& f, double a, double b, double fa, double fm, double fb, double whole,
                    double tol, int depth) {
  const double m = 0.5 * (a + b);
  const double lm = 0.5 * (a + m);
  const double rm = 0.5 * (m + b);
  const double flm = f(lm);
  const double frm = f(rm);
  const double left = (m - a) / 6 * (fa + 4 * flm + fm);
  const double right = (b - m) / 6 * (fm + 4 * frm + fb);
  const double delta = left + right - whole;
  if (depth <= 0 || std::abs(delta) <= 15 * tol) return left + right + delta / 15;
  return simpson_step(f, a, m, fa, flm, fm, left, tol / 2, depth - 1) +
         simpson_step(f, m, b, fm, frm, fb, right, tol / 2, depth - 1);
}

template <class F>
double integrate(const F& f, double a, double b, double tol) {
  if (b <= a) return 0;
  const double fa = f(a);
  const double fb = f(b);
  const double fm = f(0.5 * (a + b));
  const double whole = (b - a) / 6 * (fa + 4 * fm + fb);
  return simpson_step(f, a, b, fa, fm, fb, whole, tol, 40);
}

// Gauss-Legendre nodes and weights on [-1, 1], 4 points.
constexpr std::array<double, 4> gl_x = {-0.8611363115940526, -0.3399810435848563,
                                        0.3399810435848563, 0.8611363115940526};
constexpr std::array<double, 4> gl_w = {0.3478548451374538, 0.6521451548625461, 0.6521451548625461,
                                        0.3478548451374538};

}  // namespace

std::string_view to_string(sigma_scheme s) {
  switch (s) {
    case sigma_scheme::pasquill_gifford:
      return "pg";
    case sigma_scheme::briggs_urban:
      return "briggs-urban";
    case sigma_scheme::briggs_rural:
      return "briggs-rural";
  }
  return "?";
}

std::optional<sigma_scheme> parse_sigma_scheme(std::string_view text) {
  for (auto s :
       {sigma_scheme::pasquill_gifford, sigma_scheme::briggs_urban, sigma_scheme::briggs_rural}) {
    if (text == to_string(s)) return s;
  }
  return std::nullopt;
}

sigma_yz sigmas(sigma_scheme scheme, stability s, double x_m) {
  TWIN_REQUIRE_OP(x_m, >, 0.0);
  if (scheme == sigma_scheme::pasquill_gifford) return pg_sigmas(s, x_m);
  const briggs_row& row = briggs_for(scheme, s);
  return {briggs_eval(row.y, x_m), briggs_eval(row.z, x_m)};
}

double default_dtheta_dz_k_m(stability s) {
  switch (s) {
    case stability::e:
      return 0.020;
    case stability::f:
      return 0.035;
    default:
      return 0;
  }
}

plume_rise briggs_plume_rise(const stack& st, double wind_m_s, stability cls,
                             double air_temperature_k, double x_m) {
  TWIN_REQUIRE_OP(wind_m_s, >, 0.0);
  TWIN_REQUIRE_OP(st.exit_temperature_k, >, 0.0);
  TWIN_REQUIRE_OP(air_temperature_k, >, 0.0);
  TWIN_REQUIRE_OP(x_m, >=, 0.0);
  const double u = wind_m_s;
  const double vs = st.exit_velocity_m_s;
  const double d = st.diameter_m;
  const double ts = st.exit_temperature_k;
  const double ta = air_temperature_k;
  const double dt = std::max(0.0, ts - ta);

  plume_rise r;
  r.buoyancy_flux = gravity_m_s2 * vs * d * d * dt / (4 * ts);
  r.momentum_flux = vs * vs * d * d * ta / (4 * ts);
  r.downwash_height_m = st.height_m;
  if (vs < 1.5 * u) r.downwash_height_m = std::max(0.0, st.height_m + 2 * d * (vs / u - 1.5));
  const double fb = r.buoyancy_flux;
  const double fm = r.momentum_flux;
  // Jet entrainment coefficient of the momentum rise.
  const double beta_j = vs > 0 ? 1.0 / 3.0 + u / vs : 0;

  double final_rise = 0;
  const bool stable = cls == stability::e || cls == stability::f;
  if (!stable) {
    const double dt_cross = fb < 55 ? 0.0297 * ts * std::cbrt(vs) / std::pow(d, 2.0 / 3.0)
                                    : 0.00575 * ts * std::pow(vs, 2.0 / 3.0) / std::cbrt(d);
    if (fb > 0 && dt >= dt_cross) {
      if (fb < 55) {
        final_rise = 21.425 * std::pow(fb, 0.75) / u;
        r.final_distance_m = 49 * std::pow(fb, 0.625);
      } else {
        final_rise = 38.71 * std::pow(fb, 0.6) / u;
        r.final_distance_m = 119 * std::pow(fb, 0.4);
      }
      r.rise_m = x_m < r.final_distance_m ? 1.6 * std::cbrt(fb) * std::pow(x_m, 2.0 / 3.0) / u
                                          : final_rise;
    } else {
      r.momentum_dominated = true;
      final_rise = 3 * d * vs / u;
      r.final_distance_m = vs > 0 ? 4 * d * (vs + 3 * u) * (vs + 3 * u) / (vs * u) : 0;
      r.rise_m = vs > 0 ? std::cbrt(3 * fm * x_m / (beta_j * beta_j * u * u)) : 0;
    }
  } else {
    const double s = gravity_m_s2 * default_dtheta_dz_k_m(cls) / ta;
    const double dt_cross = 0.019582 * ts * vs * std::sqrt(s);
    if (fb > 0 && dt >= dt_cross) {
      final_rise = 2.6 * std::cbrt(fb / (u * s));
      r.final_distance_m = 2.0715 * u / std::sqrt(s);
      r.rise_m = x_m < r.final_distance_m ? 1.6 * std::cbrt(fb) * std::pow(x_m, 2.0 / 3.0) / u
                                          : final_rise;
    } else {
      r.momentum_dominated = true;
      // ISC3 takes the lesser of the stable and the unstable momentum rise.
      final_rise = std::min(1.5 * std::cbrt(fm / (u * std::sqrt(s))), 3 * d * vs / u);
      r.final_distance_m = 0.5 * pi * u / std::sqrt(s);
      const double phase = std::min(x_m * std::sqrt(s) / u, 0.5 * pi);
      r.rise_m =
          vs > 0 ? std::cbrt(3 * fm * std::sin(phase) / (beta_j * beta_j * u * std::sqrt(s))) : 0;
    }
  }
  r.rise_m = std::min(r.rise_m, final_rise);
  r.final = x_m >= r.final_distance_m;
  if (r.final) r.rise_m = final_rise;
  r.effective_height_m = r.downwash_height_m + r.rise_m;
  return r;
}

double wind_profile_exponent(stability s, bool urban) {
  return urban ? exponent_urban[idx(s)] : exponent_rural[idx(s)];
}

double wind_at_height(double wind_10m_m_s, double height_m, stability s, bool urban) {
  double u = wind_10m_m_s;
  if (height_m > wind_reference_height_m)
    u *= std::pow(height_m / wind_reference_height_m, wind_profile_exponent(s, urban));
  return std::max(u, wind_min_m_s);
}

double point_concentration(double q_g_s, double wind_m_s, sigma_yz s, double effective_height_m,
                           double y_m, double z_m, double mixing_height_m) {
  TWIN_REQUIRE_OP(wind_m_s, >, 0.0);
  TWIN_REQUIRE_OP(s.y_m, >, 0.0);
  TWIN_REQUIRE_OP(s.z_m, >, 0.0);
  TWIN_REQUIRE_OP(mixing_height_m, >, 0.0);
  const double horizontal = std::exp(-0.5 * y_m * y_m / (s.y_m * s.y_m)) / (sqrt_2pi * s.y_m);
  return q_g_s / wind_m_s * horizontal *
         vertical_factor(z_m, effective_height_m, s.z_m, mixing_height_m);
}

double line_concentration_exact(double q_g_m_s, const line_geometry& line, const line_conditions& c,
                                xy r, double receptor_z_m) {
  const double dx = line.b.x - line.a.x;
  const double dy = line.b.y - line.a.y;
  const double length = std::hypot(dx, dy);
  if (length <= 0) return 0;
  auto f = [&](double t) {
    return element_kernel(line, c, r.x - (line.a.x + t * dx), r.y - (line.a.y + t * dy),
                          receptor_z_m);
  };
  // Split where the integrand has kinks or a jump (x = 0, x = min distance) and at the point
  // nearest the receptor's crosswind position, so Simpson sees smooth pieces.
  std::vector<double> cuts = {0.0, 1.0};
  auto add_cut = [&](double t) {
    if (t > 0 && t < 1) cuts.push_back(t);
  };
  if (dx != 0) {
    add_cut((r.x - line.a.x) / dx);
    add_cut((r.x - c.min_distance_m - line.a.x) / dx);
    add_cut((r.x - c.max_distance_m - line.a.x) / dx);
  }
  if (dy != 0) add_cut((r.y - line.a.y) / dy);
  std::sort(cuts.begin(), cuts.end());
  // Absolute tolerance per unit of t: 1e-10 / (u L), orders of magnitude under the kernel of any
  // receptor within the 10 km the sigma curves cover.
  const double scale = 1.0 / (c.wind_m_s * length);
  double total = 0;
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i)
    total += integrate(f, cuts[i], cuts[i + 1], 1e-10 * scale);
  return q_g_m_s * length * total;
}

namespace {

// A receptor this many sigma-y beyond the crosswind end of a line gets less than 3e-5 of the
// line's crosswind integral: skipped.
constexpr double crosswind_sigmas_max = 4;

// Whether a line `gap` metres crosswind of a receptor (0 if the receptor is within its crosswind
// extent) and at most x_far upwind is within crosswind_sigmas_max sigma-y at x_far: with reach =
// 4 a and reach_b = b, 4 a x / sqrt(1 + b x) >= gap squared, no root. Exact for the Briggs
// sigma-y; for Pasquill-Gifford (b = 0, a the widest ratio) a bound. The grid's culling and the
// single-pair kernel use this one test, so that they agree on every pair.
inline bool within_reach(double gap, double x_far, double reach, double reach_b) {
  return gap * gap * (1 + reach_b * x_far) <= reach * reach * x_far * x_far;
}

// Sigmas of one scheme and class with the curve chosen once: every Briggs sigma-y is
// a x / sqrt(1 + b x), so only sigma-z needs the form.
struct sigma_curves {
  sigma_scheme scheme;
  stability cls;
  briggs_row row;
  sigma_curves(sigma_scheme s, stability c) : scheme(s), cls(c), row(briggs_for(s, c)) {}
  // An upper bound of sigma-y / x (PG's widest, class A, stays under 0.5 beyond 1 m).
  double sy_per_x_max() const { return scheme == sigma_scheme::pasquill_gifford ? 0.6 : row.y.a; }
  // within_reach's terms.
  double reach() const { return crosswind_sigmas_max * sy_per_x_max(); }
  double reach_b() const { return scheme == sigma_scheme::pasquill_gifford ? 0.0 : row.y.b; }
  sigma_yz operator()(double x) const {
    if (scheme == sigma_scheme::pasquill_gifford) return pg_sigmas(cls, x);
    return {row.y.a * x / std::sqrt(1 + row.y.b * x), briggs_eval(row.z, x)};
  }
  double y(double x) const {
    if (scheme == sigma_scheme::pasquill_gifford) return pg_sigmas(cls, x).y_m;
    return row.y.a * x / std::sqrt(1 + row.y.b * x);
  }
  double z(double x) const {
    if (scheme == sigma_scheme::pasquill_gifford) return pg_sigmas(cls, x).z_m;
    return briggs_eval(row.z, x);
  }
  // d sigma-y / dx given sigma-y at x: for a x (1 + b x)^-1/2 it is sy / x (1 + b x / 2) / (1 + b
  // x).
  double dy_dx(double x, double sy) const {
    if (scheme == sigma_scheme::pasquill_gifford)
      return (pg_sigmas(cls, x * 1.001).y_m - pg_sigmas(cls, x * 0.999).y_m) / (0.002 * x);
    const double bx = row.y.b * x;
    return sy / x * (1 + 0.5 * bx) / (1 + bx);
  }
};

// A line in the wind frame with what the fast kernel needs per receptor.
struct line_prepared {
  double ax, ay, bx, by;  // ends, wind frame
  double dx, dy;
  double length;
  double ylo, yhi;
  double inv_sin;  // metres of line per metre crosswind
  double x_per_y;  // dx / dy
  double release_height_m;
  double initial_sigma_z_m;
  bool parallel;
};

line_prepared prepare(const line_geometry& line) {
  line_prepared p{};
  p.ax = line.a.x;
  p.ay = line.a.y;
  p.bx = line.b.x;
  p.by = line.b.y;
  p.dx = p.bx - p.ax;
  p.dy = p.by - p.ay;
  p.length = std::hypot(p.dx, p.dy);
  p.ylo = std::min(p.ay, p.by);
  p.yhi = std::max(p.ay, p.by);
  p.release_height_m = line.release_height_m;
  p.initial_sigma_z_m = line.initial_sigma_z_m;
  p.parallel = std::abs(p.dy) < std::sin(line_parallel_deg * pi / 180) * p.length;
  if (!p.parallel) {
    p.inv_sin = p.length / std::abs(p.dy);
    p.x_per_y = p.dx / p.dy;
  }
  return p;
}

// Oblique lines are cut into pieces whose along-wind extent is at most this fraction of their
// distance to the receptor (one piece in the far field), at most line_pieces_max.
constexpr double piece_extent_per_distance = 0.5;
constexpr int line_pieces_max = 32;

// Receptors culled together against each line in disperse(): enough that the per-block pass over
// all lines costs little beside the per-receptor pass, few enough that the block stays small.
constexpr std::size_t block_receptors_max = 32;

// Oblique lines. Along the line, zeta(t) = crosswind offset / sigma-y(x(t)) at the line point t;
// substituting zeta makes the crosswind Gaussian integrate exactly into erf terms whose
// arguments use each END's own sigma-y, and leaves the slowly varying
//   g = L f_z(x) sigma-y / |-dy sigma-y + s dx sigma-y'|   (s the crosswind offset, f_z vertical)
// which is taken at the point nearest the receptor's crosswind position (for sigmas proportional
// to distance g is constant along the line: the form is exact). Long lines seen from near are cut
// into pieces; where zeta is not monotonic over a piece (the receptor near the line's extension)
// or the piece reaches within min_distance, the piece is a crosswind line at its nearest point.
// Returns per unit emission; `evaluated` tells whether the kernel ran (downwind and in range).
double line_oblique(const line_prepared& p, const sigma_curves& sg, double u, double lid,
                    double min_d, double max_d, double rx, double ry, double z, bool& evaluated) {
  const double xa = rx - p.ax;
  const double xb = rx - p.bx;
  const double x_near = std::min(xa, xb);
  const double x_far = std::max(xa, xb);
  evaluated = x_far > 0 && x_near <= max_d;
  if (!evaluated) return 0;
  const double gap = std::max({p.ylo - ry, ry - p.yhi, 0.0});
  if (!within_reach(gap, x_far, sg.reach(), sg.reach_b())) return 0;
  // Pasquill-Gifford's own sigma-y at x_far is tighter than the bound (sigma-y grows with x).
  if (sg.scheme == sigma_scheme::pasquill_gifford && gap > crosswind_sigmas_max * sg.y(x_far))
    return 0;
  // Piece boundaries in downwind distance, growing geometrically from the receptor.
  std::array<double, line_pieces_max + 1> bound;
  int count = 0;
  bound[count++] = x_near;
  double next = x_near < min_d ? min_d : x_near * (1 + piece_extent_per_distance);
  while (next < x_far && count < line_pieces_max) {
    bound[count++] = next;
    next *= 1 + piece_extent_per_distance;
  }
  bound[count++] = x_far;
  const bool across = std::abs(p.dx) < 1e-9 * p.length;  // no along-wind extent: one piece
  if (across) count = 2;
  const double t_star = (ry - p.ay) / p.dy;  // where the line crosses the receptor's y
  double total = 0;
  for (int i = 0; i + 1 < count; ++i) {
    if (bound[i + 1] <= 0 || bound[i] > max_d) continue;
    const double t0 = across ? 0 : (xa - bound[i]) / p.dx;
    const double t1 = across ? 1 : (xa - bound[i + 1]) / p.dx;
    const double step = t1 - t0;
    const double tc = std::clamp(t_star, std::min(t0, t1), std::max(t0, t1));
    const double xc = xa - tc * p.dx;
    const double x_0 = xa - t0 * p.dx;  // downwind distances of the piece's ends
    const double x_1 = xa - t1 * p.dx;
    const double s0 = ry - (p.ay + t0 * p.dy);  // crosswind offsets of the ends
    const double s1 = ry - (p.ay + t1 * p.dy);
    if (std::min(x_0, x_1) >= min_d && std::max(x_0, x_1) <= max_d) {
      const double sy0 = sg.y(x_0), sy1 = sg.y(x_1);
      const double d0 = -p.dy * sy0 + s0 * p.dx * sg.dy_dx(x_0, sy0);
      const double d1 = -p.dy * sy1 + s1 * p.dx * sg.dy_dx(x_1, sy1);
      if ((d0 > 0) == (d1 > 0)) {
        const double z0 = s0 / sy0, z1 = s1 / sy1;
        const gauss_pair g0 = gauss(z0), g1 = gauss(z1);
        const double crosswind = 0.5 * std::abs(g0.erf - g1.erf);
        if (crosswind < 1e-12) continue;
        // g at the Gaussian-weighted mean of zeta over the piece, (phi(z0) - phi(z1)) /
        // (Phi(z1) - Phi(z0)), mapped back to t linearly in zeta.
        double tm = 0.5 * (t0 + t1);
        if (std::abs(z1 - z0) > 1e-6) {
          const double zm = (g0.pdf - g1.pdf) / (sqrt_2pi * 0.5 * (g1.erf - g0.erf));
          tm = std::clamp(t0 + (zm - z0) / (z1 - z0) * step, std::min(t0, t1), std::max(t0, t1));
        }
        const double xm = xa - tm * p.dx;
        const double sym = sg.y(xm);
        const double sm = ry - (p.ay + tm * p.dy);
        const double dm = std::abs(-p.dy * sym + sm * p.dx * sg.dy_dx(xm, sym));
        const double fz =
            vertical_factor(z, p.release_height_m, grown(sg.z(xm), p.initial_sigma_z_m), lid);
        total += crosswind * p.length * fz * sym / dm;
        continue;
      }
    }
    if (xc <= 0 || xc > max_d) continue;
    const sigma_yz s = sg(std::max(xc, min_d));
    const double k = inv_sqrt2 / s.y_m;
    const double part = 0.5 * std::abs(std::erf(s0 * k) - std::erf(s1 * k)) * p.inv_sin;
    total += part * vertical_factor(z, p.release_height_m, grown(s.z_m, p.initial_sigma_z_m), lid);
  }
  return total / u;
}

// Near-parallel lines: point sub-sources at Gauss-Legendre nodes, in log distance where the
// distance is beyond min_distance (the kernel falls like a power of x there), linear within it.
double line_parallel(const line_prepared& p, const sigma_curves& sg, double u, double lid,
                     double min_d, double max_d, double rx, double ry, double z, bool& evaluated) {
  const double xa = rx - p.ax;
  const double xb = rx - p.bx;
  const double x_near = std::min(xa, xb);
  evaluated = std::max(xa, xb) > 0 && x_near <= max_d;
  if (!evaluated) return 0;
  const double x_far = std::min(std::max(xa, xb), max_d);
  const double gap = std::max(p.ylo - ry, ry - p.yhi);
  if (gap > crosswind_sigmas_max * sg.sy_per_x_max() * x_far) return 0;
  const double ddx = xb - xa;  // change of downwind distance from a to b
  auto element = [&](double x) {
    const double t = (x - xa) / ddx;
    const double xe = std::max(x, min_d);
    sigma_yz s = sg(xe);
    s.z_m = grown(s.z_m, p.initial_sigma_z_m);
    return point_concentration(1.0, u, s, p.release_height_m, ry - (p.ay + t * p.dy), z, lid);
  };
  const double per_x = p.length / std::abs(ddx);  // metres of line per metre downwind
  double total = 0;
  const double x_lo = std::max(x_near, 0.0);
  if (x_lo < min_d) {
    const double hi = std::min(min_d, x_far);
    const double mid = 0.5 * (x_lo + hi), half = 0.5 * (hi - x_lo);
    for (std::size_t i = 0; i < gl_x.size(); ++i)
      total += gl_w[i] * half * element(mid + half * gl_x[i]);
  }
  if (x_far > min_d) {
    const double l0 = std::log(std::max(x_lo, min_d)), l1 = std::log(x_far);
    const double mid = 0.5 * (l0 + l1), half = 0.5 * (l1 - l0);
    for (std::size_t i = 0; i < gl_x.size(); ++i) {
      const double x = std::exp(mid + half * gl_x[i]);
      total += gl_w[i] * half * x * element(x);
    }
  }
  return total * per_x;
}

double line_fast(const line_prepared& p, const sigma_curves& sg, double u, double lid, double min_d,
                 double max_d, double rx, double ry, double z, bool& evaluated) {
  return p.parallel ? line_parallel(p, sg, u, lid, min_d, max_d, rx, ry, z, evaluated)
                    : line_oblique(p, sg, u, lid, min_d, max_d, rx, ry, z, evaluated);
}

// The Briggs curve of sigma-z over a batch, the form chosen once so that each loop vectorizes.
[[gnu::always_inline]] inline void briggs_batch(const briggs_curve& c, const double* x, double* out,
                                                std::size_t n) {
  const double a = c.a, b = c.b;
  switch (c.form) {
    case bf::linear:
      for (std::size_t q = 0; q < n; ++q) out[q] = a * x[q];
      return;
    case bf::inv_sqrt:
      for (std::size_t q = 0; q < n; ++q) out[q] = a * x[q] / std::sqrt(1 + b * x[q]);
      return;
    case bf::sqrt:
      for (std::size_t q = 0; q < n; ++q) out[q] = a * x[q] * std::sqrt(1 + b * x[q]);
      return;
    case bf::inv:
      for (std::size_t q = 0; q < n; ++q) out[q] = a * x[q] / (1 + b * x[q]);
      return;
  }
}

// line_fast for a batch of lines at one receptor, c[k] for lines[k] (winds[k] the wind at its
// release height), the same values bit for bit. The lines are disperse()'s candidates: within
// reach of the receptor (within_reach), which is line_oblique's first test. The common case (a
// Briggs scheme, an oblique line seen as one piece, wholly between min_d and max_d, zeta monotonic
// along it: nearly every pair of a city grid) runs stage by stage over arrays, so that the square
// roots, divisions and exps of different lines go 2, 4 or 8 to an instruction; the rest
// goes through line_fast one by one. The expressions are line_oblique's, in its order. Inlined
// into one function per instruction set (line_fast_batch_*), all with the same bits.
[[gnu::always_inline]] inline void line_fast_batch(std::span<const line_prepared* const> lines,
                                                   std::span<const double> winds,
                                                   const sigma_curves& sg, double lid, double min_d,
                                                   double max_d, double rx, double ry, double z,
                                                   std::span<double> c) {
  const std::size_t n = lines.size();
  TWIN_CHECK_OP(n, <=, kernel_batch_max);
  using column = std::array<double, kernel_batch_max>;
  std::array<std::uint32_t, kernel_batch_max> index;
  column xa, dx, dy, ay, t0, t1, s0, s1, h, isz, len, wind;
  std::size_t m = 0;
  const bool briggs = sg.scheme != sigma_scheme::pasquill_gifford;
  for (std::size_t k = 0; k < n; ++k) {
    const line_prepared& p = *lines[k];
    const double xa_k = rx - p.ax;
    const double xb = rx - p.bx;
    const double x_near = std::min(xa_k, xb);
    const double x_far = std::max(xa_k, xb);
    const bool across = std::abs(p.dx) < 1e-9 * p.length;
    const bool one_piece = across || !(x_near * (1 + piece_extent_per_distance) < x_far);
    if (!briggs || p.parallel || !one_piece || x_near < min_d || x_far > max_d) {
      bool ran = false;
      c[k] = line_fast(p, sg, winds[k], lid, min_d, max_d, rx, ry, z, ran);
      continue;
    }
    index[m] = static_cast<std::uint32_t>(k);
    xa[m] = xa_k;
    dx[m] = p.dx;
    dy[m] = p.dy;
    ay[m] = p.ay;
    h[m] = p.release_height_m;
    isz[m] = p.initial_sigma_z_m;
    len[m] = p.length;
    wind[m] = winds[k];
    t0[m] = across ? 0 : (xa_k - x_near) / p.dx;
    t1[m] = across ? 1 : (xa_k - x_far) / p.dx;
    s0[m] = ry - (p.ay + t0[m] * p.dy);
    s1[m] = ry - (p.ay + t1[m] * p.dy);
    ++m;
  }
  if (m == 0) return;
  const double ya = sg.row.y.a, yb = sg.row.y.b;
  // sigma-y at x and its slope there (sigma_curves::y and dy_dx).
  auto sy_of = [ya, yb](double x) { return ya * x / std::sqrt(1 + yb * x); };
  auto slope = [yb](double x, double sy) {
    const double bx = yb * x;
    return sy / x * (1 + 0.5 * bx) / (1 + bx);
  };

  // The ends' sigma-y; zeta is monotonic along the line when d keeps its sign.
  column sy0, sy1, d0, d1;
  for (std::size_t q = 0; q < m; ++q) {
    const double x_0 = xa[q] - t0[q] * dx[q];
    const double x_1 = xa[q] - t1[q] * dx[q];
    sy0[q] = sy_of(x_0);
    sy1[q] = sy_of(x_1);
    d0[q] = -dy[q] * sy0[q] + s0[q] * dx[q] * slope(x_0, sy0[q]);
    d1[q] = -dy[q] * sy1[q] + s1[q] * dx[q] * slope(x_1, sy1[q]);
  }
  std::size_t kept = 0;
  for (std::size_t q = 0; q < m; ++q) {
    if ((d0[q] > 0) != (d1[q] > 0)) {
      const std::size_t k = index[q];
      bool ran = false;
      c[k] = line_fast(*lines[k], sg, winds[k], lid, min_d, max_d, rx, ry, z, ran);
      continue;
    }
    index[kept] = index[q];
    xa[kept] = xa[q];
    dx[kept] = dx[q];
    dy[kept] = dy[q];
    ay[kept] = ay[q];
    h[kept] = h[q];
    isz[kept] = isz[q];
    len[kept] = len[q];
    wind[kept] = wind[q];
    t0[kept] = t0[q];
    t1[kept] = t1[q];
    sy0[kept] = s0[q] / sy0[q];  // now zeta at the ends
    sy1[kept] = s1[q] / sy1[q];
    ++kept;
  }
  if (kept == 0) return;
  const column& z0 = sy0;
  const column& z1 = sy1;
  // gauss() stage by stage, each loop vectorized.
  column erf0, erf1, pdf0, pdf1;
  for (std::size_t q = 0; q < kept; ++q) pdf0[q] = exp_lanes(-0.5 * z0[q] * z0[q]);
  for (std::size_t q = 0; q < kept; ++q) pdf1[q] = exp_lanes(-0.5 * z1[q] * z1[q]);
  for (std::size_t q = 0; q < kept; ++q) erf0[q] = erf_of(z0[q], pdf0[q]);
  for (std::size_t q = 0; q < kept; ++q) erf1[q] = erf_of(z1[q], pdf1[q]);
  // g at the Gaussian-weighted mean of zeta over the line, mapped back to t linearly in zeta.
  column cross, xm, sm;
  for (std::size_t q = 0; q < kept; ++q) {
    cross[q] = 0.5 * std::abs(erf0[q] - erf1[q]);
    const double zm = (pdf0[q] - pdf1[q]) / (sqrt_2pi * 0.5 * (erf1[q] - erf0[q]));
    const double lo = std::min(t0[q], t1[q]), hi = std::max(t0[q], t1[q]);
    // std::clamp, written out so that the loop vectorizes.
    const double v = t0[q] + (zm - z0[q]) / (z1[q] - z0[q]) * (t1[q] - t0[q]);
    const double mapped = v < lo ? lo : (hi < v ? hi : v);
    const double tm = std::abs(z1[q] - z0[q]) > 1e-6 ? mapped : 0.5 * (t0[q] + t1[q]);
    xm[q] = xa[q] - tm * dx[q];
    sm[q] = ry - (ay[q] + tm * dy[q]);
  }
  column sym, szm, dm, fz;
  for (std::size_t q = 0; q < kept; ++q) sym[q] = sy_of(xm[q]);
  briggs_batch(sg.row.z, xm.data(), szm.data(), kept);
  for (std::size_t q = 0; q < kept; ++q) {
    dm[q] = std::abs(-dy[q] * sym[q] + sm[q] * dx[q] * slope(xm[q], sym[q]));
  }
  for (std::size_t q = 0; q < kept; ++q) szm[q] = grown(szm[q], isz[q]);
  vertical_batch(z, h.data(), szm.data(), lid, fz.data(), kept);
  // A receptor in the far tail of the crosswind profile gets nothing (as line_oblique).
  for (std::size_t q = 0; q < kept; ++q)
    fz[q] = cross[q] < 1e-12 ? 0.0 : cross[q] * len[q] * fz[q] * sym[q] / dm[q] / wind[q];
  for (std::size_t q = 0; q < kept; ++q) c[index[q]] = fz[q];
}

using batch_kernel = void (*)(std::span<const line_prepared* const>, std::span<const double>,
                              const sigma_curves&, double, double, double, double, double, double,
                              std::span<double>);

void line_fast_batch_baseline(std::span<const line_prepared* const> lines,
                              std::span<const double> winds, const sigma_curves& sg, double lid,
                              double min_d, double max_d, double rx, double ry, double z,
                              std::span<double> c) {
  line_fast_batch(lines, winds, sg, lid, min_d, max_d, rx, ry, z, c);
}

#if TWIN_KERNEL_BUILDS
__attribute__((target("avx2"))) void line_fast_batch_avx2(
    std::span<const line_prepared* const> lines, std::span<const double> winds,
    const sigma_curves& sg, double lid, double min_d, double max_d, double rx, double ry, double z,
    std::span<double> c) {
  line_fast_batch(lines, winds, sg, lid, min_d, max_d, rx, ry, z, c);
}

__attribute__((target("avx512f"))) void line_fast_batch_avx512(
    std::span<const line_prepared* const> lines, std::span<const double> winds,
    const sigma_curves& sg, double lid, double min_d, double max_d, double rx, double ry, double z,
    std::span<double> c) {
  line_fast_batch(lines, winds, sg, lid, min_d, max_d, rx, ry, z, c);
}
#endif

batch_kernel kernel_of(kernel_build b) {
  TWIN_CHECK(runs_here(b));
  switch (b) {
#if TWIN_KERNEL_BUILDS
    case kernel_build::avx512:
      return line_fast_batch_avx512;
    case kernel_build::avx2:
      return line_fast_batch_avx2;
#endif
    default:
      return line_fast_batch_baseline;
  }
}

// The wind frame of a weather: x along the direction the wind blows to, y to its left.
struct wind_frame {
  double dx, dy;  // downwind unit vector (east, north)
  explicit wind_frame(double from_deg)
      : dx(-std::sin(from_deg * pi / 180)), dy(-std::cos(from_deg * pi / 180)) {}
  xy operator()(xy p) const { return {p.x * dx + p.y * dy, p.y * dx - p.x * dy}; }
};

}  // namespace

std::string_view to_string(kernel_build b) {
  switch (b) {
    case kernel_build::avx512:
      return "AVX-512";
    case kernel_build::avx2:
      return "AVX2";
    case kernel_build::baseline:
      break;
  }
  return "baseline";
}

bool runs_here(kernel_build b) {
#if TWIN_KERNEL_BUILDS
  __builtin_cpu_init();
  switch (b) {
    case kernel_build::avx512:
      return __builtin_cpu_supports("avx512f");
    case kernel_build::avx2:
      return __builtin_cpu_supports("avx2");
    case kernel_build::baseline:
      return true;
  }
  return false;
#else
  return b == kernel_build::baseline;
#endif
}

kernel_build best_kernel_build() {
  for (kernel_build b : {kernel_build::avx512, kernel_build::avx2})
    if (runs_here(b)) return b;
  return kernel_build::baseline;
}

double line_concentration(double q_g_m_s, const line_geometry& line, const line_conditions& c, xy r,
                          double receptor_z_m) {
  const line_prepared p = prepare(line);
  if (p.length <= 0) return 0;
  bool evaluated = false;
  return q_g_m_s * line_fast(p, sigma_curves(c.scheme, c.stability_class), c.wind_m_s,
                             c.mixing_height_m, c.min_distance_m, c.max_distance_m, r.x, r.y,
                             receptor_z_m, evaluated);
}

dispersion_counts disperse(const weather& w, const dispersion_options& o,
                           std::span<const point_emitter> points,
                           std::span<const line_emitter> lines, std::span<const xy> receptors,
                           std::array<std::span<double>, pollutant_count> out) {
  return disperse(w, o, points, lines, receptors, out, best_kernel_build());
}

dispersion_counts disperse(const weather& w, const dispersion_options& o,
                           std::span<const point_emitter> points,
                           std::span<const line_emitter> lines, std::span<const xy> receptors,
                           std::array<std::span<double>, pollutant_count> out, kernel_build build) {
  const batch_kernel kernel = kernel_of(build);
  TWIN_REQUIRE_OP(o.min_distance_m, >, 0.0);
  TWIN_REQUIRE_OP(o.max_distance_m, >, o.min_distance_m);
  TWIN_REQUIRE_OP(w.mixing_height_m, >, 0.0);
  std::array<std::size_t, pollutant_count> active{};
  std::size_t active_count = 0;
  for (std::size_t p = 0; p < pollutant_count; ++p) {
    if (out[p].empty()) continue;
    TWIN_CHECK_OP(out[p].size(), ==, receptors.size());
    active[active_count++] = p;
  }
  dispersion_counts counts;
  counts.pairs = (points.size() + lines.size()) * receptors.size();
  if (active_count == 0 || receptors.empty()) return counts;

  const stability cls = w.stability_class;
  const double lid = w.mixing_height_m;
  const double z = o.receptor_height_m;
  const wind_frame frame(w.wind_from_deg);
  const sigma_curves curves(o.scheme, cls);
  std::vector<xy> rw(receptors.size());
  for (std::size_t i = 0; i < receptors.size(); ++i) rw[i] = frame(receptors[i]);

  for (const point_emitter& e : points) {
    const double u = wind_at_height(w.wind_speed_m_s, e.s.height_m, cls, o.urban);
    const xy sw = frame(e.at);
    // A stack given without exit conditions does not rise.
    const bool rises = e.s.exit_temperature_k > 0;
    for (std::size_t i = 0; i < rw.size(); ++i) {
      const double x = rw[i].x - sw.x;
      if (x <= 0 || x > o.max_distance_m) continue;
      ++counts.evaluated;
      const double xe = std::max(x, o.min_distance_m);
      const double h =
          rises ? briggs_plume_rise(e.s, u, cls, w.air_temperature_k, xe).effective_height_m
                : e.s.height_m;
      const double c = point_concentration(1.0, u, curves(xe), h, rw[i].y - sw.y, z, lid);
      for (std::size_t k = 0; k < active_count; ++k) out[active[k]][i] += e.g_s[active[k]] * c;
    }
  }

  struct prepared_emitter {
    line_prepared p;
    double u;
    per_pollutant q;
  };
  std::vector<prepared_emitter> prepared;
  prepared.reserve(lines.size());
  for (const line_emitter& e : lines) {
    const line_geometry g{frame(e.a), frame(e.b), e.release_height_m, e.initial_sigma_z_m};
    const line_prepared p = prepare(g);
    if (p.length <= 0) continue;
    prepared.push_back(
        {p, wind_at_height(w.wind_speed_m_s, e.release_height_m, cls, o.urban), e.g_m_s});
  }
  // What the first pass reads, as plain arrays so that it stays in cache and runs branch-free.
  const std::size_t n = prepared.size();
  TWIN_CHECK_OP(n, <=, std::size_t{UINT32_MAX});  // candidates are 32-bit indices
  std::vector<double> ax(n), bx(n), ylo(n), yhi(n);
  for (std::size_t j = 0; j < n; ++j) {
    ax[j] = prepared[j].p.ax;
    bx[j] = prepared[j].p.bx;
    ylo[j] = prepared[j].p.ylo;
    yhi[j] = prepared[j].p.yhi;
  }
  // sigma-y <= a x / sqrt(1 + b x) for Briggs (exact), a x for PG (a bound).
  const double reach = curves.reach();
  const double reach_b = curves.reach_b();
  const double max_d = o.max_distance_m;
  const double block_reach2 = reach * reach * (1 + 1e-9);

  // Pairs downwind and in range, counted per receptor from the sorted ends: rx - lo > 0 and
  // rx - hi > max_d are monotonic in lo and hi, so each is a prefix of its sorted array, and the
  // second implies the first.
  std::vector<double> lo_sorted(n), hi_sorted(n);
  for (std::size_t j = 0; j < n; ++j) {
    lo_sorted[j] = std::min(ax[j], bx[j]);
    hi_sorted[j] = std::max(ax[j], bx[j]);
  }
  std::sort(lo_sorted.begin(), lo_sorted.end());
  std::sort(hi_sorted.begin(), hi_sorted.end());
  for (const xy& r : rw) {
    const auto upwind_end = std::partition_point(lo_sorted.begin(), lo_sorted.end(),
                                                 [&](double lo) { return r.x - lo > 0; });
    const auto far_end = std::partition_point(hi_sorted.begin(), hi_sorted.end(),
                                              [&](double hi) { return r.x - hi > max_d; });
    counts.evaluated += static_cast<std::uint64_t>((upwind_end - lo_sorted.begin()) -
                                                   (far_end - hi_sorted.begin()));
  }

  // Receptors in blocks of neighbours (square cells of the wind frame holding about
  // block_receptors_max each): a line that cannot reach the block's bounding box is dropped for
  // all of them at once, and the per-receptor pass below reads only the block's survivors.
  const std::size_t m = rw.size();
  double x_min = rw[0].x, x_max = rw[0].x, y_min = rw[0].y, y_max = rw[0].y;
  for (const xy& r : rw) {
    x_min = std::min(x_min, r.x);
    x_max = std::max(x_max, r.x);
    y_min = std::min(y_min, r.y);
    y_max = std::max(y_max, r.y);
  }
  const double area = std::max((x_max - x_min) * (y_max - y_min), 1.0);
  const double cell_m = std::max(
      std::sqrt(area * static_cast<double>(block_receptors_max) / static_cast<double>(m)), 1.0);
  const auto cells_x = static_cast<std::uint64_t>((x_max - x_min) / cell_m) + 1;
  std::vector<std::pair<std::uint64_t, std::uint32_t>> order(m);
  TWIN_CHECK_OP(m, <=, std::size_t{UINT32_MAX});
  for (std::size_t i = 0; i < m; ++i) {
    const auto cx = static_cast<std::uint64_t>((rw[i].x - x_min) / cell_m);
    const auto cy = static_cast<std::uint64_t>((rw[i].y - y_min) / cell_m);
    order[i] = {cy * cells_x + cx, static_cast<std::uint32_t>(i)};
  }
  std::sort(order.begin(), order.end());

  std::vector<std::uint32_t> block_lines(n);
  std::vector<std::uint32_t> candidates(n);
  std::array<const line_prepared*, kernel_batch_max> batch_lines{};
  std::array<double, kernel_batch_max> batch_winds{}, batch_c{};
  // Receptors outside, sources inside: the sums stay in registers and a caller may split the
  // receptors between threads. Per receptor, the lines in reach (downwind, in range, within
  // reach sigma-y crosswind) in index order, then the kernel on those only.
  for (std::size_t b0 = 0; b0 < m;) {
    std::size_t b1 = b0 + 1;
    while (b1 < m && b1 - b0 < block_receptors_max && order[b1].first == order[b0].first) ++b1;
    double bx0 = rw[order[b0].second].x, bx1 = bx0;
    double by0 = rw[order[b0].second].y, by1 = by0;
    for (std::size_t k = b0; k < b1; ++k) {
      const xy& r = rw[order[k].second];
      bx0 = std::min(bx0, r.x);
      bx1 = std::max(bx1, r.x);
      by0 = std::min(by0, r.y);
      by1 = std::max(by1, r.y);
    }
    // The per-receptor test below, with each term at its most favourable over the box (the reach
    // a x / sqrt(1 + b x) grows with x) and a margin of rounding on the reach: a line the test
    // keeps for any receptor of the box is kept for the box.
    std::size_t in_block = 0;
    for (std::size_t j = 0; j < n; ++j) {
      const double x_far = bx1 - std::min(ax[j], bx[j]);
      const bool runs = (x_far > 0) & (bx0 - std::max(ax[j], bx[j]) <= max_d);
      const double gap = std::max({ylo[j] - by1, by0 - yhi[j], 0.0});
      block_lines[in_block] = static_cast<std::uint32_t>(j);
      in_block += runs & (gap * gap * (1 + reach_b * x_far) <= block_reach2 * x_far * x_far);
    }
    for (std::size_t k = b0; k < b1; ++k) {
      const std::size_t i = order[k].second;
      const double rx = rw[i].x;
      const double ry = rw[i].y;
      std::size_t found = 0;
      for (std::size_t q = 0; q < in_block; ++q) {
        const std::size_t j = block_lines[q];
        const double xa = rx - ax[j];
        const double xb = rx - bx[j];
        const double x_far = std::max(xa, xb);
        const bool runs = (x_far > 0) & (std::min(xa, xb) <= max_d);
        const double gap = std::max({ylo[j] - ry, ry - yhi[j], 0.0});
        candidates[found] = static_cast<std::uint32_t>(j);
        found += runs & within_reach(gap, x_far, reach, reach_b);
      }
      std::array<double, pollutant_count> acc{};
      for (std::size_t q0 = 0; q0 < found; q0 += kernel_batch_max) {
        const std::size_t count = std::min(found - q0, kernel_batch_max);
        for (std::size_t q = 0; q < count; ++q) {
          const prepared_emitter& e = prepared[candidates[q0 + q]];
          batch_lines[q] = &e.p;
          batch_winds[q] = e.u;
        }
        kernel({batch_lines.data(), count}, {batch_winds.data(), count}, curves, lid,
               o.min_distance_m, max_d, rx, ry, z, {batch_c.data(), count});
        for (std::size_t q = 0; q < count; ++q) {
          const double c = batch_c[q];
          if (c == 0) continue;
          const prepared_emitter& e = prepared[candidates[q0 + q]];
          for (std::size_t a = 0; a < active_count; ++a) acc[active[a]] += e.q[active[a]] * c;
        }
      }
      for (std::size_t a = 0; a < active_count; ++a) out[active[a]][i] += acc[active[a]];
    }
    b0 = b1;
  }
  return counts;
}

}  // namespace twin::env
