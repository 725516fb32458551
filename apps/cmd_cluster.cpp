// `citytwin cluster status`: the members of a cluster, its coordinator, epoch and placement, read
// from the coordination store (etcd) itself, so it answers with every node down.
#include <CLI/CLI.hpp>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "apps/commands.hpp"
#include "apps/render.hpp"
#include "cluster/curve.hpp"
#include "cluster/etcd_store.hpp"
#include "cluster/membership.hpp"
#include "cluster/query_client.hpp"
#include "twin/base/time_text.hpp"

namespace apps {

namespace {

struct status_flags {
  std::string cluster;
  std::string node;
  std::string name = "default";
  std::string city;
  bool json = false;
  int timeout_ms = 5000;
  curve_client_flags curve;
};

int print(const status_flags& f, const twin::cluster_status_view& v) {
  if (f.json)
    std::cout << to_json(v).dump(2) << "\n";
  else
    std::cout << render_text(v);
  return 0;
}

// Asks a node over its query socket: its own view of its cluster.
int status_from_node(const status_flags& f) {
  auto curve = cluster::curve_client_keys_from(f.curve.server_key, f.curve.secret);
  if (!curve) {
    std::cerr << "citytwin: " << curve.error() << "\n";
    return 2;
  }
  cluster::query_client client;
  if (auto c = client.connect(f.node, std::move(*curve)); !c) {
    std::cerr << "citytwin: cluster status: " << c.error() << "\n";
    return 1;
  }
  auto reply = client.ask(twin::query_cluster{}, f.timeout_ms);
  if (!reply) {
    std::cerr << "citytwin: cluster status: " << reply.error() << "\n";
    return 1;
  }
  if (const auto* e = std::get_if<twin::query_error>(&*reply)) {
    std::cerr << "citytwin: cluster status: " << f.node << " answered: " << e->message << "\n";
    return 1;
  }
  const auto* v = std::get_if<twin::cluster_status_view>(&*reply);
  if (v == nullptr) {
    std::cerr << "citytwin: cluster status: " << f.node << " answered another kind of reply\n";
    return 1;
  }
  return print(f, *v);
}

int run_status(const status_flags& f) {
  if (f.cluster.empty() == f.node.empty()) {
    std::cerr << "citytwin: cluster status: give --cluster URL (read etcd) or --node ADDR (ask a "
                 "node), one of them\n";
    return 2;
  }
  if (!f.node.empty()) return status_from_node(f);
  auto endpoints = cluster::coord::parse_etcd_url(f.cluster);
  if (!endpoints) {
    std::cerr << "citytwin: --cluster: " << endpoints.error() << "\n";
    return 2;
  }
  std::vector<std::string> keys;
  if (!f.city.empty()) {
    auto loaded = load_city_bundle(f.city);
    if (!loaded) {
      std::cerr << "citytwin: " << loaded.error() << "\n";
      return 2;
    }
    for (const auto& d : (*loaded)->districts) keys.push_back(d.key);
  }
  cluster::coord::etcd_store store({std::move(*endpoints)});
  auto view = cluster::read_cluster(store, f.name);
  if (!view) {
    std::cerr << "citytwin: cluster status: " << view.error().message << "\n";
    return 1;
  }
  return print(f, cluster::to_status(*view, f.name, store.describe(), keys));
}

struct drain_flags {
  std::string node;
  std::string cluster;
  std::string name = "default";
  std::string timeout = "60s";
};

int run_drain(const drain_flags& f) {
  auto endpoints = cluster::coord::parse_etcd_url(f.cluster);
  if (!endpoints) {
    std::cerr << "citytwin: --cluster: " << endpoints.error() << "\n";
    return 2;
  }
  auto timeout_ms = twin::parse_duration_ms(f.timeout);
  if (!timeout_ms) {
    std::cerr << "citytwin: --timeout: " << timeout_ms.error() << "\n";
    return 2;
  }
  cluster::coord::etcd_store store({std::move(*endpoints)});
  auto view = cluster::read_cluster(store, f.name);
  if (!view) {
    std::cerr << "citytwin: cluster drain: " << view.error().message << "\n";
    return 1;
  }
  const auto* member = view->find_member(f.node);
  if (member == nullptr) {
    std::string ids;
    for (const auto& m : view->members) ids += (ids.empty() ? "" : ", ") + m.id;
    std::cerr << "citytwin: cluster drain: no member '" << f.node << "' in cluster '" << f.name
              << "' (members: " << (ids.empty() ? std::string("none") : ids) << ")\n";
    return 1;
  }
  const auto incarnation = member->incarnation;
  const std::string prefix = "/citytwin/" + f.name + "/";
  if (auto put = store.put(prefix + "drain/" + f.node, cluster::drain_request_json(incarnation));
      !put) {
    std::cerr << "citytwin: cluster drain: " << put.error().message << "\n";
    return 1;
  }
  std::cout << "drain of '" << f.node << "' (incarnation " << incarnation
            << ") requested: it hands its " << view->owned_by(f.node) << " owned and "
            << view->replicated_by(f.node) << " replicated districts over, then stops" << std::endl;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(*timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto now = cluster::read_cluster(store, f.name);
    if (!now) continue;  // etcd may be changing leader; the deadline bounds the wait
    const auto* m = now->find_member(f.node);
    if (m == nullptr || m->incarnation != incarnation) {
      std::cout << "'" << f.node << "' left the cluster; epoch " << now->epoch << ", "
                << now->members.size() << " member" << (now->members.size() == 1 ? "" : "s")
                << " remain" << (now->members.size() == 1 ? "s" : "") << std::endl;
      return 0;
    }
  }
  std::cerr << "citytwin: cluster drain: '" << f.node << "' is still a member after " << f.timeout
            << " (the request stays: it leaves when it can)\n";
  return 1;
}

}  // namespace

command add_cluster_command(CLI::App& app) {
  auto f = std::make_shared<status_flags>();
  auto* cmd = app.add_subcommand("cluster", "look at a cluster of nodes");
  cmd->require_subcommand(1);
  auto* status = cmd->add_subcommand(
      "status", "members, coordinator, epoch and placement, read from the cluster's etcd");
  status->add_option("--cluster", f->cluster,
                     "read etcd: etcd://HOST:PORT[,...] or etcd+unix://PATH (answers with every "
                     "node down)");
  status->add_option("--node", f->node,
                     "or ask a node's query socket (tcp://HOST:PORT): its own view, district keys "
                     "included");
  status->add_option("--cluster-name", f->name,
                     "with --cluster: the cluster's name (default: "
                     "default)");
  status->add_option("--city", f->city, "with --cluster: city bundle, to name the districts");
  status->add_flag("--json", f->json, "one JSON document");
  status->add_option("--timeout-ms", f->timeout_ms,
                     "with --node: give up after this long "
                     "(default 5000)");
  add_curve_client_flags(status, f->curve);
  auto d = std::make_shared<drain_flags>();
  auto* drain = cmd->add_subcommand(
      "drain",
      "ask a node to hand its districts over and leave (then it stops, exit 0); waits "
      "until it has left");
  drain->add_option("NODE", d->node, "the node's id")->required();
  drain->add_option("--cluster", d->cluster, "etcd://HOST:PORT[,...] or etcd+unix://PATH")
      ->required();
  drain->add_option("--cluster-name", d->name, "the cluster's name (default: default)");
  drain->add_option("--timeout", d->timeout, "how long to wait for it to leave (default 60s)");
  return {cmd, [f, status, d, drain] {
            if (drain->parsed()) return run_drain(*d);
            return run_status(*f);
          }};
}

}  // namespace apps
