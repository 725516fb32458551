// The runtime's exact behaviour on the deterministic system (every case over several seeds, each
// seed one order of delivery), and the two properties only real threads can show: batches from
// many threads at once, and a shutdown that does not hang.
#include "actors/runtime.hpp"

#include <doctest/doctest.h>
#include <atomic>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "node_under_test.hpp"
#include "observability/probes.hpp"
#include "small_city.hpp"

namespace {

using namespace std::chrono_literals;
using testing::make_batch;
using testing::node_under_test;
using testing::quiet_options;
using testing::rejects;
using testing::small_city;
using testing::stats_of;
using testing::t0;

// Orders of delivery each deterministic case runs.
constexpr std::uint64_t seeds = 8;

// Five good readings and one of each rejection a district or the router makes.
std::vector<twin::reading> first_readings() {
  return {
      {twin::sensor_id{10}, t0 - 1000, 25.0},
      {twin::sensor_id{11}, t0 - 1000, 30.0},
      {twin::sensor_id{12}, t0 - 1000, 60.0},
      {twin::sensor_id{20}, t0 - 2000, 40.0},
      {twin::sensor_id{21}, t0, 500.0},
      {twin::sensor_id{99}, t0, 1.0},                              // unknown sensor
      {twin::sensor_id{11}, t0 - 500, std::nan("")},               // NaN
      {twin::sensor_id{20}, t0 - 8 * twin::ms_per_day, 10.0},      // too old
      {twin::sensor_id{21}, t0 + 10 * twin::ms_per_minute, 10.0},  // too new
      {twin::sensor_id{11}, t0 - 1000, 31.0},                      // same sensor and time
  };
}

twin::reject_counts first_rejected() {
  return rejects({{twin::reject_reason::unknown_sensor, 1},
                  {twin::reject_reason::non_finite, 1},
                  {twin::reject_reason::too_old, 1},
                  {twin::reject_reason::too_new, 1},
                  {twin::reject_reason::duplicate, 1}});
}

// The real scheduler, for the cases that are about threads.
constexpr auto wait_max = 10s;

struct threaded_system {
  caf::actor_system_config cfg;  // before sys: the system keeps a reference to it
  std::unique_ptr<caf::actor_system> sys;
  threaded_system() {
    cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
  operator caf::actor_system&() { return *sys; }
};

twin::query_reply ask(twin::query_handler& handler, twin::query_request request) {
  auto p = std::make_shared<std::promise<twin::query_reply>>();
  auto f = p->get_future();
  handler.query(std::move(request), [p](twin::query_reply r) { p->set_value(std::move(r)); });
  REQUIRE(f.wait_for(wait_max) == std::future_status::ready);
  return f.get();
}

}  // namespace

TEST_CASE("runtime: a batch is applied and every reading in it acked exactly") {
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    CAPTURE(seed);
    node_under_test n(seed, quiet_options());
    auto ack = n.submit(make_batch(1, first_readings()));
    CHECK(ack.key == twin::batch_key{7, 1, 1});
    CHECK(ack.status == twin::ack_status::applied);
    CHECK(ack.accepted == 5);
    CHECK(ack.rejected == first_rejected());
    CHECK(ack.credit == 0);  // credit is the transport's to grant
  }
}

TEST_CASE("runtime: a resent batch is acked as a duplicate and applies nothing") {
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    CAPTURE(seed);
    node_under_test n(seed, quiet_options());
    n.submit(make_batch(1, first_readings()));
    auto again = n.submit(make_batch(1, first_readings()));
    CHECK(again.status == twin::ack_status::duplicate);
    CHECK(again.accepted == 0);
    // Validation runs again; every reading that passes it is a duplicate.
    CHECK(again.rejected == rejects({{twin::reject_reason::unknown_sensor, 1},
                                     {twin::reject_reason::non_finite, 1},
                                     {twin::reject_reason::too_old, 1},
                                     {twin::reject_reason::too_new, 1},
                                     {twin::reject_reason::duplicate, 6}}));
    CHECK(n.city_view().readings_applied == 5);
  }
}

TEST_CASE("runtime: queries see the exact state") {
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    CAPTURE(seed);
    node_under_test n(seed, quiet_options());
    auto first = n.submit(make_batch(1, first_readings()));
    auto reply = n.ask(twin::query_sensor{"f-pm25-b"});
    REQUIRE(std::holds_alternative<twin::sensor_view>(reply));
    auto s = std::get<twin::sensor_view>(reply);
    CHECK(s.id == twin::sensor_id{12});
    CHECK(s.district_key == "fatima");
    CHECK(s.has_value);
    CHECK(s.value == 60.0);
    CHECK(s.time == t0 - 1000);
    CHECK(s.readings == 1);

    reply = n.ask(twin::query_sensor{"20"});  // by wire id
    REQUIRE(std::holds_alternative<twin::sensor_view>(reply));
    CHECK(std::get<twin::sensor_view>(reply).key == "t-no2");
    CHECK(std::get<twin::sensor_view>(reply).value == 40.0);

    reply = n.ask(twin::query_district{"fatima"});
    REQUIRE(std::holds_alternative<twin::district_view>(reply));
    auto f = std::get<twin::district_view>(reply);
    CHECK(f.key == "fatima");
    CHECK(f.as_of == t0);
    CHECK(f.readings_applied == 3);
    CHECK(f.sensors == 3);
    CHECK(f.sensors_reporting == 3);
    // Every rejected reading of the district's sensors, wherever it was rejected.
    CHECK(f.rejected ==
          rejects({{twin::reject_reason::non_finite, 1}, {twin::reject_reason::duplicate, 1}}));
    // 1 km at 25 km/h against 50 km/h free flow: twice the free-flow time.
    CHECK(f.indicators.mean_speed_kmh == 25.0);
    CHECK(f.indicators.congestion_index == 1.0);
    CHECK(f.indicators.pm25_ug_m3 == 45.0);
    CHECK(std::isnan(f.indicators.no2_ug_m3));
    CHECK(f.indicators.stale_sensors == 0);
    CHECK(f.indicators.active_alerts == 1);
    const auto& pm25 = stats_of(f, twin::sensor_kind::pm25);
    CHECK(pm25.sensors == 2);
    CHECK(pm25.last_1m.count == 2);
    CHECK(pm25.last_1m.mean == 45.0);
    CHECK(pm25.last_1m.min == 30.0);
    CHECK(pm25.last_1m.max == 60.0);
    REQUIRE(f.links.size() == 1);
    CHECK(f.links[0].key == "L1");
    CHECK(f.links[0].speed_kmh == 25.0);
    CHECK(std::isnan(f.links[0].flow_veh_h));
    REQUIRE(f.alerts.size() == 1);
    CHECK(f.alerts[0].rule == "pm25-high");
    CHECK(f.alerts[0].value == 60.0);

    reply = n.ask(twin::query_city{});
    REQUIRE(std::holds_alternative<twin::city_view>(reply));
    auto c = std::get<twin::city_view>(reply);
    CHECK(c.name == "testville");
    CHECK(c.as_of == t0);
    CHECK(c.readings_applied == 5);
    REQUIRE(c.districts.size() == 2);
    CHECK(c.districts[0].key == "fatima");
    CHECK(c.districts[1].key == "taipa");
    CHECK(c.districts[0].links.empty());  // the city view leaves links out
    CHECK(c.districts[1].readings_applied == 2);
    CHECK(c.districts[1].indicators.no2_ug_m3 == 40.0);
    CHECK(c.districts[1].indicators.visitors == 500.0);
    CHECK(c.districts[1].indicators.crowding == 0.5);
    // The city view counts every rejection, unknown sensors included: the same as the ack.
    CHECK(c.rejected == first.rejected);

    reply = n.ask(twin::query_district{"atlantis"});
    REQUIRE(std::holds_alternative<twin::query_error>(reply));
    CHECK(std::get<twin::query_error>(reply).message == "unknown district 'atlantis'");
    reply = n.ask(twin::query_sensor{"nope"});
    REQUIRE(std::holds_alternative<twin::query_error>(reply));
    CHECK(std::get<twin::query_error>(reply).message == "unknown sensor 'nope'");
    reply = n.ask(twin::query_sensor{"99"});
    REQUIRE(std::holds_alternative<twin::query_error>(reply));
    CHECK(std::get<twin::query_error>(reply).message == "unknown sensor '99'");
  }
}

TEST_CASE("runtime: a refresh sets the district gauges and logs the alert once") {
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    CAPTURE(seed);
    node_under_test n(seed, quiet_options());
    n.submit(make_batch(1, first_readings()));
    CHECK(n.refresh());
    CHECK(n.metric("citytwin_district_pm25_ug_m3{district=\"fatima\"}") == "45");
    CHECK(n.metric("citytwin_district_congestion_index{district=\"fatima\"}") == "1");
    CHECK(n.metric("citytwin_district_speed_kmh{district=\"fatima\"}") == "25");
    CHECK(n.metric("citytwin_district_readings_total{district=\"fatima\"}") == "3");
    CHECK(n.metric("citytwin_district_alerts_active{district=\"fatima\"}") == "1");
    CHECK(n.metric("citytwin_district_visitors{district=\"taipa\"}") == "500");
    CHECK(n.metric("citytwin_district_crowding_ratio{district=\"taipa\"}") == "0.5");
    CHECK(n.metric("citytwin_district_no2_ug_m3{district=\"fatima\"}") == "Nan");
    CHECK(n.metric("citytwin_districts_owned") == "2");
    // The ingest counters are the transport's to report: the runtime leaves them alone.
    CHECK(n.metric("citytwin_ingest_batches_total{result=\"applied\"}") == "0");
    CHECK(n.metric("citytwin_alerts_total{severity=\"warning\"}") == "1");
    CHECK(n.alert_log.str() ==
          "alert raised: district=fatima rule=pm25-high severity=warning kind=pm25 value=60 "
          "threshold=50 since_ms=1700000100000 message=\"PM2.5 above 50\"\n");
    // A second refresh with nothing new logs nothing more.
    CHECK(n.refresh());
    CHECK(n.metric("citytwin_alerts_total{severity=\"warning\"}") == "1");
  }
}

TEST_CASE("runtime: time moves on, windows slide and the alert clears") {
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    CAPTURE(seed);
    node_under_test n(seed, quiet_options());
    n.submit(make_batch(1, first_readings()));
    CHECK(n.refresh());
    n.sim.advance(twin::ms_per_minute);
    auto ack2 = n.submit(make_batch(2, {{twin::sensor_id{12}, t0 + 59'000, 20.0}}));
    CHECK(ack2.status == twin::ack_status::applied);
    CHECK(ack2.accepted == 1);
    CHECK(ack2.rejected.total() == 0);
    auto f = n.view<twin::district_view>(twin::query_district{"fatima"});
    CHECK(f.alerts.empty());
    CHECK(f.indicators.active_alerts == 0);
    CHECK(f.indicators.pm25_ug_m3 == 110.0 / 3);
    const auto& pm25 = stats_of(f, twin::sensor_kind::pm25);
    // The 1 min window holds f-pm25-b's new 20; f-pm25-a's 30 (t0 - 1 s) has left it but is
    // fresh (2 x its 1 h cadence), so its latest value is held: (20 + 30) / 2.
    CHECK(pm25.last_1m.count == 2);
    CHECK(pm25.last_1m.mean == 25.0);
    CHECK(pm25.last_1h.count == 3);
    CHECK(n.refresh());
    auto log = n.alert_log.str();
    CHECK(log.find("alert raised: district=fatima rule=pm25-high") == 0);
    CHECK(log.find("\nalert cleared: district=fatima rule=pm25-high severity=warning") !=
          std::string::npos);
  }
}

namespace {

void coalesced_batches_keep_their_keys(node_under_test& n) {
  constexpr int batches = 300;
  std::vector<twin::reading_batch_ptr> first;
  for (int i = 0; i < batches; ++i) {
    const twin::time_ms at = t0 - 100'000 + i;
    first.push_back(
        make_batch(static_cast<std::uint64_t>(i), {{twin::sensor_id{11}, at, 10.0},
                                                   {twin::sensor_id{12}, at, 20.0},
                                                   {twin::sensor_id{20}, at, 30.0},
                                                   {twin::sensor_id{21}, at, std::nan("")},
                                                   {twin::sensor_id{99}, at, 1.0}}));
  }
  for (const auto& ack : n.submit_all(first)) {
    CHECK(ack.status == twin::ack_status::applied);
    CHECK(ack.accepted == 3);
    CHECK(ack.rejected == rejects({{twin::reject_reason::non_finite, 1},
                                   {twin::reject_reason::unknown_sensor, 1}}));
  }
  // Resending every other batch: duplicates part by part, nothing applied twice.
  std::vector<twin::reading_batch_ptr> again;
  for (int i = 0; i < batches; i += 2) again.push_back(first[static_cast<std::size_t>(i)]);
  for (const auto& ack : n.submit_all(again)) {
    CHECK(ack.status == twin::ack_status::duplicate);
    CHECK(ack.accepted == 0);
    CHECK(ack.rejected == rejects({{twin::reject_reason::duplicate, 3},
                                   {twin::reject_reason::non_finite, 1},
                                   {twin::reject_reason::unknown_sensor, 1}}));
  }
  auto reply = n.ask(twin::query_city{});
  REQUIRE(std::holds_alternative<twin::city_view>(reply));
  const auto& c = std::get<twin::city_view>(reply);
  CHECK(c.readings_applied == 3u * batches);
  REQUIRE(c.districts.size() == 2);
  CHECK(c.districts[0].readings_applied == 2u * batches);
  CHECK(c.districts[1].readings_applied == 1u * batches);
  CHECK(c.rejected == rejects({{twin::reject_reason::duplicate, 3 * batches / 2},
                               {twin::reject_reason::non_finite, batches + batches / 2},
                               {twin::reject_reason::unknown_sensor, batches + batches / 2}}));
  reply = n.ask(twin::query_sensor{"f-pm25-b"});
  REQUIRE(std::holds_alternative<twin::sensor_view>(reply));
  CHECK(std::get<twin::sensor_view>(reply).readings == batches);
  CHECK(std::get<twin::sensor_view>(reply).value == 20.0);
  CHECK(std::get<twin::sensor_view>(reply).time == t0 - 100'000 + batches - 1);
}

}  // namespace

TEST_CASE("runtime: parts coalesced by a sensor cluster keep their own batch keys") {
  // Every batch is in the router's mailbox before any actor runs, so the clusters' mailboxes fill
  // and parts are coalesced; the smallest bounds forward every part alone. Either way each batch
  // is acked with exactly its counts.
  for (const auto& [readings_max, parts_max] :
       {std::pair<std::uint32_t, std::uint32_t>{actors::runtime_options{}.coalesce_readings_max,
                                                actors::runtime_options{}.coalesce_parts_max},
        std::pair<std::uint32_t, std::uint32_t>{1, 1}}) {
    for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
      CAPTURE(readings_max);
      CAPTURE(seed);
      auto options = quiet_options();
      options.coalesce_readings_max = readings_max;
      options.coalesce_parts_max = parts_max;
      node_under_test n(seed, options);
      coalesced_batches_keep_their_keys(n);
    }
  }
}

TEST_CASE("the runtime and the actor system shut down without hanging") {
  auto city = small_city();
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  // On a hang the test fails on the deadline instead of blocking forever.
  std::thread([city, done] {
    twin::manual_clock clock(t0);
    observability::metrics_registry registry;
    observability::probes probes(registry, *city);
    {
      auto sys = std::make_unique<threaded_system>();
      actors::runtime_options options;
      options.tick_interval_ms = 5;  // periodic ticks are pending at shutdown
      auto rt = std::make_unique<actors::runtime>(*sys, city, clock, &probes, options);
      auto p = std::make_shared<std::promise<twin::batch_ack>>();
      auto f = p->get_future();
      rt->submit(make_batch(1, {{twin::sensor_id{11}, t0, 10.0}}),
                 [p](twin::batch_ack a) { p->set_value(a); });
      f.wait();  // the 5 ms ticks are scheduled: the stop finds them pending
      rt->stop();
      // After stop, work is refused rather than lost.
      auto late = std::make_shared<std::promise<twin::batch_ack>>();
      auto late_done = late->get_future();
      rt->submit(make_batch(2, {{twin::sensor_id{11}, t0 + 1, 10.0}}),
                 [late](twin::batch_ack a) { late->set_value(a); });
      auto ack = late_done.get();
      if (ack.status != twin::ack_status::stopping || ack.message != "node stopping") return;
      auto q = std::make_shared<std::promise<twin::query_reply>>();
      auto q_done = q->get_future();
      rt->query(twin::query_city{}, [q](twin::query_reply r) { q->set_value(std::move(r)); });
      if (!std::holds_alternative<twin::query_error>(q_done.get())) return;
      rt.reset();
      sys.reset();
    }
    done->set_value();
  }).detach();
  CHECK(finished.wait_for(wait_max) == std::future_status::ready);
}

TEST_CASE("batches submitted from several threads at once are all applied exactly once") {
  auto city = small_city();
  twin::manual_clock clock(t0);
  auto sys = std::make_unique<threaded_system>();
  actors::runtime_options options;
  options.tick_interval_ms = twin::ms_per_hour;
  actors::runtime rt(*sys, city, clock, nullptr, options);

  constexpr int threads = 4;
  constexpr int batches_per_thread = 100;
  std::atomic<int> acked{0};
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<int> not_applied{0};
  std::promise<void> all_acked;
  std::vector<std::thread> senders;
  for (int t = 0; t < threads; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < batches_per_thread; ++i) {
        // Each thread feeds its own sensor of each district, one reading per ms.
        twin::time_ms at = t0 - 100'000 + i;
        auto b = std::make_shared<twin::reading_batch>();
        b->key = {static_cast<std::uint64_t>(t), 1, static_cast<std::uint64_t>(i)};
        std::uint32_t fatima = t % 2 == 0 ? 11 : 12;
        std::uint32_t taipa = t % 2 == 0 ? 20 : 21;
        b->readings = {{twin::sensor_id{fatima}, at + 1000 * t, 10.0},
                       {twin::sensor_id{taipa}, at + 1000 * t, 20.0}};
        rt.submit(std::move(b), [&](twin::batch_ack ack) {
          accepted += ack.accepted;
          if (ack.status != twin::ack_status::applied) ++not_applied;
          if (++acked == threads * batches_per_thread) all_acked.set_value();
        });
      }
    });
  }
  for (auto& s : senders) s.join();
  REQUIRE(all_acked.get_future().wait_for(wait_max) == std::future_status::ready);
  CHECK(not_applied.load() == 0);
  // Two threads share each sensor: their readings interleave in time, so some arrive after a
  // newer one; they are late, not wrong (2 s apart at most, well within the lateness bound), and
  // every time is distinct: all are applied, exactly once.
  auto reply = ask(rt, twin::query_city{});
  REQUIRE(std::holds_alternative<twin::city_view>(reply));
  const auto& c = std::get<twin::city_view>(reply);
  CHECK(accepted.load() == 2u * threads * batches_per_thread);
  CHECK(c.readings_applied == 2u * threads * batches_per_thread);
  CHECK(c.rejected.total() == 0);
}
