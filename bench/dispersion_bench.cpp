// Source-receptor evaluations per second of the dispersion grid kernel: a 200 x 200 receptor grid
// (50 m apart) against 5,000 road segments of a city-like random layout, one wind, on one thread
// and on two (the threads take chunks of receptors from a shared counter). Beside it, a REFERENCE
// measured in the same run: the same model written the textbook way (rotation, std::pow sigmas, erf
// and exp per pair, nothing hoisted or skipped), on a sample of receptor rows.
#include <time.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "twin/env/dispersion.hpp"

namespace {

using namespace twin::env;
using clock_type = std::chrono::steady_clock;
constexpr double pi = std::numbers::pi;
// The fast kernel may differ from the textbook code by its erf approximation and 4-sigma cut, far
// less than this relative difference at any receptor that gets a thousandth of the maximum.
constexpr double drift_max = 0.01;

struct city_layout {
  std::vector<line_emitter> roads;
  std::vector<xy> receptors;
};

// Streets mostly on two grid directions (a district's blocks turned by its own angle), some at
// random, lengths 40-300 m, denser towards the centre; receptors on a regular grid.
city_layout make_city(std::size_t grid_side, double spacing_m, std::size_t roads,
                      std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const double extent = static_cast<double>(grid_side - 1) * spacing_m;
  std::normal_distribution<double> centre(0.5 * extent, 0.22 * extent);
  std::uniform_real_distribution<double> unit(0, 1);
  std::uniform_real_distribution<double> length(40, 300);
  city_layout c;
  for (std::size_t i = 0; i < grid_side; ++i)
    for (std::size_t j = 0; j < grid_side; ++j)
      c.receptors.push_back(
          {static_cast<double>(j) * spacing_m, static_cast<double>(i) * spacing_m});
  while (c.roads.size() < roads) {
    const xy m{centre(rng), centre(rng)};
    if (m.x < 0 || m.y < 0 || m.x > extent || m.y > extent) continue;
    const double district_angle = std::floor(m.x / 2500) * 0.31 + std::floor(m.y / 2500) * 0.17;
    const double r = unit(rng);
    const double angle = r < 0.45  ? district_angle
                         : r < 0.9 ? district_angle + pi / 2
                                   : unit(rng) * pi;
    const double half = 0.5 * length(rng);
    // Light-duty traffic of a few hundred to a few thousand vehicles an hour, g/m/s.
    const double q = 1e-6 * (50 + 950 * unit(rng));
    c.roads.push_back({{m.x - half * std::cos(angle), m.y - half * std::sin(angle)},
                       {m.x + half * std::cos(angle), m.y + half * std::sin(angle)},
                       0.5,
                       road_initial_sigma_z_m,
                       {q, 0.05 * q, 300 * q}});
  }
  return c;
}

// The textbook form of the same model, one pair at a time: rotation, std::pow sigmas, std::erf
// and std::exp for every piece, every image term, no early exit but upwind.
double textbook_pair(const weather& w, const dispersion_options& o, const line_emitter& e, xy r) {
  const double th = w.wind_from_deg * pi / 180;
  const double ux = -std::sin(th), uy = -std::cos(th);
  auto rot = [&](xy p) { return xy{p.x * ux + p.y * uy, p.y * ux - p.x * uy}; };
  const xy a = rot(e.a), b = rot(e.b), rr = rot(r);
  const double u = std::max(w.wind_speed_m_s, wind_min_m_s);
  const double lid = w.mixing_height_m;
  const double z = o.receptor_height_m, h = e.release_height_m;
  // Briggs urban D, the case benchmarked.
  auto sy = [](double x) { return 0.16 * x * std::pow(1 + 4e-4 * x, -0.5); };
  auto sy_dx = [](double x) {
    return 0.16 * std::pow(1 + 4e-4 * x, -0.5) -
           0.5 * 0.16 * 4e-4 * x * std::pow(1 + 4e-4 * x, -1.5);
  };
  auto sz = [&](double x) {
    return std::sqrt(std::pow(0.14 * x * std::pow(1 + 3e-4 * x, -0.5), 2) +
                     std::pow(e.initial_sigma_z_m, 2));
  };
  auto vertical = [&](double s) {
    if (s > 1.6 * lid) return 1 / lid;
    double v = 0;
    for (int n = -7; n <= 7; ++n)
      v += std::exp(-std::pow(z - h + 2 * n * lid, 2) / (2 * s * s)) +
           std::exp(-std::pow(z + h + 2 * n * lid, 2) / (2 * s * s));
    return v / (std::sqrt(2 * pi) * s);
  };
  const double dx = b.x - a.x, dy = b.y - a.y;
  const double length = std::sqrt(dx * dx + dy * dy);
  const double xa = rr.x - a.x;
  const double x_near = std::min(xa, rr.x - b.x), x_far = std::max(xa, rr.x - b.x);
  if (x_far <= 0 || x_near > o.max_distance_m) return 0;
  std::vector<double> bound = {x_near};
  for (double next = x_near < o.min_distance_m ? o.min_distance_m : 1.5 * x_near;
       next < x_far && bound.size() < 32; next *= 1.5)
    bound.push_back(next);
  bound.push_back(x_far);
  const bool across = std::abs(dx) < 1e-9 * length;
  if (across) bound.resize(2);
  double sum = 0;
  for (std::size_t i = 0; i + 1 < bound.size(); ++i) {
    if (bound[i + 1] <= 0 || bound[i] > o.max_distance_m) continue;
    const double t0 = across ? 0 : (xa - bound[i]) / dx, t1 = across ? 1 : (xa - bound[i + 1]) / dx;
    const double x0 = xa - t0 * dx, x1 = xa - t1 * dx;
    const double s0 = rr.y - (a.y + t0 * dy), s1 = rr.y - (a.y + t1 * dy);
    const double tc = std::clamp((rr.y - a.y) / dy, std::min(t0, t1), std::max(t0, t1));
    const double d0 = -dy * sy(x0) + s0 * dx * sy_dx(x0), d1 = -dy * sy(x1) + s1 * dx * sy_dx(x1);
    if (std::min(x0, x1) >= o.min_distance_m && std::max(x0, x1) <= o.max_distance_m &&
        (d0 > 0) == (d1 > 0)) {
      const double z0 = s0 / sy(x0), z1 = s1 / sy(x1);
      const double cross =
          0.5 * std::abs(std::erf(z0 / std::sqrt(2.0)) - std::erf(z1 / std::sqrt(2.0)));
      if (cross < 1e-12) continue;
      double tm = 0.5 * (t0 + t1);
      if (std::abs(z1 - z0) > 1e-6) {
        const double zm = (std::exp(-z0 * z0 / 2) - std::exp(-z1 * z1 / 2)) / std::sqrt(2 * pi) /
                          (0.5 * (std::erf(z1 / std::sqrt(2.0)) - std::erf(z0 / std::sqrt(2.0))));
        tm = std::clamp(t0 + (zm - z0) / (z1 - z0) * (t1 - t0), std::min(t0, t1), std::max(t0, t1));
      }
      const double xm = xa - tm * dx, sm = rr.y - (a.y + tm * dy);
      sum +=
          cross * length * vertical(sz(xm)) * sy(xm) / std::abs(-dy * sy(xm) + sm * dx * sy_dx(xm));
      continue;
    }
    const double xc = xa - tc * dx;
    if (xc <= 0 || xc > o.max_distance_m) continue;
    const double xe = std::max(xc, o.min_distance_m);
    sum += 0.5 *
           std::abs(std::erf(s0 / (std::sqrt(2.0) * sy(xe))) -
                    std::erf(s1 / (std::sqrt(2.0) * sy(xe)))) *
           length / std::abs(dy) * vertical(sz(xe));
  }
  return sum / u;
}

// CPU time of the calling thread: on a shared machine the wall clock also counts other work.
double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

struct run_result {
  double seconds;
  double cpu_seconds;
  dispersion_counts counts;
  std::vector<double> nox;
};

run_result run_grid(const weather& w, const dispersion_options& o, const city_layout& c,
                    unsigned threads) {
  run_result r{0, 0, {}, std::vector<double>(c.receptors.size(), 0.0)};
  std::vector<dispersion_counts> counts(threads);
  std::vector<double> cpu(threads, 0.0);
  const auto start = clock_type::now();
  std::vector<std::thread> pool;
  const std::size_t n = c.receptors.size();
  // The threads take chunks of receptors from a shared counter: roads crowd where the city is
  // dense, so equal halves would leave one thread with most of the work.
  const std::size_t chunk = std::max<std::size_t>(n / 64, 1);
  std::atomic<std::size_t> next{0};
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      const double cpu_start = thread_cpu_seconds();
      for (;;) {
        const std::size_t lo = next.fetch_add(chunk);
        if (lo >= n) break;
        const std::size_t hi = std::min(n, lo + chunk);
        std::span<double> out(r.nox.data() + lo, hi - lo);
        auto k = disperse(w, o, {}, c.roads, std::span<const xy>(c.receptors.data() + lo, hi - lo),
                          {out, std::span<double>(), std::span<double>()});
        counts[t].pairs += k.pairs;
        counts[t].evaluated += k.evaluated;
      }
      cpu[t] = thread_cpu_seconds() - cpu_start;
    });
  }
  for (auto& th : pool) th.join();
  r.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  for (double s : cpu) r.cpu_seconds += s;
  for (const auto& k : counts) {
    r.counts.pairs += k.pairs;
    r.counts.evaluated += k.evaluated;
  }
  return r;
}

void print_run(const run_result& r, unsigned threads, const dispersion_options& o) {
  const double pairs = static_cast<double>(r.counts.pairs);
  const double evaluated = static_cast<double>(r.counts.evaluated);
  std::printf(
      "disperse, %u thread%s: %.3f s wall, %.3f s CPU; pairs %.3g: %.1f M/s wall, %.1f M/s per "
      "core of CPU; pairs evaluated %.3g (%.1f M/s per core; the rest upwind or beyond %.0f "
      "km)\n",
      threads, threads == 1 ? " " : "s", r.seconds, r.cpu_seconds, pairs, pairs / r.seconds / 1e6,
      pairs / r.cpu_seconds / 1e6, evaluated, evaluated / r.cpu_seconds / 1e6,
      o.max_distance_m / 1000);
}

struct reference_result {
  double pairs;
  double seconds;
  double cpu_seconds;
  double worst_rel;  // against the fast kernel, at receptors above a thousandth of the maximum
};

// REFERENCE: sampled rows spread over the grid, every road, one thread.
reference_result run_reference(const weather& w, const dispersion_options& o, const city_layout& c,
                               std::size_t side, std::size_t reference_rows,
                               const run_result& fast_run) {
  std::vector<std::size_t> rows;
  for (std::size_t k = 0; k < reference_rows; ++k)
    rows.push_back((2 * k + 1) * side / (2 * reference_rows));
  std::vector<double> ref;
  const auto start = clock_type::now();
  const double ref_cpu_start = thread_cpu_seconds();
  for (std::size_t row : rows) {
    for (std::size_t j = 0; j < side; ++j) {
      double sum = 0;
      for (const auto& e : c.roads)
        sum += e.g_m_s[0] * textbook_pair(w, o, e, c.receptors[row * side + j]);
      ref.push_back(sum);
    }
  }
  reference_result r{};
  r.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  r.cpu_seconds = thread_cpu_seconds() - ref_cpu_start;
  r.pairs = static_cast<double>(ref.size() * c.roads.size());
  double worst_rel = 0;
  std::size_t k = 0;
  for (std::size_t row : rows) {
    for (std::size_t j = 0; j < side; ++j, ++k) {
      const double fast = fast_run.nox[row * side + j];
      if (ref[k] > 1e-3 * *std::max_element(ref.begin(), ref.end()))
        worst_rel = std::max(worst_rel, std::abs(fast - ref[k]) / ref[k]);
    }
  }
  r.worst_rel = worst_rel;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"citytwin dispersion benchmark: source-receptor evaluations per second"};
  std::size_t side = 200;
  std::size_t roads = 5000;
  std::size_t reference_rows = 10;
  bool quick = false;
  app.add_option("--grid", side, "receptors per side of the square grid (50 m apart)");
  app.add_option("--roads", roads, "road segments");
  app.add_option("--reference-rows", reference_rows, "receptor rows timed with the textbook code");
  app.add_flag("--quick", quick, "a short run that checks the benchmark works");
  CLI11_PARSE(app, argc, argv);
  if (quick) {
    side = 40;
    roads = 500;
    reference_rows = 4;
  }
  const city_layout c = make_city(side, 50, roads, 2026);
  weather w;
  w.wind_speed_m_s = 3;
  w.wind_from_deg = 160;
  w.stability_class = stability::d;
  w.mixing_height_m = 960;
  const dispersion_options o;  // Briggs urban, receptors at 1.5 m

  std::printf(
      "grid %zu x %zu receptors, %zu road segments, wind %.0f m/s from %.0f deg, class %c\n", side,
      side, c.roads.size(), w.wind_speed_m_s, w.wind_from_deg, to_char(w.stability_class));
  // The batched kernel is built for AVX-512, AVX2 and baseline x86-64; disperse() picks the best.
  std::printf("kernel build in use: %s\n", std::string(to_string(best_kernel_build())).c_str());
  const run_result one = run_grid(w, o, c, 1);
  const run_result two = run_grid(w, o, c, 2);
  print_run(one, 1, o);
  print_run(two, 2, o);
  double differ = 0;
  for (std::size_t i = 0; i < one.nox.size(); ++i)
    differ = std::max(differ, std::abs(one.nox[i] - two.nox[i]));

  const reference_result ref = run_reference(w, o, c, side, reference_rows, one);
  const double ref_rate = ref.pairs / ref.cpu_seconds;
  const double one_rate = static_cast<double>(one.counts.pairs) / one.cpu_seconds;
  std::printf(
      "REFERENCE textbook code, 1 thread: %.3g pairs in %.3f s wall, %.3f s CPU: %.2f M "
      "pairs/s per core of CPU\n",
      ref.pairs, ref.seconds, ref.cpu_seconds, ref_rate / 1e6);
  std::printf(
      "ratio (disperse / reference, per core of CPU): %.1f x; full grid on 2 threads: %.3f "
      "s wall\n",
      one_rate / ref_rate, two.seconds);
  std::printf(
      "checks: 1 vs 2 threads max difference %.3g g/m3; reference vs disperse NOx max "
      "relative difference %.2g (at most %.2g: erf approximation, 4-sigma cut)\n",
      differ, ref.worst_rel, drift_max);
  if (differ != 0) {
    std::fprintf(stderr, "1 and 2 threads disagree\n");
    return 1;
  }
  if (!(ref.worst_rel <= drift_max)) {
    std::fprintf(stderr, "disperse drifts from the textbook code: %.3g > %.3g relative\n",
                 ref.worst_rel, drift_max);
    return 1;
  }
  return 0;
}
