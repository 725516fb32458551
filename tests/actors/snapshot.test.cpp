// A snapshot of a running runtime, and a runtime started from one: the cut is exactly the batches
// submitted before snapshot(), and the restored runtime answers every query as the original.

#include <doctest/doctest.h>

#include <cstdint>
#include <ios>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "actors/runtime.hpp"
#include "deterministic.hpp"
#include "node_under_test.hpp"
#include "small_city.hpp"

using testing::captured;
using testing::t0;

namespace {

// Every field of a reply as text, doubles in hexadecimal (exact).
void put(std::ostream& out, const twin::window_stats& w) {
  out << w.count << ' ' << w.mean << ' ' << w.min << ' ' << w.max << ';';
}

void put(std::ostream& out, const twin::district_view& v) {
  const auto& i = v.indicators;
  out << v.key << ' ' << v.as_of << ' ' << v.readings_applied << ' ' << v.sensors << ' '
      << v.sensors_reporting << " rej";
  for (auto n : v.rejected.by_reason) out << ' ' << n;
  out << " ind " << i.congestion_index << ' ' << i.mean_speed_kmh << ' ' << i.pm25_ug_m3 << ' '
      << i.no2_ug_m3 << ' ' << i.co2_ppm << ' ' << i.noise_db << ' ' << i.crowding << ' '
      << i.visitors << ' ' << i.waste_fill_pct << ' ' << i.bins_full << ' ' << i.stale_sensors
      << ' ' << i.active_alerts << '\n';
  for (const auto& k : v.kinds) {
    out << "  kind " << twin::to_string(k.kind) << ' ' << k.sensors << ' ';
    put(out, k.last_1m);
    put(out, k.last_15m);
    put(out, k.last_1h);
    out << '\n';
  }
  for (const auto& l : v.links)
    out << "  link " << l.key << ' ' << l.speed_kmh << ' ' << l.flow_veh_h << ' ' << l.occupancy_pct
        << ' ' << l.time << '\n';
  for (const auto& a : v.alerts)
    out << "  alert " << a.rule << ' ' << a.value << ' ' << a.since << '\n';
}

std::string text(const twin::query_reply& reply) {
  std::ostringstream out;
  out << std::hexfloat;
  if (const auto* c = std::get_if<twin::city_view>(&reply)) {
    out << "city " << c->name << ' ' << c->as_of << ' ' << c->readings_applied << " rej";
    for (auto n : c->rejected.by_reason) out << ' ' << n;
    out << '\n';
    for (const auto& d : c->districts) put(out, d);
  } else if (const auto* d = std::get_if<twin::district_view>(&reply)) {
    put(out, *d);
  } else if (const auto* s = std::get_if<twin::sensor_view>(&reply)) {
    out << "sensor " << s->key << ' ' << s->district_key << ' ' << s->has_value << ' ' << s->value
        << ' ' << s->time << ' ' << s->readings << '\n';
  } else {
    out << "error " << std::get<twin::query_error>(reply).message << '\n';
  }
  return out.str();
}

// Batches for small_city: late and duplicate readings, resends, readings of unknown sensors, and
// batches with nothing but those (the router's memory).
std::vector<twin::reading_batch_ptr> batches(std::size_t n) {
  std::mt19937_64 rng(42);
  const std::uint32_t sensors[] = {10, 11, 12, 20, 21, 99};
  std::vector<twin::reading_batch_ptr> out;
  for (std::size_t i = 0; i < n; ++i) {
    const twin::time_ms now = t0 + static_cast<twin::time_ms>(i) * 1500;
    std::vector<twin::reading> readings;
    if (i % 10 == 3) {
      readings.push_back({twin::sensor_id{99}, now, 1});  // part-less
    } else {
      for (std::size_t k = 0, m = 1 + rng() % 8; k < m; ++k) {
        const auto id = sensors[rng() % 6];
        twin::time_ms t = now - static_cast<twin::time_ms>(rng() % 5000);
        if (rng() % 6 == 0) t -= static_cast<twin::time_ms>(rng() % (20 * twin::ms_per_minute));
        readings.push_back({twin::sensor_id{id}, t, static_cast<double>(rng() % 900) / 10.0});
        if (rng() % 9 == 0) readings.push_back(readings.back());
      }
    }
    auto b = std::make_shared<twin::reading_batch>();
    b->key = {1 + i % 3, 1, i + 1};
    b->readings = std::move(readings);
    b->received = now;
    out.push_back(std::move(b));
  }
  return out;
}

std::vector<twin::query_request> every_query(const twin::city& c) {
  std::vector<twin::query_request> out{twin::query_city{}};
  for (const auto& d : c.districts) out.push_back(twin::query_district{d.key});
  for (const auto& s : c.sensors) out.push_back(twin::query_sensor{s.key});
  return out;
}

std::string ask(testing::deterministic_system& sim, actors::runtime& rt,
                twin::query_request request) {
  captured<twin::query_reply> reply;
  rt.query(std::move(request), reply.sink());
  sim.run();
  REQUIRE(reply.calls == 1);
  return text(*reply.value);
}

std::vector<twin::batch_ack> submit(testing::deterministic_system& sim, actors::runtime& rt,
                                    const std::vector<twin::reading_batch_ptr>& bs) {
  std::vector<captured<twin::batch_ack>> acks(bs.size());
  for (std::size_t i = 0; i < bs.size(); ++i) rt.submit(bs[i], acks[i].sink());
  sim.run();
  std::vector<twin::batch_ack> out;
  for (auto& a : acks) {
    REQUIRE(a.calls == 1);
    out.push_back(*a.value);
  }
  return out;
}

}  // namespace

TEST_CASE(
    "a runtime started from a snapshot taken mid-stream answers every query as the original") {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    testing::deterministic_system sim(seed, t0);
    auto city = testing::small_city();
    auto options = testing::quiet_options();
    const auto all = batches(120);
    const std::size_t cut = 70;

    actors::runtime a(sim, city, sim.clock(), nullptr, options);
    // Batches before the cut, the snapshot, and batches after it, all in flight at once.
    std::vector<captured<twin::batch_ack>> acks(all.size());
    for (std::size_t i = 0; i < cut; ++i) a.submit(all[i], acks[i].sink());
    captured<actors::runtime::snapshot_result> snap;
    a.snapshot(cut, snap.sink());
    for (std::size_t i = cut; i < all.size(); ++i) a.submit(all[i], acks[i].sink());
    sim.run();
    REQUIRE(snap.calls == 1);
    REQUIRE(snap.value->has_value());
    const auto& snapshot = snap.value->value();
    CHECK(snapshot.lsn == cut);
    CHECK(snapshot.city == twin::identity_of(*city));
    CHECK(snapshot.districts.size() == city->districts.size());
    REQUIRE(snapshot.router.has_value());
    CHECK(snapshot.router->partless.sessions.size() == 3);
    CHECK(snapshot.router->unknown_sensor_readings > 0);
    // The cut: the images hold exactly the readings the batches before it applied.
    std::uint64_t applied_before = 0;
    for (std::size_t i = 0; i < cut; ++i) applied_before += acks[i].value->accepted;
    std::uint64_t in_images = 0;
    for (const auto& d : snapshot.districts) in_images += d.readings_applied;
    CHECK(in_images == applied_before);

    auto started = actors::runtime::start_from(sim, city, sim.clock(), nullptr, options, snapshot);
    REQUIRE(started.has_value());
    auto& b = **started;
    const std::vector<twin::reading_batch_ptr> after(all.begin() + cut, all.end());
    auto acks_b = submit(sim, b, after);
    for (std::size_t i = 0; i < after.size(); ++i) {
      CHECK(acks_b[i].status == acks[cut + i].value->status);
      CHECK(acks_b[i].accepted == acks[cut + i].value->accepted);
      CHECK(acks_b[i].rejected == acks[cut + i].value->rejected);
    }
    for (const auto& q : every_query(*city)) CHECK(ask(sim, a, q) == ask(sim, b, q));
    sim.advance(10 * twin::ms_per_minute);
    for (const auto& q : every_query(*city)) CHECK(ask(sim, a, q) == ask(sim, b, q));

    // Resends of batches from before the cut, with and without a known sensor.
    const std::vector<twin::reading_batch_ptr> resent{all[5], all[13], all[cut - 1]};
    REQUIRE(all[13]->readings[0].sensor.value == 99);
    auto again_a = submit(sim, a, resent);
    auto again_b = submit(sim, b, resent);
    for (std::size_t i = 0; i < resent.size(); ++i) {
      CHECK(again_b[i].status == twin::ack_status::duplicate);
      CHECK(again_a[i].status == twin::ack_status::duplicate);
    }
    for (const auto& q : every_query(*city)) CHECK(ask(sim, a, q) == ask(sim, b, q));

    // Both images again: equal.
    captured<actors::runtime::snapshot_result> sa, sb;
    a.snapshot(all.size(), sa.sink());
    b.snapshot(all.size(), sb.sink());
    sim.run();
    REQUIRE(sa.value->has_value());
    REQUIRE(sb.value->has_value());
    CHECK(sa.value->value().districts == sb.value->value().districts);
    CHECK(sa.value->value().router == sb.value->value().router);

    b.request_stop();
    a.request_stop();
    sim.run();
  }
}

TEST_CASE("a snapshot that does not fit the city does not start a runtime") {
  testing::deterministic_system sim(1, t0);
  auto city = testing::small_city();
  actors::runtime a(sim, city, sim.clock(), nullptr, testing::quiet_options());
  captured<actors::runtime::snapshot_result> snap;
  a.snapshot(0, snap.sink());
  sim.run();
  REQUIRE(snap.value->has_value());
  auto snapshot = snap.value->value();

  auto other = snapshot;
  other.city.fingerprint ^= 1;
  auto r =
      actors::runtime::start_from(sim, city, sim.clock(), nullptr, testing::quiet_options(), other);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().find("the snapshot is of city 'testville'") == 0);

  other = snapshot;
  other.districts.pop_back();
  r = actors::runtime::start_from(sim, city, sim.clock(), nullptr, testing::quiet_options(), other);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == "the snapshot holds 1 districts where the city has 2");

  auto narrower = testing::quiet_options();
  narrower.district_options.dedup_window_batches_max = 8;
  r = actors::runtime::start_from(sim, city, sim.clock(), nullptr, narrower, snapshot);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == "district 'fatima': dedup: window_batches_max 4096 where the memory has 8");

  a.request_stop();
  sim.run();
}

TEST_CASE("a snapshot asked of a stopped runtime is answered with an error") {
  testing::deterministic_system sim(1, t0);
  actors::runtime a(sim, testing::small_city(), sim.clock(), nullptr, testing::quiet_options());
  a.request_stop();
  sim.run();
  captured<actors::runtime::snapshot_result> snap;
  a.snapshot(0, snap.sink());
  sim.run();
  REQUIRE(snap.calls == 1);
  REQUIRE_FALSE(snap.value->has_value());
  CHECK(snap.value->error() == "node stopping");
}
