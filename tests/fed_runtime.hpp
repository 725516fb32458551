#pragma once

// A runtime in this process fed readings in one batch, its clock standing still: what a node
// holds, to take a snapshot of or to read as a node's live state is read.

#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "actors/own_system.hpp"
#include "actors/runtime.hpp"
#include "cluster/live_fetch.hpp"
#include "twin/base/time.hpp"
#include "twin/city/city.hpp"

namespace testkit {

struct keyed_reading {
  std::string sensor;  // the sensor's key
  twin::time_ms time = 0;
  double value = 0;
};

class fed_runtime {
 public:
  // The batch arrives at `at`, the clock's time from then on.
  fed_runtime(const twin::city& c, const std::vector<keyed_reading>& readings, twin::time_ms at)
      : clock_(at), city_(std::make_shared<const twin::city>(c)), system_(2) {
    rt_ = std::make_unique<actors::runtime>(system_.get(), city_, clock_, nullptr);
    auto b = std::make_shared<twin::reading_batch>();
    b->key = {1, 1, 1};
    b->received = at;
    for (const auto& r : readings) {
      const auto* s = city_->find_sensor(r.sensor);
      REQUIRE_MESSAGE(s != nullptr, r.sensor);
      b->readings.push_back({s->id, r.time, r.value});
    }
    std::promise<twin::batch_ack> acked;
    rt_->submit(b, [&](twin::batch_ack a) { acked.set_value(a); });
    auto f = acked.get_future();
    REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    f.get();
  }
  ~fed_runtime() { rt_->stop(); }
  fed_runtime(const fed_runtime&) = delete;
  fed_runtime& operator=(const fed_runtime&) = delete;

  twin::node_snapshot snapshot(std::uint64_t lsn) {
    std::promise<actors::runtime::snapshot_result> taken;
    rt_->snapshot(lsn, [&](actors::runtime::snapshot_result r) { taken.set_value(std::move(r)); });
    auto f = taken.get_future();
    REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    auto r = f.get();
    REQUIRE_MESSAGE(r.has_value(), r.error());
    return std::move(*r);
  }

  // Its live state, read as a node's is; `name` stands for the node's address.
  twin::live_snapshot read(const std::string& name) {
    cluster::live_source source;
    source.name = name;
    source.ask = [this](const twin::query_request& request,
                        int timeout_ms) -> twin::expected<twin::query_reply, std::string> {
      auto promise = std::make_shared<std::promise<twin::query_reply>>();
      auto reply = promise->get_future();
      rt_->query(request, [promise](twin::query_reply r) { promise->set_value(std::move(r)); });
      if (reply.wait_for(std::chrono::milliseconds(timeout_ms)) != std::future_status::ready)
        return twin::unexpected{std::string("no reply")};
      return reply.get();
    };
    auto s = cluster::fetch_live_snapshot(source, *city_);
    REQUIRE_MESSAGE(s.has_value(), s.error());
    return std::move(*s);
  }

 private:
  twin::manual_clock clock_;  // outlives the actor system
  twin::city_ptr city_;
  actors::own_system system_;
  std::unique_ptr<actors::runtime> rt_;
};

}  // namespace testkit
