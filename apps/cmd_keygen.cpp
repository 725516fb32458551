// `citytwin keygen`: a CURVE key pair for a node or a client.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>

#include "apps/commands.hpp"
#include "cluster/curve.hpp"

namespace apps {

namespace {

struct keygen_flags {
  std::string out = "citytwin";
  bool force = false;
};

int run_keygen(const keygen_flags& f) {
  const auto keys = cluster::curve_generate_key_pair();
  if (auto r = cluster::write_curve_key_pair(f.out, keys, f.force); !r) {
    std::cerr << "citytwin keygen: " << r.error() << "\n";
    return 1;
  }
  std::cerr << "citytwin keygen: wrote " << f.out << ".key (secret, mode 0600) and " << f.out
            << ".pub (public)\n";
  std::cout << keys.public_z85 << std::endl;
  return 0;
}

}  // namespace

command add_keygen_command(CLI::App& app) {
  auto f = std::make_shared<keygen_flags>();
  auto* cmd = app.add_subcommand(
      "keygen", "write a CURVE key pair (BASENAME.key, BASENAME.pub) and print the public key");
  cmd->add_option("--out", f->out, "BASENAME of the two files (default citytwin)");
  cmd->add_flag("--force", f->force, "replace existing files");
  return {cmd, [f] { return run_keygen(*f); }};
}

}  // namespace apps
