// The coordination store's contract, run on both stores: the in-memory one (on a clock the test
// moves) and a real etcd (started per test on unix sockets). Every expectation is what etcd v3
// does; the in-memory store exists for the deterministic simulation and must not drift from it.
#include "cluster/coordination.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "cluster/etcd_store.hpp"
#include "cluster/memory_store.hpp"
#include "etcd_cluster.hpp"
#include "skip.hpp"

namespace {

namespace coord = cluster::coord;
using namespace std::chrono_literals;

// A store under test and the means to let time pass for it.
struct store_fixture {
  virtual ~store_fixture() = default;
  virtual coord::store& store() = 0;
  // Lets time pass until `done` holds (or `bound` passed): the in-memory store's clock moves in
  // 100 ms steps with its lease reaper run at each; a real etcd is polled.
  virtual bool eventually(const std::function<bool()>& done, std::chrono::milliseconds bound) = 0;
};

struct memory_fixture final : store_fixture {
  std::chrono::steady_clock::time_point now{std::chrono::seconds(1000)};
  coord::memory_store s{[this] { return now; }};
  coord::store& store() override { return s; }
  bool eventually(const std::function<bool()>& done, std::chrono::milliseconds bound) override {
    for (auto passed = 0ms; passed <= bound; passed += 100ms) {
      if (done()) return true;
      now += 100ms;
      s.expire_leases();
    }
    return done();
  }
};

struct etcd_fixture final : store_fixture {
  std::unique_ptr<testkit::etcd_cluster> etcd;
  std::unique_ptr<coord::etcd_store> s;
  explicit etcd_fixture(const std::string& name) {
    etcd = std::make_unique<testkit::etcd_cluster>(testkit::etcd_binary(), name);
    s = std::make_unique<coord::etcd_store>(
        coord::etcd_options{coord::parse_etcd_url(etcd->url()).value()});
  }
  coord::store& store() override { return *s; }
  bool eventually(const std::function<bool()>& done, std::chrono::milliseconds bound) override {
    auto deadline = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return done();
  }
};

// Collects what a watch delivers, for a test thread to wait on.
struct watch_log {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<coord::watch_batch> batches;
  std::function<void(const coord::watch_batch&)> callback() {
    return [this](const coord::watch_batch& b) {
      std::lock_guard lock(mutex);
      batches.push_back(b);
      cv.notify_all();
    };
  }
  std::vector<coord::watch_event> events() {
    std::lock_guard lock(mutex);
    std::vector<coord::watch_event> out;
    for (const auto& b : batches) out.insert(out.end(), b.events.begin(), b.events.end());
    return out;
  }
  std::size_t event_count() { return events().size(); }
  coord::revision compacted() {
    std::lock_guard lock(mutex);
    for (const auto& b : batches)
      if (b.compact_revision > 0) return b.compact_revision;
    return 0;
  }
};

// --- the contract -------------------------------------------------------------------------------

void puts_ranges_and_deletes(store_fixture& f) {
  auto& s = f.store();
  auto first = s.put("/t/a", "1");
  REQUIRE(first);
  auto second = s.put("/t/b", "2");
  REQUIRE(second);
  CHECK(*second == *first + 1);  // one revision per write
  auto again = s.put("/t/a", "3");
  REQUIRE(again);
  CHECK(*again == *first + 2);
  auto r = s.range("/t/a");
  REQUIRE(r);
  REQUIRE(r->kvs.size() == 1);
  CHECK(r->kvs[0].key == "/t/a");
  CHECK(r->kvs[0].value == "3");
  CHECK(r->kvs[0].create_revision == *first);
  CHECK(r->kvs[0].mod_revision == *again);
  CHECK(r->kvs[0].version == 2);
  CHECK(r->kvs[0].lease == 0);
  CHECK(r->header_revision == *again);
  CHECK(s.put("/u/c", "x"));
  auto prefix = s.range("/t/", coord::prefix_end("/t/"));
  REQUIRE(prefix);
  REQUIRE(prefix->kvs.size() == 2);
  CHECK(prefix->kvs[0].key == "/t/a");
  CHECK(prefix->kvs[1].key == "/t/b");
  // Binary keys and values travel intact.
  std::string binary("\0\xff\x01=", 4);
  REQUIRE(s.put("/t/bin", binary));
  CHECK(s.range("/t/bin")->kvs.at(0).value == binary);
  // A range at an older revision sees the value of then.
  auto past = s.range("/t/a", {}, *first);
  REQUIRE(past);
  REQUIRE(past->kvs.size() == 1);
  CHECK(past->kvs[0].value == "1");
  auto before_delete = s.range("/t/", coord::prefix_end("/t/"))->header_revision;
  auto erased = s.erase("/t/", coord::prefix_end("/t/"));
  REQUIRE(erased);
  CHECK(*erased == before_delete + 1);  // one delete of three keys is one revision
  CHECK(s.range("/t/", coord::prefix_end("/t/"))->kvs.empty());
  CHECK(s.range("/u/c")->kvs.size() == 1);
  // Deleting nothing writes nothing.
  auto nothing = s.erase("/t/none");
  REQUIRE(nothing);
  CHECK(*nothing == *erased);
  CHECK(s.range("/absent")->kvs.empty());
}

void transactions_compare_and_swap(store_fixture& f) {
  auto& s = f.store();
  auto create_if_absent = [&](const std::string& value) {
    return s.txn(
        {{"/lock", coord::compare_target::create_revision, coord::compare_op::equal, 0, {}}},
        {coord::put_op{"/lock", value}}, {coord::range_op{"/lock", {}}});
  };
  auto won = create_if_absent("first");
  REQUIRE(won);
  CHECK(won->succeeded);
  CHECK(won->ranges.empty());
  auto lost = create_if_absent("second");
  REQUIRE(lost);
  CHECK_FALSE(lost->succeeded);
  REQUIRE(lost->ranges.size() == 1);
  REQUIRE(lost->ranges[0].kvs.size() == 1);
  CHECK(lost->ranges[0].kvs[0].value == "first");
  CHECK(lost->header_revision == won->header_revision);  // a failed compare writes nothing
  // Compare-and-swap on mod_revision: only the writer that read the latest revision wins.
  coord::revision seen = lost->ranges[0].kvs[0].mod_revision;
  auto cas = [&](coord::revision expected, const std::string& value) {
    return s.txn(
        {{"/lock", coord::compare_target::mod_revision, coord::compare_op::equal, expected, {}}},
        {coord::put_op{"/lock", value}});
  };
  auto swapped = cas(seen, "third");
  REQUIRE(swapped);
  CHECK(swapped->succeeded);
  CHECK(swapped->header_revision == seen + 1);
  auto stale = cas(seen, "fourth");
  REQUIRE(stale);
  CHECK_FALSE(stale->succeeded);
  CHECK(s.range("/lock")->kvs.at(0).value == "third");
  // Several compares, all must hold; value and version targets.
  auto both = s.txn({{"/lock", coord::compare_target::value, coord::compare_op::equal, 0, "third"},
                     {"/lock", coord::compare_target::version, coord::compare_op::equal, 2, {}}},
                    {coord::erase_op{"/lock", {}}, coord::put_op{"/other", "x"}});
  REQUIRE(both);
  CHECK(both->succeeded);
  CHECK(s.range("/lock")->kvs.empty());
  CHECK(s.range("/other")->kvs.at(0).mod_revision == both->header_revision);
  // A value compare on an absent key is false whatever the operator.
  auto absent =
      s.txn({{"/lock", coord::compare_target::value, coord::compare_op::not_equal, 0, "z"}},
            {coord::put_op{"/lock", "y"}});
  REQUIRE(absent);
  CHECK_FALSE(absent->succeeded);
  // Greater / less on revisions.
  auto newer = s.txn({{"/other",
                       coord::compare_target::mod_revision,
                       coord::compare_op::less,
                       both->header_revision + 1,
                       {}}},
                     {coord::range_op{"/other", {}}});
  REQUIRE(newer);
  CHECK(newer->succeeded);
  CHECK(newer->ranges.at(0).kvs.size() == 1);
}

void leases_hold_keys_until_they_end(store_fixture& f) {
  auto& s = f.store();
  auto lease = s.lease_grant(2s);
  REQUIRE(lease);
  CHECK(*lease != 0);
  REQUIRE(s.put("/members/a", "a", *lease));
  CHECK(s.range("/members/a")->kvs.at(0).lease == *lease);
  auto ttl = s.lease_keepalive(*lease);
  REQUIRE(ttl);
  CHECK(*ttl == 2s);
  // Revoke: the keys go in one revision.
  auto before = s.range("/members/a")->header_revision;
  REQUIRE(s.put("/members/a2", "a2", *lease));
  REQUIRE(s.lease_revoke(*lease));
  auto after = s.range("/members/", coord::prefix_end("/members/"));
  REQUIRE(after);
  CHECK(after->kvs.empty());
  CHECK(after->header_revision == before + 2);
  auto again = s.lease_revoke(*lease);
  REQUIRE_FALSE(again);
  CHECK(again.error().code == coord::errc::lease_not_found);
  auto gone = s.lease_keepalive(*lease);
  REQUIRE_FALSE(gone);
  CHECK(gone.error().code == coord::errc::lease_not_found);
  // A put under a lease that is gone is refused, alone or in a transaction.
  auto orphan = s.put("/members/b", "b", *lease);
  REQUIRE_FALSE(orphan);
  CHECK(orphan.error().code == coord::errc::lease_not_found);
  auto orphan_txn = s.txn({}, {coord::put_op{"/members/b", "b", *lease}});
  REQUIRE_FALSE(orphan_txn);
  CHECK(orphan_txn.error().code == coord::errc::lease_not_found);
  CHECK(s.range("/members/b")->kvs.empty());
  // Expiry: without keepalives the lease ends within TTL + 0.5 s (etcd's reaper), and its key
  // goes with it. Kept alive, it stays.
  auto kept = s.lease_grant(2s);
  auto dropped = s.lease_grant(2s);
  REQUIRE(kept);
  REQUIRE(dropped);
  REQUIRE(s.put("/members/kept", "k", *kept));
  REQUIRE(s.put("/members/dropped", "d", *dropped));
  auto start = std::chrono::steady_clock::now();
  bool expired = f.eventually(
      [&] {
        s.lease_keepalive(*kept);
        return s.range("/members/dropped")->kvs.empty();
      },
      5s);
  CHECK(expired);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  CHECK(s.range("/members/kept")->kvs.size() == 1);
  auto dead = s.lease_keepalive(*dropped);
  REQUIRE_FALSE(dead);
  CHECK(dead.error().code == coord::errc::lease_not_found);
}

void watches_deliver_every_change_in_order(store_fixture& f) {
  auto& s = f.store();
  REQUIRE(s.put("/w/before", "0"));
  auto from = s.range("/w/before")->header_revision;
  watch_log log;
  auto handle = s.watch("/w/", coord::prefix_end("/w/"), from, log.callback());
  auto r1 = s.put("/w/a", "1");
  auto r2 = s.put("/x/ignored", "1");
  auto r3 = s.put("/w/a", "2");
  auto lease = s.lease_grant(2s);
  REQUIRE(lease);
  auto r4 = s.put("/w/leased", "l", *lease);
  auto r5 = s.erase("/w/a");
  REQUIRE(s.lease_revoke(*lease));
  REQUIRE((r1 && r2 && r3 && r4 && r5));
  REQUIRE(f.eventually([&] { return log.event_count() >= 6; }, 5s));
  auto events = log.events();
  REQUIRE(events.size() == 6);
  // The past revision `from` first, then every change of the prefix, in revision order.
  CHECK(events[0].kv.key == "/w/before");
  CHECK(events[0].kv.mod_revision == from);
  CHECK(events[1].kv.key == "/w/a");
  CHECK(events[1].kv.value == "1");
  CHECK(events[1].kv.mod_revision == *r1);
  CHECK(events[2].kv.value == "2");
  CHECK(events[2].kv.version == 2);
  CHECK(events[2].kv.mod_revision == *r3);
  CHECK(events[3].kv.key == "/w/leased");
  CHECK(events[3].kv.lease == *lease);
  CHECK(events[4].type == coord::watch_event::kind::erase);
  CHECK(events[4].kv.key == "/w/a");
  CHECK(events[4].kv.mod_revision == *r5);
  // The lease's key goes by its revoke.
  CHECK(events[5].type == coord::watch_event::kind::erase);
  CHECK(events[5].kv.key == "/w/leased");
  CHECK(events[5].kv.mod_revision == *r5 + 1);
  // After the handle is gone, nothing more is delivered.
  handle.reset();
  REQUIRE(s.put("/w/after", "x"));
  auto later = std::make_unique<watch_log>();
  auto marker =
      s.watch("/w/after", {}, s.range("/w/after")->kvs.at(0).mod_revision, later->callback());
  REQUIRE(f.eventually([&] { return later->event_count() == 1; }, 5s));
  CHECK(log.event_count() == 6);
}

void watches_from_now_and_compaction(store_fixture& f) {
  auto& s = f.store();
  REQUIRE(s.put("/c/k", "1"));
  REQUIRE(s.put("/c/k", "2"));
  auto old = s.range("/c/k")->header_revision - 1;
  REQUIRE(s.put("/c/k", "3"));
  // From now (revision 0): only later changes.
  watch_log now_log;
  auto now_handle = s.watch("/c/k", {}, 0, now_log.callback());
  // A real watch is created asynchronously: wait until it sees a marker write.
  REQUIRE(f.eventually(
      [&] {
        s.put("/c/k", "marker");
        return now_log.event_count() > 0;
      },
      5s));
  for (const auto& e : now_log.events()) CHECK(e.kv.value == "marker");
  // Compacted history: a range or a watch from before the compaction point says so.
  auto head = s.range("/c/k")->header_revision;
  REQUIRE(s.compact(head));
  auto past = s.range("/c/k", {}, old);
  REQUIRE_FALSE(past);
  CHECK(past.error().code == coord::errc::compacted);
  watch_log compacted_log;
  auto compacted_handle = s.watch("/c/k", {}, old, compacted_log.callback());
  REQUIRE(f.eventually([&] { return compacted_log.compacted() > 0; }, 5s));
  CHECK(compacted_log.compacted() == head);
  CHECK(compacted_log.event_count() == 0);
  // The value at the compaction point is still there to read.
  auto at_head = s.range("/c/k", {}, head);
  REQUIRE(at_head);
  CHECK(at_head->kvs.at(0).value == "marker");
}

}  // namespace

#define CONTRACT_CASE(title, function)                                                            \
  TEST_CASE("coordination store, in memory: " title) {                                            \
    memory_fixture f;                                                                             \
    function(f);                                                                                  \
  }                                                                                               \
  TEST_CASE("coordination store, etcd: " title) {                                                 \
    if (!testkit::have_tool("etcd", testkit::etcd_binary(), "the etcd contract: " title)) return; \
    etcd_fixture f(#function);                                                                    \
    function(f);                                                                                  \
  }

CONTRACT_CASE("puts, ranges and deletes with exact revisions", puts_ranges_and_deletes)
CONTRACT_CASE("transactions compare and swap", transactions_compare_and_swap)
CONTRACT_CASE("leases hold keys until revoked or expired", leases_hold_keys_until_they_end)
CONTRACT_CASE("watches deliver every change in revision order",
              watches_deliver_every_change_in_order)
CONTRACT_CASE("watches from now, and compacted history", watches_from_now_and_compaction)

TEST_CASE("coordination store, etcd: an endpoint that does not answer is unavailable, named") {
  coord::etcd_options options{coord::parse_etcd_url("etcd+unix:///nonexistent/etcd.sock").value()};
  options.request_timeout = 300ms;
  coord::etcd_store s(options);
  auto r = s.put("/k", "v");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == coord::errc::unavailable);
  CHECK(r.error().message.find("/nonexistent/etcd.sock") != std::string::npos);
  coord::memory_store m;
  m.set_available(false);
  auto down = m.put("/k", "v");
  REQUIRE_FALSE(down);
  CHECK(down.error().code == coord::errc::unavailable);
  m.set_available(true);
  CHECK(m.put("/k", "v"));
}

TEST_CASE("coordination store, etcd: calls and watches go on through a member's death") {
  if (!testkit::have_tool("etcd", testkit::etcd_binary(), "etcd failover of the store")) return;
  testkit::etcd_cluster etcd(testkit::etcd_binary(), "failover", 3);
  coord::etcd_options options{coord::parse_etcd_url(etcd.url()).value()};
  options.request_timeout = 500ms;
  coord::etcd_store s(options);
  REQUIRE(s.put("/f/k", "0"));
  auto from = s.range("/f/k")->header_revision + 1;
  watch_log log;
  auto handle = s.watch("/f/", coord::prefix_end("/f/"), from, log.callback());
  // Kill the leader: writes go on (on another member, after a new election) and the watch,
  // reconnected, misses nothing.
  int leader = -1;
  REQUIRE(systest::poll_until([&] { return (leader = etcd.leader()) >= 0; }, 10s));
  int written = 0;
  for (int i = 1; i <= 20; ++i) {
    if (i == 5) etcd.kill(leader);
    bool ok =
        systest::poll_until([&] { return s.put("/f/k", std::to_string(i)).has_value(); }, 10s);
    REQUIRE(ok);
    ++written;
  }
  REQUIRE(systest::poll_until([&] { return log.event_count() >= 20; }, 10s));
  auto events = log.events();
  // Each value once, in order (a put retried after a lost answer may have landed twice: then the
  // value repeats at consecutive revisions, which is what a retried put means).
  std::vector<std::string> values;
  coord::revision last = 0;
  for (const auto& e : events) {
    CHECK(e.kv.mod_revision > last);
    last = e.kv.mod_revision;
    if (values.empty() || values.back() != e.kv.value) values.push_back(e.kv.value);
  }
  REQUIRE(values.size() == 20);
  for (int i = 1; i <= 20; ++i) CHECK(values[static_cast<std::size_t>(i - 1)] == std::to_string(i));
  CHECK(written == 20);
}

TEST_CASE("coordination store: cluster addresses, key ranges and base64") {
  auto tcp = coord::parse_etcd_url("etcd://10.0.0.1:2379,10.0.0.2:2379");
  REQUIRE(tcp);
  REQUIRE(tcp->size() == 2);
  CHECK(tcp->at(1).host_port == "10.0.0.2:2379");
  CHECK(tcp->at(0).to_string() == "etcd://10.0.0.1:2379");
  auto unix_socket = coord::parse_etcd_url("etcd+unix:///run/etcd/client.sock");
  REQUIRE(unix_socket);
  CHECK(unix_socket->at(0).unix_socket == "/run/etcd/client.sock");
  auto multi_unix = coord::parse_etcd_url("etcd+unix:///a/s1,etcd+unix:///a/s2");
  REQUIRE(multi_unix);
  REQUIRE(multi_unix->size() == 2);
  CHECK(multi_unix->at(1).unix_socket == "/a/s2");
  auto http = coord::parse_etcd_url("http://127.0.0.1:2379");
  REQUIRE_FALSE(http);
  CHECK(http.error().find("expected etcd://HOST:PORT") != std::string::npos);
  auto no_port = coord::parse_etcd_url("etcd://127.0.0.1");
  REQUIRE_FALSE(no_port);
  CHECK(no_port.error().find("'127.0.0.1' is not HOST:PORT") != std::string::npos);
  CHECK_FALSE(coord::parse_etcd_url("etcd+unix://relative.sock"));
  CHECK(coord::prefix_end("/citytwin/") == "/citytwin0");
  CHECK(coord::prefix_end(std::string("a\xff", 2)) == "b");
  CHECK(coord::prefix_end("") == std::string(1, '\0'));
  for (std::string text : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto encoded = coord::base64_encode(text);
    CHECK(coord::base64_decode(encoded).value() == text);
  }
  CHECK(coord::base64_encode("foobar") == "Zm9vYmFy");
  CHECK(coord::base64_encode("fo") == "Zm8=");
  CHECK_FALSE(coord::base64_decode("Zm9"));
  CHECK_FALSE(coord::base64_decode("Zm9!"));
}
