#pragma once

// The small city the actor tests run on, and helpers to read what the runtime answers.

#include <doctest/doctest.h>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "twin/city/city.hpp"
#include "twin/live/services.hpp"

namespace testing {

// A multiple of 15 s, so that every window ends exactly at `now`.
inline constexpr twin::time_ms t0 = 1'700'000'100'000;

inline twin::sensor make_sensor(std::uint32_t id, std::string key, twin::sensor_kind kind,
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
inline twin::city_ptr small_city() {
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

inline twin::reading_batch_ptr make_batch(std::uint64_t sequence,
                                          std::vector<twin::reading> readings) {
  auto b = std::make_shared<twin::reading_batch>();
  b->key = {7, 1, sequence};
  b->readings = std::move(readings);
  return b;
}

// Prometheus text exposition -> sample name with labels -> value.
inline std::map<std::string, std::string> samples(const std::string& text) {
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

inline twin::reject_counts rejects(
    std::initializer_list<std::pair<twin::reject_reason, std::uint32_t>> xs) {
  twin::reject_counts out;
  for (auto [reason, n] : xs) out[reason] = n;
  return out;
}

inline const twin::kind_stats& stats_of(const twin::district_view& v, twin::sensor_kind k) {
  for (const auto& s : v.kinds)
    if (s.kind == k) return s;
  FAIL("no stats for kind " << twin::to_string(k));
  throw 0;  // unreachable: FAIL throws
}

}  // namespace testing
