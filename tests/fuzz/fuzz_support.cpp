#include "fuzz_support.hpp"

#include <charconv>
#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "twin/base/check.hpp"

namespace fuzz {

namespace {

twin::sensor make_sensor(std::uint32_t id, std::string key, twin::sensor_kind kind,
                         std::uint32_t district) {
  twin::sensor s;
  s.id = twin::sensor_id{id};
  s.key = std::move(key);
  s.kind = kind;
  s.district = twin::district_id{district};
  return s;
}

twin::city_ptr build_city() {
  auto c = std::make_shared<twin::city>();
  c->name = "fuzzville";
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
  // The sensors the replay mappings of tests/data/replay name.
  c->sensors.push_back(make_sensor(30, "aoti-pm25", twin::sensor_kind::pm25, 1));
  c->sensors.push_back(make_sensor(31, "aoti-pm10", twin::sensor_kind::pm10, 1));
  c->sensors.push_back(make_sensor(32, "aoti-temp", twin::sensor_kind::temperature, 1));
  c->sensors.push_back(make_sensor(33, "aoti-no2", twin::sensor_kind::no2, 1));
  c->sensors.push_back(make_sensor(34, "aoti-wd", twin::sensor_kind::wind_direction, 1));
  c->sensors.push_back(make_sensor(35, "aoti-wspm", twin::sensor_kind::wind_speed, 1));
  c->sensors.push_back(make_sensor(40, "mndot-6005-speed", twin::sensor_kind::traffic_speed, 0));
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

// A sensor is named by its key or by its wire id written as a number (as the query service does).
const twin::sensor* find_sensor(const twin::city& city, const std::string& key) {
  if (const auto* s = city.find_sensor(key)) return s;
  std::uint32_t id = 0;
  auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
  if (ec != std::errc{} || end != key.data() + key.size()) return nullptr;
  return city.find_sensor(twin::sensor_id{id});
}

}  // namespace

const twin::city_ptr& small_city() {
  static const twin::city_ptr city = build_city();
  return city;
}

live_city::live_city() : city_(small_city()), validator_(*city_, twin::ingest_limits{}) {
  for (const auto& d : city_->districts) districts_.emplace_back(city_, d.id);
}

twin::batch_ack live_city::apply(const twin::reading_batch& batch) {
  twin::batch_ack ack;
  ack.key = batch.key;
  std::vector<std::vector<twin::reading>> parts(districts_.size());
  std::vector<twin::reject_counts> refused(districts_.size());
  for (const auto& r : batch.readings) {
    if (auto reason = validator_.check(r, now_ms)) {
      ++ack.rejected[*reason];
      // Readings of known sensors are counted by their district too.
      if (const auto* s = city_->find_sensor(r.sensor)) ++refused[s->district.value][*reason];
      continue;
    }
    const auto* s = city_->find_sensor(r.sensor);
    TWIN_CHECK(s != nullptr);
    parts[s->district.value].push_back(r);
  }
  bool all_duplicate = true;
  bool any_part = false;
  for (std::size_t d = 0; d < districts_.size(); ++d) {
    districts_[d].count_rejected(refused[d]);
    if (parts[d].empty()) continue;
    any_part = true;
    auto result = districts_[d].apply(batch.key, parts[d], now_ms);
    TWIN_CHECK_OP(result.accepted + result.rejected.total(), ==, parts[d].size());
    ack.accepted += result.accepted;
    ack.rejected += result.rejected;
    all_duplicate = all_duplicate && result.duplicate_batch;
  }
  TWIN_CHECK_OP(ack.accepted + ack.rejected.total(), ==, batch.readings.size());
  ack.status = any_part && all_duplicate ? twin::ack_status::duplicate : twin::ack_status::applied;
  ack.credit = cluster::credit_default;
  return ack;
}

twin::query_reply live_city::answer(const twin::query_request& request) const {
  if (std::holds_alternative<twin::query_city>(request)) {
    twin::city_view v;
    v.name = city_->name;
    v.as_of = now_ms;
    for (const auto& d : districts_) {
      auto dv = d.view(now_ms, false);
      v.readings_applied += dv.readings_applied;
      v.rejected += dv.rejected;
      v.districts.push_back(std::move(dv));
    }
    return v;
  }
  if (const auto* q = std::get_if<twin::query_district>(&request)) {
    auto d = city_->find_district(q->key);
    if (!d) return twin::query_error{"unknown district '" + q->key + "'"};
    return districts_[d->value].view(now_ms, true);
  }
  const auto& key = std::get<twin::query_sensor>(request).key;
  const auto* s = find_sensor(*city_, key);
  if (s == nullptr) return twin::query_error{"unknown sensor '" + key + "'"};
  auto v = districts_[s->district.value].sensor(s->id);
  TWIN_CHECK(v.has_value());
  TWIN_CHECK_OP(v->id.value, ==, s->id.value);
  return *v;
}

std::span<const std::byte> as_bytes(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const std::byte*>(data), size};
}

std::span<const std::byte> misaligned_copy(std::span<const std::byte> frame,
                                           std::vector<std::byte>& storage) {
  // new[] is at least 8-byte aligned, so one byte in is not.
  storage.resize(frame.size() + 1);
  if (!frame.empty()) std::memcpy(storage.data() + 1, frame.data(), frame.size());
  return {storage.data() + 1, frame.size()};
}

void check_same_outcome(bool ok_aligned, bool ok_misaligned, const cluster::decode_error* a,
                        const cluster::decode_error* b) {
  TWIN_CHECK_OP(ok_aligned, ==, ok_misaligned);
  if (ok_aligned) return;
  TWIN_CHECK(a != nullptr && b != nullptr);
  TWIN_CHECK_OP(static_cast<int>(a->failure), ==, static_cast<int>(b->failure));
  TWIN_CHECK_OP(a->message, ==, b->message);
  TWIN_CHECK(!a->message.empty());
}

bool same_readings(std::span<const twin::reading> a, std::span<const twin::reading> b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].sensor != b[i].sensor || a[i].time != b[i].time) return false;
    if (std::memcmp(&a[i].value, &b[i].value, sizeof(double)) != 0) return false;
  }
  return true;
}

bool same_ack(const twin::batch_ack& a, const twin::batch_ack& b) {
  return a.key == b.key && a.status == b.status && a.accepted == b.accepted &&
         a.rejected == b.rejected && a.credit == b.credit && a.message == b.message;
}

bool same_bytes(std::span<const std::byte> a, std::span<const std::byte> b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

void check_reply_round_trip(std::uint64_t request_id, const twin::query_reply& reply) {
  cluster::encoder enc;
  cluster::decoder dec;
  std::vector<std::byte> first;
  std::vector<std::byte> second;
  enc.encode_query_reply(request_id, reply, first);
  auto decoded = dec.decode_query_reply(first);
  TWIN_CHECK(decoded.has_value());
  TWIN_CHECK_OP(decoded->request_id, ==, request_id);
  TWIN_CHECK_OP(decoded->reply.index(), ==, reply.index());
  enc.encode_query_reply(decoded->request_id, decoded->reply, second);
  TWIN_CHECK(same_bytes(first, second));
}

void check_ack_round_trip(const twin::batch_ack& ack) {
  cluster::encoder enc;
  cluster::decoder dec;
  std::vector<std::byte> frame;
  enc.encode_ack(ack, frame);
  auto decoded = dec.decode_ack(frame);
  TWIN_CHECK(decoded.has_value());
  TWIN_CHECK(same_ack(*decoded, ack));
}

}  // namespace fuzz

namespace fuzz {

bool same_request(const twin::query_request& a, const twin::query_request& b) {
  if (a.index() != b.index()) return false;
  if (const auto* d = std::get_if<twin::query_district>(&a))
    return d->key == std::get<twin::query_district>(b).key;
  if (const auto* s = std::get_if<twin::query_sensor>(&a))
    return s->key == std::get<twin::query_sensor>(b).key;
  return true;
}

std::vector<twin::reading> read_replay(twin::csv_replay& replay, std::size_t chunk,
                                       std::size_t bad_rows_max,
                                       std::span<const twin::sensor_id> allowed) {
  const auto& city = *small_city();
  std::vector<twin::reading> out;
  for (;;) {
    const std::size_t before = out.size();
    auto n = replay.next(out, chunk);
    if (!n) {
      TWIN_CHECK_OP(out.size(), ==, before);
      TWIN_CHECK(!n.error().message.empty());
      // A failed replay keeps failing with the same error.
      auto again = replay.next(out, chunk);
      TWIN_CHECK(!again.has_value());
      TWIN_CHECK_OP(again.error().to_string(), ==, n.error().to_string());
      TWIN_CHECK_OP(out.size(), ==, before);
      break;
    }
    TWIN_CHECK_OP(*n, <=, chunk);
    TWIN_CHECK_OP(out.size(), ==, before + *n);
    if (*n == 0) {
      TWIN_CHECK(replay.done());
      auto again = replay.next(out, chunk);
      TWIN_CHECK(again.has_value() && *again == 0);
      break;
    }
  }
  const auto& stats = replay.stats();
  TWIN_CHECK_OP(stats.readings, ==, out.size());
  TWIN_CHECK_OP(stats.errors, <=, bad_rows_max);
  TWIN_CHECK_OP(stats.errors, <=, stats.rows);
  if (stats.errors > 0) TWIN_CHECK(replay.last_skipped_error().has_value());
  for (const auto& r : out) {
    TWIN_CHECK(city.find_sensor(r.sensor) != nullptr);
    if (!allowed.empty()) {
      bool found = false;
      for (auto id : allowed) found = found || id == r.sensor;
      TWIN_CHECK(found);
    }
  }
  // The gateway sends them in batches; the node decodes the same readings.
  cluster::encoder enc;
  cluster::decoder dec;
  std::vector<std::byte> frame;
  constexpr std::size_t batch_max = 256;
  for (std::size_t i = 0; i < out.size(); i += batch_max) {
    const auto part = std::span<const twin::reading>(out).subspan(
        i, std::min(batch_max, out.size() - i));
    enc.encode_batch({1, 2, i}, part, frame);
    auto decoded = dec.decode_batch(frame);
    TWIN_CHECK(decoded.has_value());
    TWIN_CHECK(same_readings(decoded->readings, part));
  }
  return out;
}

}  // namespace fuzz
