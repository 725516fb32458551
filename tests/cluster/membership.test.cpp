// Membership, coordinator election and placement publication (cluster/membership) on the
// in-memory coordination store and a clock the test moves: every step is deterministic, so the
// counts below are exact. The same agent runs on a real etcd in the node's system tests.
#include "cluster/membership.hpp"

#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <set>

#include "cluster/memory_store.hpp"

namespace {

namespace coord = cluster::coord;
using namespace std::chrono_literals;
using cluster::member_state;

constexpr std::size_t districts = 8;  // Macau: 7 parishes and Cotai

struct world {
  std::chrono::steady_clock::time_point now{std::chrono::seconds(1000)};
  coord::memory_store store{[this] { return now; }};
  std::map<std::string, std::unique_ptr<cluster::member_agent>> agents;
  std::set<std::string> paused;
  std::vector<std::string> log;

  // Every published placement and coordinator change, in revision order, for the invariants.
  struct placement_write {
    coord::revision epoch;
    cluster::placement_record record;
    std::string coordinator_then;
    std::int64_t term_then;
  };
  std::vector<placement_write> writes;
  std::string coordinator;
  std::int64_t term = 0;
  std::unique_ptr<coord::watch_handle> watch;

  world() {
    watch = store.watch(
        "/citytwin/test/", coord::prefix_end("/citytwin/test/"), 1,
        [this](const coord::watch_batch& b) {
          for (const auto& e : b.events) {
            if (e.kv.key == "/citytwin/test/coordinator") {
              if (e.type == coord::watch_event::kind::erase) {
                coordinator.clear();
                term = 0;
              } else {
                coordinator = cluster::coordinator_from_json(e.kv.value).value().id;
                term = e.kv.create_revision;
              }
            } else if (e.kv.key == "/citytwin/test/placement" &&
                       e.type == coord::watch_event::kind::put) {
              writes.push_back({e.kv.mod_revision, cluster::placement_from_json(e.kv.value).value(),
                                coordinator, term});
            }
          }
        });
  }

  cluster::member_agent& add(const std::string& id, const std::string& zone = {}) {
    cluster::agent_options o;
    o.cluster = "test";
    o.self.id = id;
    o.self.zone = zone;
    o.self.peer = "tcp://127.0.0.1:1/" + id;
    o.district_count = districts;
    o.replication_factor = 2;
    agents[id] = std::make_unique<cluster::member_agent>(store, o);
    return *agents[id];
  }

  // Moves the clock in 50 ms steps, running the store's lease reaper and every agent that is
  // not paused, in id order.
  void run(std::chrono::milliseconds span) {
    for (auto t = 0ms; t < span; t += 50ms) {
      now += 50ms;
      store.expire_leases();
      for (auto& [id, agent] : agents) {
        if (paused.count(id)) continue;
        agent->step(now);
        for (auto& e : agent->take_events()) log.push_back(id + ": " + e.text);
      }
    }
  }

  const cluster::cluster_view& view(const std::string& id) { return agents.at(id)->view(); }

  // Every running member sees the same epoch and table.
  void check_agreement() {
    const cluster::cluster_view* first = nullptr;
    for (auto& [id, agent] : agents) {
      if (paused.count(id) || agent->left()) continue;
      if (first == nullptr) {
        first = &agent->view();
        continue;
      }
      CHECK(agent->view().epoch == first->epoch);
      CHECK(agent->view().placement == first->placement);
    }
  }

  // Each placement was written under the coordinator of its time and with its term, and terms
  // never go back.
  void check_fencing() {
    std::int64_t last_term = 0;
    for (const auto& w : writes) {
      CHECK(w.record.coordinator == w.coordinator_then);
      CHECK(w.record.term == w.term_then);
      CHECK(w.record.term >= last_term);
      last_term = w.record.term;
    }
  }

  std::string log_text() const {
    std::string out;
    for (const auto& l : log) out += l + "\n";
    return out;
  }
};

std::vector<cluster::member> members_of(const cluster::cluster_view& v) {
  std::vector<cluster::member> out;
  for (const auto& m : v.members) out.push_back({m.id, m.zone, m.state});
  return out;
}

}  // namespace

TEST_CASE("membership: three nodes join, elect one coordinator and agree on one placement") {
  world w;
  w.add("a");
  w.add("b");
  w.add("c");
  w.run(1s);
  INFO(w.log_text());
  const auto& v = w.view("b");
  CHECK(v.member);
  CHECK(v.store_reachable);
  REQUIRE(v.members.size() == 3);
  for (const auto& m : v.members) CHECK(m.state == member_state::up);
  CHECK(v.coordinator == "a");                      // the first to step campaigned first
  CHECK(w.agents["a"]->placements_written() == 2);  // {a} alone, then {a, b, c}
  CHECK(w.agents["b"]->placements_written() == 0);
  CHECK(w.writes.size() == 2);
  CHECK(v.epoch == w.writes.back().epoch);
  CHECK(cluster::validate(v.placement.table, members_of(v), 2).empty());
  std::size_t owned = 0;
  for (const auto& id : {"a", "b", "c"}) {
    CHECK(v.owned_by(id) >= 2);
    CHECK(v.owned_by(id) <= 3);
    owned += v.owned_by(id);
  }
  CHECK(owned == districts);
  w.check_agreement();
  w.check_fencing();
  // A quiet cluster writes nothing more.
  w.run(5s);
  CHECK(w.writes.size() == 2);
}

TEST_CASE("membership: a killed node's lease ends and its districts go to their replicas") {
  world w;
  w.add("a");
  w.add("b");
  w.add("c");
  w.run(1s);
  auto before = w.view("a").placement.table;
  std::size_t c_owned = w.view("a").owned_by("c");
  REQUIRE(c_owned > 0);
  w.agents["a"]->take_publications();
  w.paused.insert("c");  // kill -9: no more keepalives
  auto killed_at = w.now;
  w.run(1500ms);
  CHECK(w.view("a").members.size() == 3);  // the lease has not run out yet
  w.run(1500ms);
  INFO(w.log_text());
  const auto& v = w.view("a");
  REQUIRE(v.members.size() == 2);
  CHECK(v.replicated_by("c") == 0);
  CHECK(v.owned_by("c") == 0);
  // Every district c owned went to the node that replicated it.
  auto changes = cluster::diff(before, v.placement.table);
  auto summary = cluster::summarize(changes);
  CHECK(summary.fresh_owners == 0);
  CHECK(summary.promotions >= c_owned);
  for (std::size_t d = 0; d < districts; ++d)
    if (before.districts[d].owner == "c")
      CHECK(before.districts[d].replicas.at(0) == v.placement.table.districts[d].owner);
  // Within the lease TTL + one step after the kill.
  CHECK(w.writes.size() == 3);
  // The coordinator counts them as failovers, not handoffs.
  auto published = w.agents["a"]->take_publications();
  REQUIRE(published.size() == 1);
  CHECK(published[0].failovers == c_owned);
  CHECK(published[0].handoffs == summary.ownership_moves - c_owned);
  CHECK(published[0].epoch == v.epoch);
  (void)killed_at;
  w.check_agreement();
  w.check_fencing();
}

TEST_CASE("membership: the coordinator dies, another takes over with a higher term") {
  world w;
  w.add("a");
  w.add("b");
  w.add("c");
  w.run(1s);
  REQUIRE(w.view("b").coordinator == "a");
  std::int64_t old_term = w.view("b").term;
  std::int64_t old_incarnation = w.view("a").incarnation;
  w.paused.insert("a");  // SIGSTOP of the coordinator, longer than its lease
  w.run(3s);
  INFO(w.log_text());
  const auto& v = w.view("b");
  CHECK(v.coordinator == "b");
  CHECK(v.term > old_term);
  REQUIRE(v.members.size() == 2);
  CHECK(v.owned_by("a") == 0);
  // SIGCONT: the old coordinator finds its lease gone, owns nothing, and rejoins as a new
  // incarnation; its stale view never gets a placement written (the store refuses it).
  w.paused.erase("a");
  w.run(50ms);
  CHECK_FALSE(w.view("a").member);
  w.run(1s);
  CHECK(w.view("a").member);
  CHECK(w.view("a").incarnation != old_incarnation);
  CHECK(w.view("b").members.size() == 3);
  CHECK(w.view("b").coordinator == "b");
  CHECK(w.log_text().find("a: no longer a member (its lease ended)") != std::string::npos);
  w.check_agreement();
  w.check_fencing();
}

TEST_CASE("membership: a leaving node hands its districts over, then goes") {
  world w;
  w.add("a");
  w.add("b");
  w.add("c");
  w.run(1s);
  std::size_t b_owned = w.view("a").owned_by("b");
  w.agents["a"]->take_publications();
  w.agents["b"]->begin_leave();
  w.run(1s);
  INFO(w.log_text());
  CHECK(w.agents["b"]->left());
  // A leave is handoffs: every district b owned moved while b was alive.
  std::size_t handoffs = 0, failovers = 0;
  for (const auto& p : w.agents["a"]->take_publications()) {
    handoffs += p.handoffs;
    failovers += p.failovers;
  }
  CHECK(failovers == 0);
  CHECK(handoffs >= b_owned);
  const auto& v = w.view("a");
  REQUIRE(v.members.size() == 2);
  CHECK(v.owned_by("a") == 4);
  CHECK(v.owned_by("c") == 4);
  CHECK(v.replicated_by("a") == 4);
  CHECK(v.replicated_by("c") == 4);
  CHECK(w.log_text().find("b: left the cluster at epoch") != std::string::npos);
  // The coordinator can leave too: another member takes over coordinating.
  w.agents["a"]->begin_leave();
  w.run(2s);
  CHECK(w.agents["a"]->left());
  CHECK(w.view("c").coordinator == "c");
  CHECK(w.view("c").owned_by("c") == districts);
  w.check_fencing();
}

TEST_CASE("membership: a drain request makes that incarnation leave, and only that one") {
  world w;
  w.add("a");
  w.add("b");
  w.add("c");
  w.run(1s);
  // A request naming an earlier incarnation of b is ignored.
  REQUIRE(w.store.put("/citytwin/test/drain/b", cluster::drain_request_json(1)));
  w.run(500ms);
  CHECK_FALSE(w.agents["b"]->left());
  REQUIRE(
      w.store.put("/citytwin/test/drain/b", cluster::drain_request_json(w.view("b").incarnation)));
  w.run(1s);
  INFO(w.log_text());
  CHECK(w.agents["b"]->left());
  CHECK(w.agents["b"]->drained());
  CHECK_FALSE(w.agents["a"]->drained());
  CHECK(w.store.range("/citytwin/test/drain/b")->kvs.empty());  // removed as b went
  CHECK(w.view("a").members.size() == 2);
  CHECK(w.view("a").owned_by("b") == 0);
  CHECK(w.log_text().find("b: drain requested (citytwin cluster drain)") != std::string::npos);
  w.check_fencing();
}

TEST_CASE("membership: while the store is unreachable the last epoch stays, then all resumes") {
  world w;
  w.add("a");
  w.add("b");
  w.run(1s);
  auto epoch = w.view("a").epoch;
  auto incarnation = w.view("a").incarnation;
  w.store.set_available(false);
  w.run(1s);
  INFO(w.log_text());
  CHECK_FALSE(w.view("a").store_reachable);
  CHECK(w.view("a").epoch == epoch);
  CHECK(w.view("a").member);
  CHECK(w.view("a").store_problem == "in-memory store: unavailable");
  CHECK(w.log_text().find("a: coordination store unreachable (in-memory store: unavailable): "
                          "serving epoch " +
                          std::to_string(epoch) + " as it is; placement changes wait") !=
        std::string::npos);
  w.store.set_available(true);
  w.run(200ms);
  CHECK(w.view("a").store_reachable);
  CHECK(w.view("a").incarnation == incarnation);  // back within the lease: still the same run
  CHECK(w.view("a").epoch == epoch);
  // An outage longer than the lease: the leases end; everyone rejoins as a new incarnation.
  w.store.set_available(false);
  w.run(3s);
  w.store.set_available(true);
  w.run(1s);
  CHECK(w.view("a").member);
  CHECK(w.view("a").incarnation != incarnation);
  CHECK(w.view("a").members.size() == 2);
  CHECK(w.view("a").epoch > epoch);
  w.check_agreement();
  w.check_fencing();
}

TEST_CASE("membership: a node id held by a live lease waits, then takes over") {
  world w;
  auto& first = w.add("a");
  w.run(500ms);
  auto first_incarnation = first.view().incarnation;
  // The same id started again while the first run's lease is alive (a restart after kill -9).
  w.paused.insert("a");
  cluster::agent_options o = first.options();
  auto second = std::make_unique<cluster::member_agent>(w.store, o);
  second->step(w.now);
  CHECK_FALSE(second->view().member);
  auto events = second->take_events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].text == "node id 'a' is held by incarnation " +
                              std::to_string(first_incarnation) +
                              " (an earlier run whose lease has not ended yet, or another node "
                              "with the same id): waiting for it to go");
  for (int i = 0; i < 60 && !second->view().member; ++i) {
    w.now += 50ms;
    w.store.expire_leases();
    second->step(w.now);
  }
  CHECK(second->view().member);
  CHECK(second->view().incarnation != first_incarnation);
}

TEST_CASE("membership: a restarted node is a new incarnation and gets no stale roles") {
  world w;
  w.add("a");
  w.add("b");
  w.add("c");
  w.run(1s);
  auto before = w.view("a").placement.table;
  auto old = w.view("c").incarnation;
  std::size_t c_owned = w.view("a").owned_by("c");
  REQUIRE(c_owned > 0);
  // kill -9 of c and a restart under the same id, while the coordinator a is paused for the
  // moment the old lease ends, so that a next reads the new incarnation where its placement
  // still names the old one.
  w.paused.insert("c");
  w.agents["c"].reset();
  w.run(1500ms);
  w.paused.insert("a");
  w.add("c");
  w.paused.erase("c");
  w.run(900ms);
  REQUIRE(w.view("c").member);
  CHECK(w.view("b").placement.table == before);  // nothing published while a was paused
  w.paused.erase("a");
  w.run(1s);
  INFO(w.log_text());
  const auto& v = w.view("a");
  REQUIRE(v.members.size() == 3);
  CHECK(v.find_member("c")->incarnation != old);
  CHECK(v.placement.members.at(2).incarnation == v.find_member("c")->incarnation);
  // Every district the old c owned changed owner by promotion of its replica: the new c holds
  // none of the old one's state, whatever share it is then given as a fresh node.
  auto summary = cluster::summarize(cluster::diff(before, v.placement.table));
  CHECK(summary.promotions >= c_owned);
  CHECK(cluster::validate(v.placement.table, members_of(v), 2).empty());
  w.check_agreement();
  w.check_fencing();
}

TEST_CASE("membership: records as JSON, and errors that name the field") {
  cluster::member_record m;
  m.id = "node-a";
  m.incarnation = 7587869301234567890;  // above 2^53: travels as a string
  m.zone = "taipa";
  m.state = member_state::leaving;
  m.peer = "tcp://10.0.0.1:7000";
  m.city = "Macau";
  m.fingerprint = "0123abcd";
  m.started_ms = 1764800000000;
  auto text = cluster::to_json(m);
  CHECK(text.find("\"incarnation\":\"7587869301234567890\"") != std::string::npos);
  CHECK(cluster::member_from_json(text).value() == m);
  auto bad_state = cluster::member_from_json(R"({"id":"a","incarnation":"1","state":"sleeping"})");
  REQUIRE_FALSE(bad_state);
  CHECK(bad_state.error() ==
        "member record: field 'state': 'sleeping' is not joining, up, leaving or down");
  auto missing = cluster::member_from_json(R"({"id":"a","state":"up"})");
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == "member record: field 'incarnation': missing");
  cluster::placement_record p;
  p.coordinator = "node-a";
  p.term = 12;
  p.replication_factor = 2;
  p.members = {{"node-a", 5}, {"node-b", 6}};
  p.table.districts = {{"node-a", {"node-b"}}, {"node-b", {"node-a"}}};
  CHECK(cluster::placement_from_json(cluster::to_json(p)).value() == p);
  CHECK_FALSE(cluster::placement_from_json("{"));
}
