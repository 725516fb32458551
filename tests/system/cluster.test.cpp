// Nodes forming a cluster on a real etcd (started by the test on unix sockets): membership,
// coordinator election, placement, failover of a kill -9 and a graceful leave, seen through
// `citytwin cluster status --json`, the nodes' own lines and their metrics.
#include <doctest/doctest.h>

#include <signal.h>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "etcd_cluster.hpp"
#include "node.hpp"
#include "skip.hpp"

namespace {

using namespace systest;
using json = nlohmann::json;

json status(const std::string& dir, const std::string& url) {
  auto r = run_cli(dir, "status",
                   {"cluster", "status", "--cluster", url, "--json", "--city", macau_city});
  if (r.code != 0) return json();
  return json::parse(r.output);
}

// Every member up, and the placement computed with each of them.
bool settled(const json& s, std::size_t members) {
  if (s.is_null() || s["members"].size() != members) return false;
  for (const auto& m : s["members"])
    if (m["state"] != "up") return false;
  return true;
}

// One clustered node per id (on the Macau city, each in BASE/ID), started and ready.
using node_map = std::map<std::string, std::unique_ptr<node_process>>;
void start_node(node_map& nodes, const std::string& base, const std::string& id,
                const std::string& url, std::vector<std::string> extra = {}) {
  std::filesystem::create_directories(base + "/" + id);
  std::vector<std::string> args{"--cluster", url, "--node-id", id};
  args.insert(args.end(), extra.begin(), extra.end());
  nodes[id] = std::make_unique<node_process>(base + "/" + id, macau_city, args);
  REQUIRE_MESSAGE(nodes[id]->ready, nodes[id]->proc->errors());
}

std::map<std::string, std::string> zones_of(const json& s) {
  std::map<std::string, std::string> out;
  for (const auto& m : s["members"]) out[m["id"]] = m["zone"];
  return out;
}

}  // namespace

TEST_CASE("cluster: three nodes on etcd join, fail over a kill -9, drain and leave on SIGTERM") {
  if (!testkit::have_tool("etcd", testkit::etcd_binary(), "the cluster system test")) return;
  testkit::etcd_cluster etcd(testkit::etcd_binary(), "cluster-system");
  const auto base = make_temp_dir("cluster-system");
  node_map nodes;
  const std::map<std::string, std::string> zone{{"a", "z1"}, {"b", "z2"}, {"c", "z1"}};
  for (const auto& [id, z] : zone)
    start_node(nodes, base, id, etcd.url(),
               {"--zone", z, "--advertise-host", id + ".citytwin.test"});
  json s;
  REQUIRE(poll_until([&] { return settled(s = status(base, etcd.url()), 3); }, 15s));
  INFO(s.dump(2));
  CHECK(s["cluster"] == "default");
  CHECK(s["replication_factor"] == 2);
  CHECK(s["districts"].size() == 8);
  // Owners balanced over the three, one replica each, owner and replica in different zones: with
  // zones z1 = {a, c} and z2 = {b}, b holds every district as owner or replica.
  std::size_t owned = 0;
  for (const auto& m : s["members"]) {
    CHECK(m["owns"].get<int>() >= 2);
    CHECK(m["owns"].get<int>() <= 3);
    owned += m["owns"].get<std::size_t>();
    CHECK(m["city"] == "Macau");
    // Addresses as others reach them: the advertised host with the bound port.
    CHECK(m["ingest"].get<std::string>().rfind(
              "tcp://" + m["id"].get<std::string>() + ".citytwin.test:", 0) == 0);
  }
  CHECK(owned == 8);
  const auto zones = zones_of(s);
  std::map<std::string, std::string> replica_before;
  for (const auto& d : s["districts"]) {
    REQUIRE(d["replicas"].size() == 1);
    CHECK(zones.at(d["owner"]) != zones.at(d["replicas"][0]));
    replica_before[d["district"]] = d["replicas"][0];
  }
  for (const auto& m : s["members"])
    if (m["id"] == "b") CHECK(m["owns"].get<int>() + m["replicates"].get<int>() == 8);
  // The node says where it stands, and its metrics agree with etcd.
  CHECK(nodes["a"]->proc->output().find("cluster: 'default' on etcd at etcd+unix://") !=
        std::string::npos);
  CHECK(nodes["a"]->proc->output().find("as 'a' in zone 'z1', replication factor 2: "
                                        "incarnation ") != std::string::npos);
  const double epoch = s["epoch"];
  int coordinators = 0;
  for (const auto& [id, n] : nodes) {
    REQUIRE(poll_until(
        [&] {
          auto m = n->metrics();
          return series(m, "citytwin_placement_epoch") == epoch &&
                 series(m, "citytwin_members{state=\"up\"}") == 3;
        },
        5s));
    auto m = n->metrics();
    coordinators += static_cast<int>(series(m, "citytwin_cluster_coordinator"));
    CHECK(series(m, "citytwin_cluster_store_reachable") == 1);
    for (const auto& member : s["members"])
      if (member["id"] == id) {
        CHECK(series(m, "citytwin_districts_owned") == member["owns"].get<double>());
        CHECK(series(m, "citytwin_districts_replicated") == member["replicates"].get<double>());
      }
  }
  CHECK(coordinators == 1);
  // Any node answers `cluster status --node` with its own view: the same as etcd's.
  for (const auto& [id, n] : nodes) {
    auto r =
        run_cli(base, "status-node-" + id, {"cluster", "status", "--node", n->query, "--json"});
    REQUIRE_MESSAGE(r.code == 0, r.errors);
    auto from_node = json::parse(r.output);
    CHECK(from_node["node"] == id);
    CHECK(from_node["store_reachable"] == true);
    for (const auto* field : {"cluster", "store", "epoch", "coordinator", "term",
                              "replication_factor", "members", "districts"})
      CHECK_MESSAGE(from_node[field] == s[field], field);
  }

  // kill -9 of c: its lease ends (2 s), the coordinator promotes the replica of each of its
  // districts; bounded by the lease and one step.
  std::set<std::string> c_owned;
  for (const auto& d : s["districts"])
    if (d["owner"] == "c") c_owned.insert(d["district"]);
  REQUIRE(!c_owned.empty());
  const auto killed = std::chrono::steady_clock::now();
  kill(nodes["c"]->proc->pid(), SIGKILL);
  nodes["c"]->proc->wait(5s);
  REQUIRE(poll_until(
      [&] { return settled(s = status(base, etcd.url()), 2) && s["epoch"].get<double>() > epoch; },
      10s));
  const double failover_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  MESSAGE("kill -9 to a placement without the dead node: " << failover_s << " s");
  CHECK(failover_s < 3.5);
  // The coordinator counted them as failovers.
  CHECK(poll_until(
      [&] {
        double failovers = 0;
        for (const auto& id : {"a", "b"})
          failovers += series(nodes[id]->metrics(), "citytwin_cluster_failovers_total");
        return failovers == static_cast<double>(c_owned.size());
      },
      5s));
  for (const auto& d : s["districts"]) {
    CHECK(d["owner"] != "c");
    if (c_owned.count(d["district"])) CHECK(d["owner"] == replica_before[d["district"]]);
    for (const auto& r : d["replicas"]) CHECK(r != "c");
  }

  // `cluster drain a`: a hands its districts over, leaves, stops by itself, exit 0.
  auto drain = run_cli(base, "drain", {"cluster", "drain", "a", "--cluster", etcd.url()}, 30s);
  CHECK(drain.code == 0);
  CHECK(drain.output.find("drain of 'a' (incarnation ") != std::string::npos);
  CHECK(drain.output.find("'a' left the cluster; epoch ") != std::string::npos);
  CHECK(nodes["a"]->proc->wait(15s) == 0);
  CHECK(nodes["a"]->proc->output().find("cluster: drain requested (citytwin cluster drain)") !=
        std::string::npos);
  CHECK(nodes["a"]->proc->output().find("cluster: left the cluster at epoch") != std::string::npos);
  CHECK(nodes["a"]->proc->errors().find("stopped on a drain of its cluster") != std::string::npos);
  auto unknown = run_cli(base, "drain-unknown", {"cluster", "drain", "z", "--cluster", etcd.url()});
  CHECK(unknown.code == 1);
  CHECK(unknown.errors.find("no member 'z' in cluster 'default' (members: b)") !=
        std::string::npos);
  REQUIRE(poll_until([&] { return settled(s = status(base, etcd.url()), 1); }, 10s));
  CHECK(s["members"][0]["id"] == "b");
  CHECK(s["members"][0]["owns"] == 8);
  CHECK(s["members"][0]["replicates"] == 0);
  REQUIRE(poll_until(
      [&] {
        auto m = nodes["b"]->metrics();
        return series(m, "citytwin_members{state=\"up\"}") == 1 &&
               series(m, "citytwin_members{state=\"down\"}") == 0 &&
               series(m, "citytwin_cluster_coordinator") == 1 &&
               series(m, "citytwin_districts_owned") == 8;
      },
      5s));
  // SIGTERM of the last node: it leaves (nothing to hand over to) and exits 0.
  CHECK(nodes["b"]->proc->stop(15s) == 0);
  CHECK(nodes["b"]->proc->output().find("cluster: left the cluster at epoch") != std::string::npos);
}

TEST_CASE("cluster: status and node flags refuse a bad cluster address, naming it") {
  const auto dir = make_temp_dir("cluster-flags");
  // A node alone says so when asked for its cluster.
  {
    std::filesystem::create_directories(dir + "/alone");
    node_process alone(dir + "/alone", small_city);
    REQUIRE(alone.ready);
    auto text = run_cli(dir, "status-alone", {"cluster", "status", "--node", alone.query});
    CHECK(text.code == 0);
    CHECK(text.output ==
          "node '" + alone.ingest + "' runs alone (no --cluster): it holds the whole city\n");
    auto j =
        run_cli(dir, "status-alone-json", {"cluster", "status", "--node", alone.query, "--json"});
    CHECK(json::parse(j.output) == json{{"alone", true}, {"node", alone.ingest}});
    CHECK(alone.proc->stop(10s) == 0);
  }
  auto neither = run_cli(dir, "status-neither", {"cluster", "status"});
  CHECK(neither.code == 2);
  CHECK(neither.errors.find("give --cluster URL (read etcd) or --node ADDR (ask a node), one of "
                            "them") != std::string::npos);
  auto r = run_cli(dir, "status", {"cluster", "status", "--cluster", "http://127.0.0.1:2379"});
  CHECK(r.code == 2);
  CHECK(r.errors.find("--cluster: cluster address 'http://127.0.0.1:2379': expected "
                      "etcd://HOST:PORT") != std::string::npos);
  auto node = run_cli(dir, "node", {"node", "--city", macau_city, "--zone", "z1"});
  CHECK(node.code == 2);
  CHECK(node.errors.find("--node-id, --zone, --advertise-host, --cluster-name and "
                         "--replication-factor need --cluster") != std::string::npos);
  auto rf = run_cli(dir, "node-rf",
                    {"node", "--city", macau_city, "--cluster", "etcd://127.0.0.1:1",
                     "--replication-factor", "4"});
  CHECK(rf.code == 2);
  CHECK(rf.errors.find("--replication-factor: 4 is not 1, 2 or 3") != std::string::npos);
  // etcd that does not answer: the status command says which endpoint, and fails.
  auto down = run_cli(dir, "status-down",
                      {"cluster", "status", "--cluster", "etcd+unix://" + dir + "/none.sock"});
  CHECK(down.code == 1);
  CHECK(down.errors.find("no etcd endpoint answered: etcd+unix://" + dir + "/none.sock") !=
        std::string::npos);
}

namespace {

// The incarnation of each member, by id.
std::map<std::string, std::string> incarnations(const json& s) {
  std::map<std::string, std::string> out;
  for (const auto& m : s["members"]) out[m["id"]] = m.value("incarnation", std::string());
  return out;
}

}  // namespace

TEST_CASE("cluster: a node paused past its lease owns nothing and comes back as a new run") {
  if (!testkit::have_tool("etcd", testkit::etcd_binary(), "the zombie node test")) return;
  testkit::etcd_cluster etcd(testkit::etcd_binary(), "cluster-zombie");
  const auto base = make_temp_dir("cluster-zombie");
  node_map nodes;
  for (const auto& id : {"a", "b"}) start_node(nodes, base, id, etcd.url());
  json s;
  REQUIRE(poll_until([&] { return settled(s = status(base, etcd.url()), 2); }, 15s));
  const auto before = incarnations(s);
  // SIGSTOP of a for longer than its lease: the cluster goes on without it.
  kill(nodes["a"]->proc->pid(), SIGSTOP);
  REQUIRE(poll_until([&] { return settled(s = status(base, etcd.url()), 1); }, 10s));
  INFO(s.dump(2));
  CHECK(s["members"][0]["id"] == "b");
  CHECK(s["members"][0]["owns"] == 8);
  CHECK(s["coordinator"] == "b");
  // SIGCONT: a finds its lease gone, says so, owns nothing, and rejoins as a new incarnation.
  kill(nodes["a"]->proc->pid(), SIGCONT);
  REQUIRE(poll_until([&] { return settled(s = status(base, etcd.url()), 2); }, 15s));
  const auto after = incarnations(s);
  CHECK(after.at("a") != before.at("a"));
  CHECK(after.at("b") == before.at("b"));
  CHECK(poll_until(
      [&] {
        return nodes["a"]->proc->output().find(
                   "cluster: no longer a member (its lease ended): this node owns nothing now "
                   "and rejoins as a new incarnation") != std::string::npos;
      },
      5s));
  CHECK(nodes["a"]->proc->running());  // no crash, no restart loop
  CHECK(nodes["a"]->proc->stop(15s) == 0);
  CHECK(nodes["b"]->proc->stop(15s) == 0);
}

TEST_CASE("cluster: the kill of the etcd leader changes nothing for the members") {
  if (!testkit::have_tool("etcd", testkit::etcd_binary(), "the etcd leader kill test")) return;
  testkit::etcd_cluster etcd(testkit::etcd_binary(), "cluster-leader", 3);
  const auto base = make_temp_dir("cluster-leader");
  node_map nodes;
  for (const auto& id : {"a", "b", "c"}) start_node(nodes, base, id, etcd.url());
  json s;
  REQUIRE(poll_until([&] { return settled(s = status(base, etcd.url()), 3); }, 15s));
  const auto before = incarnations(s);
  const auto epoch = s["epoch"];
  int leader = -1;
  REQUIRE(poll_until([&] { return (leader = etcd.leader()) >= 0; }, 10s));
  etcd.kill(leader);
  // A new leader within about a second; the members' leases survive it (etcd renews them on a
  // leader change), so nobody fails over and the placement stays as it was.
  REQUIRE(poll_until([&] { return etcd.leader() >= 0; }, 10s));
  // Through more than a lease TTL of keepalives on the new leader.
  auto until = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < until) {
    auto now = status(base, etcd.url());
    if (now.is_null()) continue;  // the status command may meet the dead member first: retry
    s = now;
    INFO(s.dump(2));
    REQUIRE(incarnations(s) == before);
    REQUIRE(s["epoch"] == epoch);
  }
  for (auto& [id, n] : nodes) {
    CHECK(n->proc->output().find("no longer a member") == std::string::npos);
    CHECK(n->proc->stop(15s) == 0);
  }
}

TEST_CASE("cluster: a node whose etcd is down starts, serves ingest, and joins when etcd comes") {
  if (!testkit::have_tool("etcd", testkit::etcd_binary(), "the etcd-down start test")) return;
  testkit::etcd_cluster etcd(testkit::etcd_binary(), "cluster-late-etcd");
  etcd.kill(0);
  const auto base = make_temp_dir("cluster-late-etcd");
  node_process node(base, small_city,
                    std::vector<std::string>{"--cluster", etcd.url(), "--node-id", "a"});
  REQUIRE_MESSAGE(node.ready, node.proc->errors());
  // It says it is not a member yet, and why.
  CHECK(node.proc->output().find("as 'a', replication factor 2: not a member yet (etcd "
                                 "unreachable: no etcd endpoint answered: etcd+unix://") !=
        std::string::npos);
  CHECK(node.proc->output().find("cluster: coordination store unreachable (") != std::string::npos);
  CHECK(series(node.metrics(), "citytwin_cluster_store_reachable") == 0);
  // Ingest goes on meanwhile: every reading of the feed is acked and applied.
  auto feed =
      run_cli(base, "feed",
              {"feed", "--city", small_city, "--to", node.ingest, "--count", "500", "--quiet"});
  CHECK_MESSAGE(feed.code == 0, feed.errors);
  CHECK(series(node.metrics(), "citytwin_ingest_readings_total{result=\"accepted\"}") == 500);
  // etcd comes: the node joins, becomes coordinator, and publishes the placement.
  etcd.restart(0);
  json s;
  REQUIRE(poll_until([&] { return settled(s = status(base, etcd.url()), 1); }, 15s));
  CHECK(s["coordinator"] == "a");
  CHECK(poll_until(
      [&] {
        auto m = node.metrics();
        return series(m, "citytwin_cluster_store_reachable") == 1 &&
               series(m, "citytwin_cluster_coordinator") == 1;
      },
      5s));
  CHECK(node.proc->output().find("cluster: coordination store reachable again") !=
        std::string::npos);
  CHECK(node.proc->stop(15s) == 0);
}
