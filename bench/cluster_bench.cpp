// The cluster's control plane on a real etcd: how long from a node's death (its keepalives stop,
// as after kill -9) to a published placement without it, and from a leave request to the node
// being out, beside the reference measured in the same run: etcd's own lease expiry (a lease of
// the same TTL whose keepalives stop, to its keys' DELETE seen by a watcher), which is the floor
// of any lease-based failure detection.
//
// Members are agent_runners in this process, each with its own etcd client, exactly as a node
// runs them; a "kill" stops a runner without leaving, so its lease runs out as a dead process's.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/agent_runner.hpp"
#include "cluster/etcd_store.hpp"
#include "etcd_cluster.hpp"

namespace {

namespace coord = cluster::coord;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr double failover_target_s = 3.0;

struct figures {
  std::vector<double> seconds;
  double median() const {
    auto v = seconds;
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
  }
  double max() const {
    return seconds.empty() ? 0 : *std::max_element(seconds.begin(), seconds.end());
  }
};

coord::etcd_options options_for(const std::string& url) {
  coord::etcd_options o{coord::parse_etcd_url(url).value()};
  o.request_timeout = 1000ms;
  return o;
}

// [1] A lease of `ttl` with one key, its keepalives stopped: time to the DELETE a watcher sees.
double lease_expiry_s(const std::string& url, std::chrono::milliseconds ttl, int round) {
  coord::etcd_store store(options_for(url));
  const std::string key = "/bench/lease/" + std::to_string(round);
  std::mutex m;
  std::condition_variable cv;
  bool deleted = false;
  auto lease = store.lease_grant(ttl).value();
  auto rev = store.put(key, "x", lease).value();
  auto watch = store.watch(key, {}, rev + 1, [&](const coord::watch_batch& b) {
    for (const auto& e : b.events)
      if (e.type == coord::watch_event::kind::erase) {
        std::lock_guard lock(m);
        deleted = true;
        cv.notify_all();
      }
  });
  // The last keepalive is the start: the lease runs out TTL after it.
  store.lease_keepalive(lease);
  const auto start = clock_type::now();
  std::unique_lock lock(m);
  cv.wait_for(lock, 10s, [&] { return deleted; });
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

struct member {
  std::unique_ptr<cluster::agent_runner> runner;
};

std::unique_ptr<cluster::agent_runner> start_member(const std::string& url, const std::string& id,
                                                    std::chrono::milliseconds ttl) {
  cluster::agent_options o;
  o.cluster = "bench";
  o.self.id = id;
  o.self.zone = id;
  o.district_count = 8;
  o.replication_factor = 2;
  o.lease_ttl = ttl;
  o.keepalive_every = ttl / 4;
  auto runner = std::make_unique<cluster::agent_runner>(
      std::make_unique<coord::etcd_store>(options_for(url)), o, cluster::agent_runner::hooks{});
  runner->start();
  return runner;
}

bool placement_without(const cluster::cluster_view& v, const std::string& id) {
  if (v.epoch == 0) return false;
  for (const auto& ref : v.placement.members)
    if (ref.id == id) return false;
  return v.owned_by(id) == 0 && v.replicated_by(id) == 0;
}

bool all_placed(const std::map<std::string, member>& members) {
  for (const auto& [id, m] : members) {
    auto v = m.runner->view();
    bool in = false;
    for (const auto& ref : v.placement.members) in = in || ref.id == id;
    if (!v.member || !in) return false;
  }
  return true;
}

template <class F>
bool poll(F&& done, std::chrono::milliseconds bound) {
  const auto deadline = clock_type::now() + bound;
  while (clock_type::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return done();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"citytwin cluster control-plane benchmark (real etcd)"};
  int rounds = 10;
  bool quick = false;
  std::string etcd = testkit::etcd_binary();
  app.add_option("--rounds", rounds, "kills, leaves and lease expiries measured (default 10)");
  app.add_option("--etcd", etcd, "the etcd binary (default: the one make deps unpacks)");
  app.add_flag("--quick", quick, "one round of each, for the test suite");
  CLI11_PARSE(app, argc, argv);
  if (quick) rounds = 1;
  if (etcd.empty()) {
    std::fprintf(stderr, "SKIPPED: no etcd binary (`make deps` unpacks it into .deps/)\n");
    return 77;
  }
  const auto ttl = 2000ms;
  testkit::etcd_cluster server(etcd, "bench");
  const std::string url = server.url();
  std::printf("citytwin cluster benchmark: etcd at %s, lease TTL %lld ms, %d rounds\n", url.c_str(),
              static_cast<long long>(ttl.count()), rounds);

  figures reference;
  for (int i = 0; i < rounds; ++i) reference.seconds.push_back(lease_expiry_s(url, ttl, i));
  std::printf(
      "[1] reference: etcd lease expiry (keepalives stopped -> DELETE seen): median "
      "%.2f s, max %.2f s\n",
      reference.median(), reference.max());

  std::map<std::string, member> members;
  int next = 0;
  auto add = [&] {
    std::string id = "m" + std::to_string(next++);
    members[id].runner = start_member(url, id, ttl);
    return id;
  };
  for (int i = 0; i < 3; ++i) add();
  if (!poll([&] { return all_placed(members); }, 20s)) {
    std::fprintf(stderr, "the three members did not settle within 20 s\n");
    return 1;
  }

  figures failover, leave;
  for (int i = 0; i < rounds; ++i) {
    // Kill the coordinator every other round: its death also costs an election.
    std::string victim;
    auto view = members.begin()->second.runner->view();
    for (const auto& [id, m] : members)
      if ((i % 2 == 0) == (id == view.coordinator)) {
        victim = id;
        break;
      }
    if (victim.empty()) victim = members.begin()->first;
    const auto start = clock_type::now();
    members[victim].runner->stop();  // no leave: its lease runs out
    members.erase(victim);
    bool done = poll(
        [&] {
          for (const auto& [id, m] : members)
            if (!placement_without(m.runner->view(), victim)) return false;
          return true;
        },
        15s);
    const double s = std::chrono::duration<double>(clock_type::now() - start).count();
    failover.seconds.push_back(done ? s : 99);
    add();
    poll([&] { return all_placed(members); }, 20s);

    // A leave: from the request to every other member following a placement without it.
    std::string leaving = members.begin()->first;
    const auto leave_start = clock_type::now();
    std::thread t([&] { members[leaving].runner->leave(10s); });
    bool left = poll(
        [&] {
          for (const auto& [id, m] : members)
            if (id != leaving && !placement_without(m.runner->view(), leaving)) return false;
          return true;
        },
        15s);
    leave.seconds.push_back(
        left ? std::chrono::duration<double>(clock_type::now() - leave_start).count() : 99);
    t.join();
    members[leaving].runner->stop();
    members.erase(leaving);
    add();
    poll([&] { return all_placed(members); }, 20s);
  }
  std::printf(
      "[2] failover: keepalives of a member stopped -> every other member follows a "
      "placement without it: median %.2f s, max %.2f s (%.2f x the lease expiry); "
      "target < %.0f s: %s\n",
      failover.median(), failover.max(), failover.median() / reference.median(), failover_target_s,
      failover.max() < failover_target_s ? "met" : "NOT MET");
  std::printf(
      "[3] leave: request -> every other member follows a placement without it: median "
      "%.3f s, max %.3f s\n",
      leave.median(), leave.max());
  std::printf(
      "    (published figures for comparison: Orleans ~15 s, Akka Cluster ~45 s to detect "
      "and fail over with their default settings, from their documentation)\n");
  for (auto& [id, m] : members) m.runner->stop();
  return failover.max() < 99 && leave.max() < 99 ? 0 : 1;
}
