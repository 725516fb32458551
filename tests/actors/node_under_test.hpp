#pragma once

// A node's runtime on the deterministic system: the test submits and asks, then says when the
// actors run (`sim.run()`, `sim.step()`) and when time moves (`sim.advance(ms)`).

#include <doctest/doctest.h>
#include <cstdint>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "actors/runtime.hpp"
#include "deterministic.hpp"
#include "observability/probes.hpp"
#include "small_city.hpp"

namespace testing {

// A reply captured from a completion, which runs inside an actor: here, on the test's thread.
template <class T>
struct captured {
  std::optional<T> value;
  int calls = 0;
  std::function<void(T)> sink() {
    return [this](T x) {
      ++calls;
      value = std::move(x);
    };
  }
};

// Ticks only when the test advances the clock by an hour.
inline actors::runtime_options quiet_options() {
  actors::runtime_options o;
  o.tick_interval_ms = twin::ms_per_hour;
  return o;
}

struct node_under_test {
  deterministic_system sim;
  twin::city_ptr city = small_city();
  observability::metrics_registry registry;
  observability::probes probes{registry, *city};
  std::ostringstream alert_log;
  actors::runtime rt;

  node_under_test(std::uint64_t seed, actors::runtime_options options)
      : sim(seed, t0), rt(sim, city, sim.clock(), &probes, with_log(options, alert_log)) {}
  ~node_under_test() {
    rt.request_stop();
    sim.run();
  }
  node_under_test(const node_under_test&) = delete;
  node_under_test& operator=(const node_under_test&) = delete;

  static actors::runtime_options with_log(actors::runtime_options o, std::ostream& log) {
    o.alert_log = &log;
    return o;
  }

  // Submits one batch, runs the actors until idle and returns its one ack.
  twin::batch_ack submit(twin::reading_batch_ptr batch) {
    return submit_all({std::move(batch)})[0];
  }
  // Submits every batch before any actor runs, then runs until idle: the acks in batch order.
  std::vector<twin::batch_ack> submit_all(const std::vector<twin::reading_batch_ptr>& batches) {
    std::vector<captured<twin::batch_ack>> acks(batches.size());
    for (std::size_t i = 0; i < batches.size(); ++i) rt.submit(batches[i], acks[i].sink());
    sim.run();
    std::vector<twin::batch_ack> out;
    for (auto& a : acks) {
      REQUIRE(a.calls == 1);
      out.push_back(*a.value);
    }
    return out;
  }
  twin::query_reply ask(twin::query_request request) {
    captured<twin::query_reply> reply;
    rt.query(std::move(request), reply.sink());
    sim.run();
    REQUIRE(reply.calls == 1);
    return *reply.value;
  }
  template <class View>
  View view(twin::query_request request) {
    auto reply = ask(std::move(request));
    REQUIRE(std::holds_alternative<View>(reply));
    return std::get<View>(reply);
  }
  twin::city_view city_view() { return view<twin::city_view>(twin::query_city{}); }
  // Every district ticks now (gauges, alerts); true when all answered.
  bool refresh() {
    captured<bool> all;
    rt.refresh(all.sink());
    sim.run();
    REQUIRE(all.calls == 1);
    return *all.value;
  }
  std::string metric(const std::string& sample) {
    auto m = samples(registry.scrape_text());
    auto it = m.find(sample);
    return it == m.end() ? "" : it->second;
  }
};

}  // namespace testing
