// `citytwin city generate | check`: makes synthetic city bundles and reports what a bundle holds.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <iostream>
#include <memory>
#include <string>

#include "apps/commands.hpp"
#include "twin/base/time_text.hpp"
#include "twin/city/bundle_writer.hpp"
#include "twin/city/generate.hpp"

namespace apps {

namespace {

struct generate_flags {
  twin::generate_options options;
  std::string out;
};

int fail(const std::string& message, int code = 1) {
  std::cerr << "citytwin: " << message << "\n";
  return code;
}

int run_generate(const generate_flags& f) {
  if (auto why = twin::check_options(f.options)) return fail(*why, 2);
  auto c = twin::generate_city(f.options);
  if (auto r = twin::write_city(c, f.out); !r) return fail(r.error().to_string());
  std::cout << "citytwin city generate: wrote " << f.out << " (" << c.districts.size()
            << " districts, " << c.links.size() << " links, " << c.sensors.size() << " sensors, "
            << c.zones.size() << " zones)\n";
  return 0;
}

int run_check(const std::string& dir) {
  auto c = load_city_bundle(dir);
  if (!c) return fail(c.error(), 2);
  const auto& city = **c;
  auto n = [](std::size_t k, const std::string& what) {
    return std::to_string(k) + " " + what + (k == 1 ? "" : "s");
  };
  std::cout << city.name << ": " << n(city.districts.size(), "district") << ", "
            << n(city.nodes.size(), "node") << ", " << n(city.links.size(), "link") << ", "
            << n(city.zones.size(), "zone") << ", " << n(city.demand.size(), "OD pair") << ", "
            << n(city.sensors.size(), "sensor") << ", " << n(city.sources.size(), "point source")
            << ", " << n(city.rules.size(), "rule") << "\n";
  // Per kind with sensors: its cadence, and the sensors that have their own.
  std::array<std::size_t, twin::sensor_kind_count> sensors{}, own{};
  for (const auto& s : city.sensors) {
    ++sensors[static_cast<std::size_t>(s.kind)];
    if (s.cadence_ms) ++own[static_cast<std::size_t>(s.kind)];
  }
  std::cout << "cadences (a sensor is stale " << twin::stale_after_cadences
            << " cadences after its latest reading):\n";
  for (std::size_t k = 0; k < twin::sensor_kind_count; ++k) {
    if (sensors[k] == 0) continue;
    std::string kind(twin::to_string(static_cast<twin::sensor_kind>(k)));
    kind.resize(std::max<std::size_t>(kind.size(), 18), ' ');
    std::cout << "  " << kind << " " << twin::duration_text(city.cadence_ms[k]) << ", "
              << n(sensors[k], "sensor");
    if (own[k] > 0) std::cout << " (" << own[k] << " with a cadence of their own)";
    std::cout << "\n";
  }
  return 0;
}

}  // namespace

command add_city_command(CLI::App& app) {
  auto* city = app.add_subcommand("city", "city bundles");
  city->require_subcommand(1);
  auto f = std::make_shared<generate_flags>();
  auto* gen = city->add_subcommand("generate", "make a synthetic city bundle of any size");
  gen->add_option("--districts", f->options.districts, "districts")->required();
  gen->add_option("--links", f->options.links, "directed road links")->required();
  gen->add_option("--sensors", f->options.sensors, "sensors")->required();
  gen->add_option("--seed", f->options.seed, "seed (default 1)");
  gen->add_option("--out", f->out, "folder to write the bundle to")->required();
  auto* check = city->add_subcommand("check", "load a bundle and report what it holds");
  auto dir = std::make_shared<std::string>();
  check->add_option("dir", *dir, "bundle folder")->required();
  // require_subcommand(1): exactly one of the two was given.
  return {city, [gen, f, dir] { return gen->parsed() ? run_generate(*f) : run_check(*dir); }};
}

}  // namespace apps
