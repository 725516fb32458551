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
#include "cluster/etcd_store.hpp"
#include "cluster/membership.hpp"
#include "twin/base/time_text.hpp"

namespace apps {

namespace {

struct status_flags {
  std::string cluster;
  std::string name = "default";
  std::string city;
  bool json = false;
};

std::string district_name(const twin::city* city, std::size_t d) {
  if (city != nullptr && d < city->districts.size()) return city->districts[d].key;
  return std::to_string(d);
}

int print_json(const status_flags& f, const cluster::cluster_view& v, const twin::city* city,
               const std::string& store) {
  nlohmann::json members = nlohmann::json::array();
  for (const auto& m : v.members)
    members.push_back({{"id", m.id},
                       {"incarnation", std::to_string(m.incarnation)},
                       {"state", cluster::to_string(m.state)},
                       {"zone", m.zone},
                       {"ingest", m.ingest},
                       {"query", m.query},
                       {"metrics", m.metrics},
                       {"city", m.city},
                       {"fingerprint", m.fingerprint},
                       {"started_ms", m.started_ms},
                       {"owns", v.owned_by(m.id)},
                       {"replicates", v.replicated_by(m.id)}});
  for (const auto& id : v.down())
    members.push_back({{"id", id},
                       {"state", "down"},
                       {"owns", v.owned_by(id)},
                       {"replicates", v.replicated_by(id)}});
  nlohmann::json districts = nlohmann::json::array();
  for (std::size_t d = 0; d < v.placement.table.districts.size(); ++d) {
    const auto& roles = v.placement.table.districts[d];
    districts.push_back({{"district", district_name(city, d)},
                         {"index", d},
                         {"owner", roles.owner},
                         {"replicas", roles.replicas}});
  }
  nlohmann::json out{{"cluster", f.name},
                     {"store", store},
                     {"revision", v.read_revision},
                     {"epoch", v.epoch},
                     {"coordinator", v.coordinator},
                     {"term", v.term},
                     {"replication_factor", v.placement.replication_factor},
                     {"members", members},
                     {"districts", districts}};
  std::cout << out.dump(2) << "\n";
  return 0;
}

int print_text(const status_flags& f, const cluster::cluster_view& v, const twin::city* city,
               const std::string& store) {
  std::cout << "cluster '" << f.name << "' on " << store << "\n";
  if (v.members.empty() && v.epoch == 0) {
    std::cout << "  no members and no placement: no node has joined this cluster\n";
    return 0;
  }
  std::cout << "  epoch " << v.epoch << ", coordinator "
            << (v.coordinator.empty() ? std::string("none") : "'" + v.coordinator + "'")
            << (v.coordinator.empty() ? "" : " (term " + std::to_string(v.term) + ")")
            << ", replication factor " << v.placement.replication_factor << "\n";
  auto down = v.down();
  std::cout << "  members: " << v.members.size() << (down.empty() ? "" : ", ")
            << (down.empty() ? "" : std::to_string(down.size()) + " down") << "\n";
  std::cout << "    " << std::left << std::setw(20) << "id" << std::setw(9) << "state"
            << std::setw(10) << "zone" << std::setw(6) << "owns" << std::setw(11) << "replicates"
            << "ingest / query\n";
  for (const auto& m : v.members)
    std::cout << "    " << std::setw(20) << m.id << std::setw(9) << cluster::to_string(m.state)
              << std::setw(10) << (m.zone.empty() ? "-" : m.zone) << std::setw(6)
              << v.owned_by(m.id) << std::setw(11) << v.replicated_by(m.id) << m.ingest << " / "
              << m.query << "\n";
  for (const auto& id : down)
    std::cout << "    " << std::setw(20) << id << std::setw(9) << "down" << std::setw(10) << "-"
              << std::setw(6) << v.owned_by(id) << std::setw(11) << v.replicated_by(id)
              << "(no member key: its lease ended)\n";
  if (!v.placement.table.districts.empty()) {
    std::cout << "  districts:\n";
    for (std::size_t d = 0; d < v.placement.table.districts.size(); ++d) {
      const auto& roles = v.placement.table.districts[d];
      std::string replicas;
      for (const auto& r : roles.replicas) replicas += (replicas.empty() ? "" : ", ") + r;
      std::cout << "    " << std::setw(30) << district_name(city, d) << "owner " << std::setw(20)
                << (roles.owner.empty() ? "-" : roles.owner) << "replicas "
                << (replicas.empty() ? "-" : replicas) << "\n";
    }
  }
  return 0;
}

int run_status(const status_flags& f) {
  auto endpoints = cluster::coord::parse_etcd_url(f.cluster);
  if (!endpoints) {
    std::cerr << "citytwin: --cluster: " << endpoints.error() << "\n";
    return 2;
  }
  twin::city_ptr city;
  if (!f.city.empty()) {
    auto loaded = load_city_bundle(f.city);
    if (!loaded) {
      std::cerr << "citytwin: " << loaded.error() << "\n";
      return 2;
    }
    city = *loaded;
  }
  cluster::coord::etcd_store store({std::move(*endpoints)});
  auto view = cluster::read_cluster(store, f.name);
  if (!view) {
    std::cerr << "citytwin: cluster status: " << view.error().message << "\n";
    return 1;
  }
  return f.json ? print_json(f, *view, city.get(), store.describe())
                : print_text(f, *view, city.get(), store.describe());
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
  status->add_option("--cluster", f->cluster, "etcd://HOST:PORT[,...] or etcd+unix://PATH")
      ->required();
  status->add_option("--cluster-name", f->name, "the cluster's name (default: default)");
  status->add_option("--city", f->city, "city bundle, to name the districts");
  status->add_flag("--json", f->json, "one JSON document");
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
