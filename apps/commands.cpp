// What the subcommands share.
#include "apps/commands.hpp"

#include <cmath>
#include <memory>

#include "twin/city/bundle.hpp"

namespace apps {

twin::expected<twin::city_ptr, std::string> load_city_bundle(const std::filesystem::path& dir) {
  auto c = twin::load_city(dir);
  if (!c) return twin::unexpected{c.error().to_string()};
  return std::make_shared<const twin::city>(std::move(*c));
}

twin::expected<twin::time_ms, std::string> parse_duration_ms(const std::string& text) {
  std::size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(text, &pos);
  } catch (...) {
    return twin::unexpected{"not a duration: '" + text + "' (examples: 90s, 15m, 2h, 7d)"};
  }
  std::string unit = text.substr(pos);
  double scale = 1000;
  if (unit.empty() || unit == "s")
    scale = 1000;
  else if (unit == "ms")
    scale = 1;
  else if (unit == "m")
    scale = 60e3;
  else if (unit == "h")
    scale = 3600e3;
  else if (unit == "d")
    scale = 86400e3;
  else if (unit == "y")
    scale = 365.25 * 86400e3;
  else
    return twin::unexpected{"unknown unit in '" + text + "' (use ms, s, m, h, d or y)"};
  if (!std::isfinite(v) || v < 0) return twin::unexpected{"not a duration: '" + text + "'"};
  return static_cast<twin::time_ms>(v * scale);
}

}  // namespace apps
