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

}  // namespace apps
