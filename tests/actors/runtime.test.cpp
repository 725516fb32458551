#include "actors/runtime.hpp"

#include <doctest/doctest.h>
#include <atomic>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <chrono>
#include <cmath>
#include <future>
#include <map>
#include <sstream>
#include <thread>

#include "observability/probes.hpp"

namespace {

using namespace std::chrono_literals;

// A multiple of 15 s, so that every window ends exactly at `now`.
constexpr twin::time_ms t0 = 1'700'000'100'000;
constexpr auto wait_max = 10s;

twin::sensor make_sensor(std::uint32_t id, std::string key, twin::sensor_kind kind,
                         std::uint32_t district) {
  twin::sensor s;
  s.id = twin::sensor_id{id};
  s.key = std::move(key);
  s.kind = kind;
  s.district = twin::district_id{district};
  return s;
}

// Two districts; fatima has a traffic speed sensor on its one link and two PM2.5 sensors, taipa
// an NO2 sensor and a visitor counter. One rule: the highest fresh PM2.5 above 50.
twin::city_ptr small_city() {
  auto c = std::make_shared<twin::city>();
  c->name = "testville";
  c->districts.push_back({twin::district_id{0}, "fatima", "Fatima", {}, 1000, 1});
  c->districts.push_back({twin::district_id{1}, "taipa", "Taipa", {}, 2000, 2});
  c->nodes.push_back({twin::node_id{0}, 1, {113.55, 22.2}});
  c->nodes.push_back({twin::node_id{1}, 2, {113.56, 22.2}});
  twin::link l;
  l.id = twin::link_id{0};
  l.key = "L1";
  l.from = twin::node_id{0};
  l.to = twin::node_id{1};
  l.length_m = 1000;
  l.capacity_veh_h = 1800;
  l.free_speed_kmh = 50;
  l.district = twin::district_id{0};
  c->links.push_back(l);
  auto speed = make_sensor(10, "f-speed", twin::sensor_kind::traffic_speed, 0);
  speed.link = twin::link_id{0};
  c->sensors.push_back(speed);
  c->sensors.push_back(make_sensor(11, "f-pm25-a", twin::sensor_kind::pm25, 0));
  c->sensors.push_back(make_sensor(12, "f-pm25-b", twin::sensor_kind::pm25, 0));
  c->sensors.push_back(make_sensor(20, "t-no2", twin::sensor_kind::no2, 1));
  auto visitors = make_sensor(21, "t-visitors", twin::sensor_kind::visitors, 1);
  visitors.site = "ruins";
  visitors.capacity = 1000;
  c->sensors.push_back(visitors);
  twin::threshold_rule rule;
  rule.key = "pm25-high";
  rule.kind = twin::sensor_kind::pm25;
  rule.window = twin::rule_window::latest;
  rule.aggregate = twin::rule_aggregate::max;
  rule.above = true;
  rule.threshold = 50;
  rule.level = twin::severity::warning;
  rule.message = "PM2.5 above 50";
  c->rules.push_back(rule);
  c->index();
  return c;
}

// The actor system keeps a reference to its config: both live and die together.
struct test_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;

  test_system() {
    cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
  operator caf::actor_system&() { return *sys; }
};

std::unique_ptr<test_system> make_system() {
  return std::make_unique<test_system>();
}

twin::reading_batch_ptr make_batch(std::uint64_t sequence, std::vector<twin::reading> readings) {
  auto b = std::make_shared<twin::reading_batch>();
  b->key = {7, 1, sequence};
  b->readings = std::move(readings);
  return b;
}

twin::batch_ack submit(twin::batch_sink& sink, twin::reading_batch_ptr batch) {
  auto p = std::make_shared<std::promise<twin::batch_ack>>();
  auto f = p->get_future();
  sink.submit(std::move(batch), [p](twin::batch_ack ack) { p->set_value(std::move(ack)); });
  REQUIRE(f.wait_for(wait_max) == std::future_status::ready);
  return f.get();
}

twin::query_reply ask(twin::query_handler& handler, twin::query_request request) {
  auto p = std::make_shared<std::promise<twin::query_reply>>();
  auto f = p->get_future();
  handler.query(std::move(request), [p](twin::query_reply r) { p->set_value(std::move(r)); });
  REQUIRE(f.wait_for(wait_max) == std::future_status::ready);
  return f.get();
}

void refresh(actors::runtime& rt) {
  auto p = std::make_shared<std::promise<bool>>();
  auto f = p->get_future();
  rt.refresh([p](bool all) { p->set_value(all); });
  REQUIRE(f.wait_for(wait_max) == std::future_status::ready);
  CHECK(f.get());
}

std::map<std::string, std::string> samples(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto space = line.rfind(' ');
    out[line.substr(0, space)] = line.substr(space + 1);
  }
  return out;
}

twin::reject_counts rejects(
    std::initializer_list<std::pair<twin::reject_reason, std::uint32_t>> xs) {
  twin::reject_counts out;
  for (auto [reason, n] : xs) out[reason] = n;
  return out;
}

const twin::kind_stats& stats_of(const twin::district_view& v, twin::sensor_kind k) {
  for (const auto& s : v.kinds)
    if (s.kind == k) return s;
  FAIL("no stats for kind " << twin::to_string(k));
  throw 0;  // unreachable: FAIL throws
}

}  // namespace

TEST_CASE("the runtime applies batches, answers queries, raises alerts and exports metrics") {
  auto city = small_city();
  twin::manual_clock clock(t0);
  observability::metrics_registry registry;
  observability::probes probes(registry, *city);
  std::ostringstream alert_log;
  auto sys = make_system();
  {
    actors::runtime_options options;
    options.tick_interval_ms = twin::ms_per_hour;  // ticks on demand only (refresh)
    options.alert_log = &alert_log;
    actors::runtime rt(*sys, city, clock, &probes, options);
    twin::batch_sink& sink = rt;
    twin::query_handler& queries = rt;

    std::vector<twin::reading> first{
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
    auto ack = submit(sink, make_batch(1, first));
    CHECK(ack.key == twin::batch_key{7, 1, 1});
    CHECK(ack.status == twin::ack_status::applied);
    CHECK(ack.accepted == 5);
    CHECK(ack.rejected == rejects({{twin::reject_reason::unknown_sensor, 1},
                                   {twin::reject_reason::non_finite, 1},
                                   {twin::reject_reason::too_old, 1},
                                   {twin::reject_reason::too_new, 1},
                                   {twin::reject_reason::duplicate, 1}}));
    CHECK(ack.credit == 0);  // credit is the transport's to grant

    SUBCASE("a resent batch is acked as a duplicate and applies nothing") {
      auto again = submit(sink, make_batch(1, first));
      CHECK(again.status == twin::ack_status::duplicate);
      CHECK(again.accepted == 0);
      // Validation runs again; every reading that passes it is a duplicate.
      CHECK(again.rejected == rejects({{twin::reject_reason::unknown_sensor, 1},
                                       {twin::reject_reason::non_finite, 1},
                                       {twin::reject_reason::too_old, 1},
                                       {twin::reject_reason::too_new, 1},
                                       {twin::reject_reason::duplicate, 6}}));
      auto reply = ask(queries, twin::query_city{});
      REQUIRE(std::holds_alternative<twin::city_view>(reply));
      CHECK(std::get<twin::city_view>(reply).readings_applied == 5);
    }

    SUBCASE("queries see the exact state") {
      auto reply = ask(queries, twin::query_sensor{"f-pm25-b"});
      REQUIRE(std::holds_alternative<twin::sensor_view>(reply));
      auto s = std::get<twin::sensor_view>(reply);
      CHECK(s.id == twin::sensor_id{12});
      CHECK(s.district_key == "fatima");
      CHECK(s.has_value);
      CHECK(s.value == 60.0);
      CHECK(s.time == t0 - 1000);
      CHECK(s.readings == 1);

      reply = ask(queries, twin::query_sensor{"20"});  // by wire id
      REQUIRE(std::holds_alternative<twin::sensor_view>(reply));
      CHECK(std::get<twin::sensor_view>(reply).key == "t-no2");
      CHECK(std::get<twin::sensor_view>(reply).value == 40.0);

      reply = ask(queries, twin::query_district{"fatima"});
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

      reply = ask(queries, twin::query_city{});
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
      CHECK(c.rejected == ack.rejected);

      reply = ask(queries, twin::query_district{"atlantis"});
      REQUIRE(std::holds_alternative<twin::query_error>(reply));
      CHECK(std::get<twin::query_error>(reply).message == "unknown district 'atlantis'");
      reply = ask(queries, twin::query_sensor{"nope"});
      REQUIRE(std::holds_alternative<twin::query_error>(reply));
      CHECK(std::get<twin::query_error>(reply).message == "unknown sensor 'nope'");
      reply = ask(queries, twin::query_sensor{"99"});
      REQUIRE(std::holds_alternative<twin::query_error>(reply));
      CHECK(std::get<twin::query_error>(reply).message == "unknown sensor '99'");
    }

    SUBCASE("district gauges, ingest counters and the alert log") {
      refresh(rt);
      auto m = samples(registry.scrape_text());
      CHECK(m.at("citytwin_district_pm25_ug_m3{district=\"fatima\"}") == "45");
      CHECK(m.at("citytwin_district_congestion_index{district=\"fatima\"}") == "1");
      CHECK(m.at("citytwin_district_speed_kmh{district=\"fatima\"}") == "25");
      CHECK(m.at("citytwin_district_readings_total{district=\"fatima\"}") == "3");
      CHECK(m.at("citytwin_district_alerts_active{district=\"fatima\"}") == "1");
      CHECK(m.at("citytwin_district_visitors{district=\"taipa\"}") == "500");
      CHECK(m.at("citytwin_district_crowding_ratio{district=\"taipa\"}") == "0.5");
      CHECK(m.at("citytwin_district_no2_ug_m3{district=\"fatima\"}") == "Nan");
      CHECK(m.at("citytwin_districts_owned") == "2");
      // The ingest counters are the transport's to report: the runtime leaves them alone.
      CHECK(m.at("citytwin_ingest_batches_total{result=\"applied\"}") == "0");

      // The alerting service counts after it logs: once the count shows, the line is there.
      auto deadline = std::chrono::steady_clock::now() + wait_max;
      while (samples(registry.scrape_text()).at("citytwin_alerts_total{severity=\"warning\"}") !=
             "1") {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        std::this_thread::sleep_for(1ms);
      }
      CHECK(alert_log.str() ==
            "alert raised: district=fatima rule=pm25-high severity=warning kind=pm25 value=60 "
            "threshold=50 since_ms=1700000100000 message=\"PM2.5 above 50\"\n");
    }

    SUBCASE("time moves on: windows slide and the alert clears") {
      clock.advance(twin::ms_per_minute);
      auto ack2 = submit(sink, make_batch(2, {{twin::sensor_id{12}, t0 + 59'000, 20.0}}));
      CHECK(ack2.status == twin::ack_status::applied);
      CHECK(ack2.accepted == 1);
      CHECK(ack2.rejected.total() == 0);
      auto reply = ask(queries, twin::query_district{"fatima"});
      REQUIRE(std::holds_alternative<twin::district_view>(reply));
      auto f = std::get<twin::district_view>(reply);
      CHECK(f.alerts.empty());
      CHECK(f.indicators.active_alerts == 0);
      CHECK(f.indicators.pm25_ug_m3 == doctest::Approx(110.0 / 3));
      const auto& pm25 = stats_of(f, twin::sensor_kind::pm25);
      CHECK(pm25.last_1m.count == 1);
      CHECK(pm25.last_1m.mean == 20.0);
      CHECK(pm25.last_1h.count == 3);

      rt.stop();  // every actor has finished: the log can be read
      auto log = alert_log.str();
      CHECK(log.find("alert raised: district=fatima rule=pm25-high") == 0);
      CHECK(log.find("\nalert cleared: district=fatima rule=pm25-high severity=warning") !=
            std::string::npos);
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
      auto sys = make_system();
      actors::runtime_options options;
      options.tick_interval_ms = 5;  // periodic ticks are pending at shutdown
      auto rt = std::make_unique<actors::runtime>(*sys, city, clock, &probes, options);
      auto p = std::make_shared<std::promise<twin::batch_ack>>();
      auto f = p->get_future();
      rt->submit(make_batch(1, {{twin::sensor_id{11}, t0, 10.0}}),
                 [p](twin::batch_ack a) { p->set_value(a); });
      f.wait();
      std::this_thread::sleep_for(20ms);
      rt->stop();
      // After stop, work is refused rather than lost.
      auto late = std::make_shared<std::promise<twin::batch_ack>>();
      auto late_done = late->get_future();
      rt->submit(make_batch(2, {{twin::sensor_id{11}, t0 + 1, 10.0}}),
                 [late](twin::batch_ack a) { late->set_value(a); });
      auto ack = late_done.get();
      if (ack.status != twin::ack_status::overloaded || ack.message != "node stopping") return;
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
  auto sys = make_system();
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
  // newer one and are refused as out of order; every reading is either applied or refused.
  auto reply = ask(rt, twin::query_city{});
  REQUIRE(std::holds_alternative<twin::city_view>(reply));
  const auto& c = std::get<twin::city_view>(reply);
  CHECK(c.readings_applied == accepted.load());
  CHECK(c.readings_applied + c.rejected[twin::reject_reason::out_of_order] ==
        2u * threads * batches_per_thread);
}

namespace {

// Sends `count` batches from this thread without waiting; returns their acks in order.
std::vector<twin::batch_ack> submit_all(twin::batch_sink& sink,
                                        const std::vector<twin::reading_batch_ptr>& batches) {
  std::vector<std::shared_ptr<std::promise<twin::batch_ack>>> promises;
  std::vector<std::future<twin::batch_ack>> futures;
  for (const auto& b : batches) {
    promises.push_back(std::make_shared<std::promise<twin::batch_ack>>());
    futures.push_back(promises.back()->get_future());
    sink.submit(b, [p = promises.back()](twin::batch_ack ack) { p->set_value(std::move(ack)); });
  }
  std::vector<twin::batch_ack> acks;
  for (auto& f : futures) {
    REQUIRE(f.wait_for(wait_max) == std::future_status::ready);
    acks.push_back(f.get());
  }
  return acks;
}

}  // namespace

TEST_CASE("parts coalesced by a sensor cluster keep their own batch keys") {
  // Many batches at once make the clusters' mailboxes fill, so parts are coalesced; the smallest
  // bounds forward every part alone. Either way each batch is acked with exactly its counts.
  std::uint32_t readings_max = 0, parts_max = 0;
  SUBCASE("default bounds") {
    readings_max = actors::runtime_options{}.coalesce_readings_max;
    parts_max = actors::runtime_options{}.coalesce_parts_max;
  }
  SUBCASE("one part per message") {
    readings_max = 1;
    parts_max = 1;
  }
  CAPTURE(readings_max);
  auto city = small_city();
  twin::manual_clock clock(t0);
  auto sys = make_system();
  actors::runtime_options options;
  options.tick_interval_ms = twin::ms_per_hour;
  options.coalesce_readings_max = readings_max;
  options.coalesce_parts_max = parts_max;
  actors::runtime rt(*sys, city, clock, nullptr, options);

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
  for (const auto& ack : submit_all(rt, first)) {
    CHECK(ack.status == twin::ack_status::applied);
    CHECK(ack.accepted == 3);
    CHECK(ack.rejected == rejects({{twin::reject_reason::non_finite, 1},
                                   {twin::reject_reason::unknown_sensor, 1}}));
  }
  // Resending every other batch: duplicates part by part, nothing applied twice.
  std::vector<twin::reading_batch_ptr> again;
  for (int i = 0; i < batches; i += 2) again.push_back(first[static_cast<std::size_t>(i)]);
  for (const auto& ack : submit_all(rt, again)) {
    CHECK(ack.status == twin::ack_status::duplicate);
    CHECK(ack.accepted == 0);
    CHECK(ack.rejected == rejects({{twin::reject_reason::duplicate, 3},
                                   {twin::reject_reason::non_finite, 1},
                                   {twin::reject_reason::unknown_sensor, 1}}));
  }
  auto reply = ask(rt, twin::query_city{});
  REQUIRE(std::holds_alternative<twin::city_view>(reply));
  const auto& c = std::get<twin::city_view>(reply);
  CHECK(c.readings_applied == 3u * batches);
  REQUIRE(c.districts.size() == 2);
  CHECK(c.districts[0].readings_applied == 2u * batches);
  CHECK(c.districts[1].readings_applied == 1u * batches);
  CHECK(c.rejected == rejects({{twin::reject_reason::duplicate, 3 * batches / 2},
                               {twin::reject_reason::non_finite, batches + batches / 2},
                               {twin::reject_reason::unknown_sensor, batches + batches / 2}}));
  reply = ask(rt, twin::query_sensor{"f-pm25-b"});
  REQUIRE(std::holds_alternative<twin::sensor_view>(reply));
  CHECK(std::get<twin::sensor_view>(reply).readings == batches);
  CHECK(std::get<twin::sensor_view>(reply).value == 20.0);
  CHECK(std::get<twin::sensor_view>(reply).time == t0 - 100'000 + batches - 1);
}

TEST_CASE("stop() answers a batch whose part is still waiting in a district") {
  auto city = small_city();
  twin::manual_clock clock(t0);
  auto sys = make_system();
  actors::runtime_options options;
  options.tick_interval_ms = twin::ms_per_hour;
  actors::runtime rt(*sys, city, clock, nullptr, options);

  // The first ack's callback holds fatima's district actor, so the second batch's fatima part
  // waits in its mailbox while the runtime stops.
  std::promise<void> entered, release;
  auto released = release.get_future().share();
  rt.submit(make_batch(1, {{twin::sensor_id{11}, t0, 10.0}}),
            [&entered, released](twin::batch_ack) {
              entered.set_value();
              released.wait();
            });
  REQUIRE(entered.get_future().wait_for(wait_max) == std::future_status::ready);
  auto second = std::make_shared<std::promise<twin::batch_ack>>();
  auto second_done = second->get_future();
  rt.submit(make_batch(2, {{twin::sensor_id{12}, t0, 10.0}, {twin::sensor_id{20}, t0, 5.0}}),
            [second](twin::batch_ack ack) { second->set_value(std::move(ack)); });
  auto stopped = std::async(std::launch::async, [&rt] { rt.stop(); });
  // stop() waits for the held actor: it cannot finish before the release.
  CHECK(stopped.wait_for(50ms) == std::future_status::timeout);
  release.set_value();
  REQUIRE(stopped.wait_for(wait_max) == std::future_status::ready);
  REQUIRE(second_done.wait_for(wait_max) == std::future_status::ready);
  auto ack = second_done.get();
  CHECK(ack.key == twin::batch_key{7, 1, 2});
  // The exit message may overtake the part or not: applied whole, or refused whole for a resend
  // (which the districts' deduplication makes safe). Never lost.
  if (ack.status == twin::ack_status::applied) {
    CHECK(ack.accepted == 2);
  } else {
    CHECK(ack.status == twin::ack_status::overloaded);
    CHECK(ack.message == "node stopping");
    CHECK(ack.rejected == rejects({{twin::reject_reason::overloaded, 2}}));
  }
}
