// The node's actors on the deterministic scheduler: every delivery is chosen by a seeded RNG and
// time moves only when the test says, so each case runs many interleavings and a failure names the
// seed that reproduces it. No sleeps, no futures, no deadlines.
#include <doctest/doctest.h>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "node_under_test.hpp"

namespace {

using testing::rejects;
using testing::t0;

// Seeds each case runs: enough for both outcomes of every race below to show up.
constexpr std::uint64_t seeds = 48;

using testing::captured;
using testing::node_under_test;
using testing::quiet_options;

}  // namespace

TEST_CASE(
    "deterministic: every interleaving of overlapping batches gives the same acks and state") {
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    CAPTURE(seed);
    node_under_test n(seed, quiet_options());
    auto b1 = testing::make_batch(1, {{twin::sensor_id{11}, t0 - 3000, 30.0},
                                      {twin::sensor_id{20}, t0 - 3000, 40.0},
                                      {twin::sensor_id{99}, t0, 1.0}});
    auto b2 = testing::make_batch(2, {{twin::sensor_id{11}, t0 - 2000, 35.0},
                                      {twin::sensor_id{12}, t0 - 2000, 60.0},
                                      {twin::sensor_id{21}, t0 - 2000, 500.0}});
    captured<twin::batch_ack> a1, a2, a3;
    // All three are in the router's mailbox before any actor runs; the resend of b1 comes last.
    n.rt.submit(b1, a1.sink());
    n.rt.submit(b2, a2.sink());
    n.rt.submit(b1, a3.sink());
    n.sim.run();
    REQUIRE(a1.calls == 1);
    REQUIRE(a2.calls == 1);
    REQUIRE(a3.calls == 1);
    CHECK(a1.value->status == twin::ack_status::applied);
    CHECK(a1.value->accepted == 2);
    CHECK(a1.value->rejected == rejects({{twin::reject_reason::unknown_sensor, 1}}));
    CHECK(a2.value->status == twin::ack_status::applied);
    CHECK(a2.value->accepted == 3);
    CHECK(a3.value->status == twin::ack_status::duplicate);
    CHECK(a3.value->accepted == 0);
    CHECK(a3.value->rejected ==
          rejects({{twin::reject_reason::unknown_sensor, 1}, {twin::reject_reason::duplicate, 2}}));
    auto c = n.city_view();
    CHECK(c.readings_applied == 5);
    REQUIRE(c.districts.size() == 2);
    CHECK(c.districts[0].readings_applied == 3);
    CHECK(c.districts[1].readings_applied == 2);
    CHECK(c.districts[0].indicators.pm25_ug_m3 == 125.0 / 3);  // the 1-minute window's mean
    CHECK(c.districts[1].indicators.no2_ug_m3 == 40.0);
  }
}

TEST_CASE("deterministic: district gauges move on the injected clock's ticks, alerts log once") {
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    CAPTURE(seed);
    auto options = quiet_options();
    options.tick_interval_ms = 1000;
    node_under_test n(seed, options);
    captured<twin::batch_ack> ack;
    n.rt.submit(testing::make_batch(1, {{twin::sensor_id{10}, t0 - 1000, 25.0},
                                        {twin::sensor_id{11}, t0 - 1000, 30.0},
                                        {twin::sensor_id{12}, t0 - 1000, 60.0}}),
                ack.sink());
    n.sim.run();
    REQUIRE(ack.calls == 1);
    CHECK(ack.value->accepted == 3);
    // No tick yet: the gauges still hold the start-up tick's values.
    CHECK(n.metric("citytwin_district_readings_total{district=\"fatima\"}") == "0");
    n.sim.advance(1000);
    CHECK(n.metric("citytwin_district_readings_total{district=\"fatima\"}") == "3");
    CHECK(n.metric("citytwin_district_pm25_ug_m3{district=\"fatima\"}") == "45");
    CHECK(n.metric("citytwin_district_speed_kmh{district=\"fatima\"}") == "25");
    CHECK(n.metric("citytwin_district_alerts_active{district=\"fatima\"}") == "1");
    CHECK(n.metric("citytwin_alerts_total{severity=\"warning\"}") == "1");
    CHECK(n.alert_log.str() ==
          "alert raised: district=fatima rule=pm25-high severity=warning kind=pm25 value=60 "
          "threshold=50 since_ms=1700000100000 message=\"PM2.5 above 50\"\n");
    // A minute later the 60 is no longer the latest: the alert clears on the next tick.
    n.sim.advance(twin::ms_per_minute - 1000);
    n.rt.submit(testing::make_batch(2, {{twin::sensor_id{12}, t0 + 59'000, 20.0}}), ack.sink());
    n.sim.run();
    CHECK(ack.value->accepted == 1);
    n.sim.advance(1000);
    CHECK(n.metric("citytwin_district_alerts_active{district=\"fatima\"}") == "0");
    CHECK(n.alert_log.str().find("\nalert cleared: district=fatima rule=pm25-high") !=
          std::string::npos);
  }
}

TEST_CASE("deterministic: a stop answers every batch still in flight, applied or refused whole") {
  std::set<twin::ack_status> seen;
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    CAPTURE(seed);
    node_under_test n(seed, quiet_options());
    captured<twin::batch_ack> a1, a2;
    n.rt.submit(testing::make_batch(1, {{twin::sensor_id{11}, t0, 10.0}}), a1.sink());
    n.sim.step();  // the router may or may not have split it before the exits arrive
    n.rt.submit(
        testing::make_batch(2, {{twin::sensor_id{12}, t0, 10.0}, {twin::sensor_id{20}, t0, 5.0}}),
        a2.sink());
    for (int i = 0; i < static_cast<int>(seed % 4); ++i) n.sim.step();
    n.rt.request_stop();
    n.sim.run();
    for (auto* a : {&a1, &a2}) {
      REQUIRE(a->calls == 1);
      const auto& ack = *a->value;
      seen.insert(ack.status);
      if (ack.status == twin::ack_status::applied) {
        CHECK(ack.rejected.total() == 0);
      } else {
        CHECK(ack.status == twin::ack_status::stopping);
        CHECK(ack.message == "node stopping");
        CHECK(ack.accepted == 0);
        CHECK(ack.rejected.total() == ack.rejected[twin::reject_reason::stopping]);
      }
    }
    // After the stop, work is refused at once rather than lost.
    captured<twin::batch_ack> late;
    n.rt.submit(testing::make_batch(3, {{twin::sensor_id{11}, t0 + 1, 10.0}}), late.sink());
    REQUIRE(late.calls == 1);
    CHECK(late.value->status == twin::ack_status::stopping);
    CHECK(late.value->message == "node stopping");
  }
  CHECK(seen.count(twin::ack_status::stopping) == 1);
}
