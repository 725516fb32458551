#include "bench/feed_plan.hpp"

#include <algorithm>

#include "twin/base/check.hpp"
#include "twin/feed/synth.hpp"

namespace bench {

std::uint64_t feed_plan::total() const {
  std::uint64_t n = 0;
  for (const auto& g : by_gateway) n += g.size();
  return n;
}

std::size_t sensors_of_gateway(std::size_t sensors, std::uint32_t gateways, std::uint32_t g) {
  // Sensor i belongs to gateway i * gateways / sensors: count the i that map to g.
  auto first_of = [&](std::uint64_t k) { return (k * sensors + gateways - 1) / gateways; };
  return static_cast<std::size_t>(first_of(g + 1) - first_of(g));
}

feed_plan make_feed(const twin::city_ptr& city, std::uint64_t readings, std::uint32_t gateways,
                    twin::time_ms end_ms, std::uint64_t seed) {
  TWIN_CHECK_OP(gateways, >, 0u);
  twin::synthetic_feed feed(city, seed);
  const std::size_t sensors = feed.sensor_count();
  TWIN_CHECK_OP(sensors, >=, std::size_t{gateways});
  const std::uint64_t rounds = (readings + sensors - 1) / sensors;
  feed_plan plan;
  plan.interval_ms = std::clamp<twin::time_ms>(
      feed_span_ms_max / static_cast<twin::time_ms>(std::max<std::uint64_t>(rounds, 1)), 1,
      twin::ms_per_second);
  plan.first_ms = end_ms - static_cast<twin::time_ms>(rounds) * plan.interval_ms;
  plan.by_gateway.resize(gateways);
  for (auto& g : plan.by_gateway) g.reserve(readings / gateways + sensors);

  std::vector<twin::reading> round;
  round.reserve(sensors);
  std::uint64_t left = readings;
  for (std::uint64_t r = 0; r < rounds; ++r) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, sensors));
    round.clear();
    // One call per round gives each sensor exactly one reading, in city order.
    feed.generate(plan.first_ms + static_cast<twin::time_ms>(r) * plan.interval_ms, n, round);
    TWIN_CHECK_OP(round.size(), ==, n);
    for (std::size_t i = 0; i < n; ++i) plan.by_gateway[i * gateways / sensors].push_back(round[i]);
    left -= n;
  }
  return plan;
}

endless_feed::endless_feed(std::span<const twin::reading> plan_source, std::size_t sensors,
                           twin::time_ms first_ms, twin::time_ms interval_ms)
    : sensors_(sensors), first_ms_(first_ms), interval_ms_(interval_ms) {
  TWIN_CHECK_OP(sensors, >, 0u);
  const std::size_t rounds = plan_source.size() / sensors;
  TWIN_CHECK_OP(rounds, >, 0u);
  values_.assign(plan_source.begin(), plan_source.begin() + rounds * sensors);
  const twin::time_ms base = values_.front().time;
  for (auto& r : values_) r.time -= base;
  round_span_ms_ = static_cast<twin::time_ms>(rounds) * interval_ms_;
}

void endless_feed::next(std::size_t n, std::vector<twin::reading>& out) {
  out.clear();
  for (std::size_t i = 0; i < n; ++i) {
    twin::reading r = values_[cursor_];
    r.time += first_ms_ + static_cast<twin::time_ms>(round_) * round_span_ms_;
    out.push_back(r);
    if (++cursor_ == values_.size()) {
      cursor_ = 0;
      ++round_;
    }
  }
}

}  // namespace bench
