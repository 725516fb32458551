// What the subcommands share.
#include "apps/commands.hpp"

#include <cmath>
#include <memory>

#include <CLI/CLI.hpp>

#include "twin/city/bundle.hpp"

namespace apps {

twin::expected<twin::city_ptr, std::string> load_city_bundle(const std::filesystem::path& dir) {
  auto c = twin::load_city(dir);
  if (!c) return twin::unexpected{c.error().to_string()};
  return std::make_shared<const twin::city>(std::move(*c));
}

void add_curve_client_flags(CLI::App* cmd, curve_client_flags& f) {
  cmd->add_option("--curve-server-key", f.server_key,
                  "the node's CURVE public key (Z85, or its .pub file): connect with CURVE; "
                  "without it, plain TCP");
  cmd->add_option("--curve-secret", f.secret,
                  "this client's CURVE secret key file (citytwin keygen); its public key must be "
                  "on the node's allow-list");
}

}  // namespace apps
