// `citytwin plume`: one point source at one receptor, every intermediate printed, so that the
// dispersion model can be checked by hand against the literature.
#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>

#include "apps/commands.hpp"
#include "twin/env/dispersion.hpp"

namespace apps {

namespace {

namespace env = twin::env;

// Flags are read as text and parsed here, so that every bad value, whatever its kind, ends in the
// same clear message and exit code 2.
struct plume_flags {
  std::string q, stack_height, wind, cls, x, y = "0", z = "0", sigmas = "briggs-urban";
  std::string exit_velocity, diameter, stack_temp, air_temp = "293.15", mixing_height;
  bool json = false;
};

struct plume_input {
  double q_g_s = 0, stack_height_m = 0, wind_m_s = 0, x_m = 0, y_m = 0, z_m = 0;
  env::stability cls = env::stability::d;
  env::sigma_scheme scheme = env::sigma_scheme::briggs_urban;
  std::optional<env::stack> rise;  // with exit conditions: Briggs plume rise
  double air_temperature_k = 293.15;
  double mixing_height_m = std::numeric_limits<double>::infinity();
};

enum class bound : std::uint8_t { any, non_negative, positive };

twin::expected<double, std::string> number(const std::string& flag, const std::string& text,
                                           bound b) {
  double v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc{} || ptr != end)
    return twin::unexpected{flag + ": '" + text + "' is not a number"};
  if (!std::isfinite(v)) return twin::unexpected{flag + ": must be a finite number, not " + text};
  if (b == bound::positive && v <= 0)
    return twin::unexpected{flag + ": must be greater than 0, not " + text};
  if (b == bound::non_negative && v < 0)
    return twin::unexpected{flag + ": must not be negative, not " + text};
  return v;
}

twin::expected<plume_input, std::string> parse(const plume_flags& f) {
  plume_input in;
  struct required_number {
    const char* flag;
    const std::string& text;
    bound b;
    double& out;
  };
  for (const required_number& r :
       {required_number{"--q", f.q, bound::non_negative, in.q_g_s},
        required_number{"--stack-height", f.stack_height, bound::non_negative, in.stack_height_m},
        required_number{"--wind", f.wind, bound::positive, in.wind_m_s},
        required_number{"--x", f.x, bound::positive, in.x_m},
        required_number{"--y", f.y, bound::any, in.y_m},
        required_number{"--z", f.z, bound::non_negative, in.z_m},
        required_number{"--air-temp", f.air_temp, bound::positive, in.air_temperature_k}}) {
    if (r.text.empty()) return twin::unexpected{std::string(r.flag) + ": required"};
    auto v = number(r.flag, r.text, r.b);
    if (!v) return twin::unexpected{v.error()};
    r.out = *v;
  }
  if (in.wind_m_s < env::wind_min_m_s)
    return twin::unexpected{
        "--wind: at least 1 m/s (the Gaussian plume does not hold in calms), "
        "not " +
        f.wind};
  if (f.cls.empty()) return twin::unexpected{std::string("--class: required")};
  auto cls = env::parse_stability(f.cls);
  if (!cls) return twin::unexpected{"--class: A to F, not '" + f.cls + "'"};
  in.cls = *cls;
  auto scheme = env::parse_sigma_scheme(f.sigmas);
  if (!scheme)
    return twin::unexpected{"--sigmas: pg, briggs-urban or briggs-rural, not '" + f.sigmas + "'"};
  in.scheme = *scheme;
  if (!f.mixing_height.empty()) {
    auto v = number("--mixing-height", f.mixing_height, bound::positive);
    if (!v) return twin::unexpected{v.error()};
    in.mixing_height_m = *v;
  }
  const bool any_rise = !f.exit_velocity.empty() || !f.diameter.empty() || !f.stack_temp.empty();
  if (any_rise) {
    env::stack s;
    s.height_m = in.stack_height_m;
    struct rise_number {
      const char* flag;
      const std::string& text;
      double& out;
    };
    for (const rise_number& r :
         {rise_number{"--exit-velocity", f.exit_velocity, s.exit_velocity_m_s},
          rise_number{"--diameter", f.diameter, s.diameter_m},
          rise_number{"--stack-temp", f.stack_temp, s.exit_temperature_k}}) {
      if (r.text.empty())
        return twin::unexpected{std::string(r.flag) +
                                ": required with --exit-velocity, --diameter and --stack-temp"};
      auto v = number(r.flag, r.text, bound::positive);
      if (!v) return twin::unexpected{v.error()};
      r.out = *v;
    }
    in.rise = s;
  }
  return in;
}

std::string fixed(double v, int decimals) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(decimals) << v;
  return os.str();
}

int run_plume(const plume_flags& f) {
  auto parsed = parse(f);
  if (!parsed) {
    std::cerr << "citytwin plume: " << parsed.error() << "\n";
    return 2;
  }
  const plume_input& in = *parsed;
  const env::sigma_yz s = env::sigmas(in.scheme, in.cls, in.x_m);
  double effective_height_m = in.stack_height_m;
  std::optional<env::plume_rise> rise;
  if (in.rise) {
    rise = env::briggs_plume_rise(*in.rise, in.wind_m_s, in.cls, in.air_temperature_k, in.x_m);
    effective_height_m = rise->effective_height_m;
  }
  // No lid unless one is given: a lid far above any plume changes nothing.
  const double lid_m = std::isfinite(in.mixing_height_m) ? in.mixing_height_m : 1e12;
  const double c =
      env::point_concentration(in.q_g_s, in.wind_m_s, s, effective_height_m, in.y_m, in.z_m, lid_m);
  if (f.json) {
    nlohmann::json j;
    j["sigma_y"] = s.y_m;
    j["sigma_z"] = s.z_m;
    j["effective_height"] = effective_height_m;
    j["concentration"] = c;
    j["concentration_ug_m3"] = c * 1e6;
    j["wind_at_release"] = in.wind_m_s;
    j["sigmas"] = std::string(env::to_string(in.scheme));
    j["class"] = std::string(1, env::to_char(in.cls));
    j["x"] = in.x_m;
    j["y"] = in.y_m;
    j["z"] = in.z_m;
    j["mixing_height"] = std::isfinite(in.mixing_height_m) ? nlohmann::json(in.mixing_height_m)
                                                           : nlohmann::json(nullptr);
    if (rise) {
      j["plume_rise"] = {
          {"buoyancy_flux", rise->buoyancy_flux},          {"momentum_flux", rise->momentum_flux},
          {"downwash_height", rise->downwash_height_m},    {"rise", rise->rise_m},
          {"final_distance", rise->final_distance_m},      {"final", rise->final},
          {"momentum_dominated", rise->momentum_dominated}};
    } else {
      j["plume_rise"] = nullptr;
    }
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << "point source " << in.q_g_s << " g/s, stack " << fixed(in.stack_height_m, 2)
            << " m, wind at release " << in.wind_m_s << " m/s, class " << env::to_char(in.cls)
            << ", sigmas " << env::to_string(in.scheme) << "\n"
            << "receptor x " << in.x_m << " m downwind, y " << in.y_m << " m, z " << in.z_m
            << " m\n"
            << "sigma-y " << fixed(s.y_m, 2) << " m, sigma-z " << fixed(s.z_m, 2) << " m\n";
  if (rise) {
    std::cout << "plume rise: Fb " << fixed(rise->buoyancy_flux, 4) << " m4/s3, Fm "
              << fixed(rise->momentum_flux, 4) << " m4/s2, "
              << (rise->momentum_dominated ? "momentum" : "buoyancy") << " dominated; stack after "
              << "downwash " << fixed(rise->downwash_height_m, 2) << " m; rise "
              << fixed(rise->rise_m, 2) << " m (" << (rise->final ? "final" : "gradual")
              << ", final beyond " << fixed(rise->final_distance_m, 1) << " m)\n";
  }
  std::cout << "effective height " << fixed(effective_height_m, 2) << " m\n";
  std::ostringstream conc;
  conc << std::scientific << std::setprecision(4) << c;
  std::cout << "concentration " << conc.str() << " g/m3 (" << fixed(c * 1e6, 2) << " ug/m3)\n";
  return 0;
}

}  // namespace

command add_plume_command(CLI::App& app) {
  auto f = std::make_shared<plume_flags>();
  auto* cmd = app.add_subcommand(
      "plume", "one point source at one receptor: Gaussian plume, sigmas, Briggs plume rise");
  cmd->footer(
      "--wind is the wind AT RELEASE HEIGHT (no profile here, so that hand checks against the "
      "literature\nwork; scenarios scale the 10 m wind with the ISC3 power law). Ground reflection "
      "always;\na mixing lid only with --mixing-height. Exit codes: 0 done, 2 bad input.");
  cmd->add_option("--q", f->q, "emission rate, g/s (required)");
  cmd->add_option("--stack-height", f->stack_height, "stack (release) height, m (required)");
  cmd->add_option("--wind", f->wind, "wind speed at release height, m/s, >= 1 (required)");
  cmd->add_option("--class", f->cls, "Pasquill-Gifford stability class A..F (required)");
  cmd->add_option("--x", f->x, "receptor distance downwind, m, > 0 (required)");
  cmd->add_option("--y", f->y, "receptor crosswind offset, m (default 0)");
  cmd->add_option("--z", f->z, "receptor height, m (default 0)");
  cmd->add_option("--sigmas", f->sigmas, "pg | briggs-urban | briggs-rural (default briggs-urban)");
  cmd->add_option("--mixing-height", f->mixing_height, "mixing lid, m (default: none)");
  cmd->add_option("--exit-velocity", f->exit_velocity, "stack exit velocity, m/s (plume rise)");
  cmd->add_option("--diameter", f->diameter, "stack inner diameter, m (plume rise)");
  cmd->add_option("--stack-temp", f->stack_temp, "exit gas temperature, K (plume rise)");
  cmd->add_option("--air-temp", f->air_temp, "ambient air temperature, K (default 293.15)");
  cmd->add_flag("--json", f->json,
                "print {sigma_y, sigma_z, effective_height, concentration, concentration_ug_m3, "
                "wind_at_release, plume_rise, ...} as JSON");
  return {cmd, [f] { return run_plume(*f); }};
}

}  // namespace apps
