// `citytwin query`: asks a node about the city, a district or a sensor.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "apps/commands.hpp"
#include "apps/render.hpp"
#include "cluster/curve.hpp"
#include "cluster/query_client.hpp"

namespace apps {

namespace {

struct query_flags {
  std::string node = "tcp://127.0.0.1:7101";
  std::vector<std::string> what;
  bool json = false;
  int timeout_ms = 5000;
  curve_client_flags curve;
};

int fail(const std::string& message, int code = 1) {
  std::cerr << "citytwin: " << message << "\n";
  return code;
}

int run_query(const query_flags& f) {
  twin::query_request request;
  if (f.what.empty() || f.what[0] == "city") {
    if (f.what.size() > 1) return fail("query city takes no argument", 2);
    request = twin::query_city{};
  } else if (f.what[0] == "district" && f.what.size() == 2) {
    request = twin::query_district{f.what[1]};
  } else if (f.what[0] == "sensor" && f.what.size() == 2) {
    request = twin::query_sensor{f.what[1]};
  } else {
    return fail("usage: citytwin query --node ADDR (city | district ID | sensor ID) [--json]", 2);
  }
  auto curve = cluster::curve_client_keys_from(f.curve.server_key, f.curve.secret);
  if (!curve) return fail(curve.error(), 2);
  cluster::query_client client;
  if (auto c = client.connect(f.node, std::move(*curve)); !c) return fail(c.error());
  auto reply = client.ask(request, f.timeout_ms);
  if (!reply) return fail(reply.error());
  if (f.json)
    std::cout << apps::to_json(*reply).dump(2) << std::endl;
  else
    std::cout << render_text(*reply);
  return std::holds_alternative<twin::query_error>(*reply) ? 1 : 0;
}

}  // namespace

command add_query_command(CLI::App& app) {
  auto f = std::make_shared<query_flags>();
  auto* cmd = app.add_subcommand("query", "ask a node: city | district ID | sensor ID");
  cmd->add_option("--node", f->node, "the node's query socket (default tcp://127.0.0.1:7101)");
  cmd->add_option("what", f->what, "city | district ID | sensor ID");
  cmd->add_flag("--json", f->json, "JSON for scripts");
  cmd->add_option("--timeout-ms", f->timeout_ms, "give up after this long (default 5000)");
  add_curve_client_flags(cmd, f->curve);
  return {cmd, [f] { return run_query(*f); }};
}

}  // namespace apps
