// `citytwin node`: runs a node of the twin until Ctrl-C.
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "apps/commands.hpp"
#include "apps/node_settings.hpp"
#include "apps/signals.hpp"
#include "node/config_file.hpp"
#include "node/node_host.hpp"
#include "twin/base/time_text.hpp"

namespace apps {

namespace {

int fail(const std::string& message, int code = 1) {
  std::cerr << "citytwin: " << message << "\n";
  return code;
}

int run_node(node_flags& f) {
  // Before any thread starts: SIGHUP then reaches only the wait below.
  block_reload_signal();
  auto config = make_node_config(f);
  if (!config) return fail(config.error(), 2);
  auto city = load_city_bundle(f.city);
  if (!city) return fail(city.error(), 2);
  twin::system_clock clock;
  auto host = node::node_host::start(*city, *config, clock, &std::cout);
  if (!host) return fail(host.error());
  const auto& c = **city;
  std::cout << "citytwin node: " << c.name << " (" << c.districts.size() << " districts, "
            << c.sensors.size() << " sensors, " << c.links.size() << " links)\n"
            << "  ingest  " << (*host)->ingest_endpoint() << "\n"
            << "  query   " << (*host)->query_endpoint() << "\n"
            << "  metrics http://" << (*host)->metrics_address() << "/metrics\n"
            << "  security: " << (*host)->security_summary() << "\n"
            << "  storage: " << (*host)->storage_summary() << "\n"
            << "  cluster: " << (*host)->cluster_summary() << "\n"
            << "Ctrl-C stops the node." << std::endl;
  if (!f.ready_file.empty()) {
    if (auto r = (*host)->write_ready_file(f.ready_file); !r) return fail(r.error());
  }
  bool drained = false;
  while (!wait_for_termination(std::chrono::milliseconds(500))) {
    if ((drained = (*host)->drained())) break;
    if (!take_reload_request()) continue;
    // A bad list leaves the old one in force: the node keeps running.
    if (auto n = (*host)->reload_allow_list())
      std::cout << "citytwin node: allow-list reloaded: " << *n << " client key"
                << (*n == 1 ? "" : "s") << " allowed" << std::endl;
    else
      std::cerr << "citytwin: allow-list not reloaded, the old one stays: " << n.error()
                << std::endl;
  }
  // From here on every batch is refused `stopping`; those in flight finish first.
  const char* signal_name = drained                            ? "a drain of its cluster"
                            : termination_signal() == SIGINT ? "SIGINT"
                                                             : "SIGTERM";
  std::cout << "citytwin node: stopping" << std::endl;
  const auto report = (*host)->stop_gracefully();
  host->reset();
  std::cerr << "citytwin node: stopped on " << signal_name << ": " << report.batches_applied
            << " batches applied (" << report.readings_accepted << " readings accepted), "
            << report.in_flight_finished << " in flight at the stop finished, "
            << report.batches_stopping << " batches refused stopping (" << report.readings_stopping
            << " readings)" << std::endl;
  std::cerr << "citytwin node: " << report.kept << std::endl;
  std::cout << "citytwin node: stopped" << std::endl;
  if (!report.drained) return fail("batches still in flight after the stop's bound were not acked");
  if (!report.kept_ok)
    return fail(
        "the state was not snapshotted at the stop; the log still holds it all, and the "
        "next start replays it");
  return 0;
}

}  // namespace

command add_node_command(CLI::App& app) {
  auto f = std::make_shared<node_flags>();
  auto* cmd = app.add_subcommand("node", "run a node of the twin");
  add_node_flags(cmd, *f);
  return {cmd, [f] { return run_node(*f); }};
}

}  // namespace apps
