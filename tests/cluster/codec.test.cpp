#include "cluster/codec.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <doctest/doctest.h>
#include <zmq.hpp>

#include "schemas/ingest.capnp.h"

namespace {

using cluster::decode_failure;

bool same(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || a == b;
}

std::vector<twin::reading> sample_readings() {
  return {{twin::sensor_id{1}, 1'700'000'000'000, 42.5},
          {twin::sensor_id{2}, -5, std::numeric_limits<double>::quiet_NaN()},
          {twin::sensor_id{16'777'215}, 0, -std::numeric_limits<double>::infinity()},
          {twin::sensor_id{}, std::numeric_limits<std::int64_t>::max(), 1e-300}};
}

twin::district_view sample_district() {
  twin::district_view d;
  d.id = twin::district_id{3};
  d.key = "fatima";
  d.name = "Nossa Senhora de Fátima";
  d.as_of = 1'700'000'123'456;
  d.population = 190000.5;
  d.area_km2 = 3.2;
  d.readings_applied = 987654321012;
  d.rejected[twin::reject_reason::unknown_sensor] = 7;
  d.rejected[twin::reject_reason::wrong_version] = 9;
  d.sensors = 40;
  d.sensors_reporting = 38;
  d.indicators.congestion_index = 0.75;
  d.indicators.mean_speed_kmh = 23.5;
  d.indicators.pm25_ug_m3 = 18.25;
  d.indicators.no2_ug_m3 = 41;
  d.indicators.co2_ppm = 455.5;
  d.indicators.noise_db = 68.1;
  d.indicators.crowding = 0.4;
  d.indicators.visitors = 1234;
  d.indicators.waste_fill_pct = 55.5;
  d.indicators.bins_full = 4;
  d.indicators.stale_sensors = 2;
  d.indicators.active_alerts = 1;
  d.kinds.push_back(
      {twin::sensor_kind::pm25, 5, {3, 10, 8, 12}, {30, 11, 7, 15}, {120, 12, 5, 30}});
  d.kinds.push_back({twin::sensor_kind::waste_fill, 2, {}, {1, 80, 80, 80}, {}});
  d.links.push_back({twin::link_id{17}, "l17", 31.5, 1200, 12.5, 1'700'000'000'001});
  d.links.push_back({twin::link_id{18}, "l18", twin::no_value, 900, twin::no_value, 5});
  d.alerts.push_back({"pm25-high", twin::district_id{3}, twin::sensor_kind::pm25,
                      twin::severity::critical, 80.5, 75, 1'700'000'000'000, "PM2.5 above 75"});
  return d;
}

void check_district(const twin::district_view& a, const twin::district_view& b) {
  CHECK(a.id == b.id);
  CHECK(a.key == b.key);
  CHECK(a.name == b.name);
  CHECK(a.as_of == b.as_of);
  CHECK(a.population == b.population);
  CHECK(a.area_km2 == b.area_km2);
  CHECK(a.readings_applied == b.readings_applied);
  CHECK(a.rejected == b.rejected);
  CHECK(a.sensors == b.sensors);
  CHECK(a.sensors_reporting == b.sensors_reporting);
  const auto &x = a.indicators, &y = b.indicators;
  CHECK(same(x.congestion_index, y.congestion_index));
  CHECK(same(x.mean_speed_kmh, y.mean_speed_kmh));
  CHECK(same(x.pm25_ug_m3, y.pm25_ug_m3));
  CHECK(same(x.no2_ug_m3, y.no2_ug_m3));
  CHECK(same(x.co2_ppm, y.co2_ppm));
  CHECK(same(x.noise_db, y.noise_db));
  CHECK(same(x.crowding, y.crowding));
  CHECK(same(x.visitors, y.visitors));
  CHECK(same(x.waste_fill_pct, y.waste_fill_pct));
  CHECK(x.bins_full == y.bins_full);
  CHECK(x.stale_sensors == y.stale_sensors);
  CHECK(x.active_alerts == y.active_alerts);
  REQUIRE(a.kinds.size() == b.kinds.size());
  for (std::size_t i = 0; i < a.kinds.size(); ++i) {
    CHECK(a.kinds[i].kind == b.kinds[i].kind);
    CHECK(a.kinds[i].sensors == b.kinds[i].sensors);
    for (auto w :
         {&twin::kind_stats::last_1m, &twin::kind_stats::last_15m, &twin::kind_stats::last_1h}) {
      CHECK((a.kinds[i].*w).count == (b.kinds[i].*w).count);
      CHECK(same((a.kinds[i].*w).mean, (b.kinds[i].*w).mean));
      CHECK(same((a.kinds[i].*w).min, (b.kinds[i].*w).min));
      CHECK(same((a.kinds[i].*w).max, (b.kinds[i].*w).max));
    }
  }
  REQUIRE(a.links.size() == b.links.size());
  for (std::size_t i = 0; i < a.links.size(); ++i) {
    CHECK(a.links[i].link == b.links[i].link);
    CHECK(a.links[i].key == b.links[i].key);
    CHECK(same(a.links[i].speed_kmh, b.links[i].speed_kmh));
    CHECK(same(a.links[i].flow_veh_h, b.links[i].flow_veh_h));
    CHECK(same(a.links[i].occupancy_pct, b.links[i].occupancy_pct));
    CHECK(a.links[i].time == b.links[i].time);
  }
  REQUIRE(a.alerts.size() == b.alerts.size());
  for (std::size_t i = 0; i < a.alerts.size(); ++i) {
    CHECK(a.alerts[i].rule == b.alerts[i].rule);
    CHECK(a.alerts[i].district == b.alerts[i].district);
    CHECK(a.alerts[i].kind == b.alerts[i].kind);
    CHECK(a.alerts[i].level == b.alerts[i].level);
    CHECK(same(a.alerts[i].value, b.alerts[i].value));
    CHECK(same(a.alerts[i].threshold, b.alerts[i].threshold));
    CHECK(a.alerts[i].since == b.alerts[i].since);
    CHECK(a.alerts[i].message == b.alerts[i].message);
  }
}

std::vector<std::byte> batch_frame(std::uint16_t version, std::uint32_t readings) {
  capnp::MallocMessageBuilder builder;
  auto b = builder.initRoot<citytwin::schema::ReadingBatch>();
  b.setProtocolVersion(version);
  b.setGateway(7);
  b.setSession(8);
  b.setSequence(9);
  b.initReadings(readings);
  auto words = capnp::messageToFlatArray(builder);
  auto bytes = words.asBytes();
  std::vector<std::byte> out(bytes.size());
  std::memcpy(out.data(), bytes.begin(), bytes.size());
  return out;
}

}  // namespace

TEST_CASE("a batch survives encode and decode with exact values, NaN included") {
  cluster::encoder enc;
  cluster::decoder dec;
  const auto readings = sample_readings();
  std::vector<std::byte> buffer;
  auto frame = enc.encode_batch({11, 22, 33}, readings, buffer);
  // Root pointer, 7-word struct (5 data words, 2 pointers), list tag, 3 words a reading, after
  // the 1-word segment table: one segment, no city named.
  CHECK(frame.size() == 8 * (1 + 1 + 7 + 1 + 3 * readings.size()));
  auto batch = dec.decode_batch(frame);
  REQUIRE(batch.has_value());
  CHECK(batch->key == twin::batch_key{11, 22, 33});
  REQUIRE(batch->readings.size() == readings.size());
  CHECK(batch->readings[0] == readings[0]);
  CHECK(batch->readings[1].sensor == readings[1].sensor);
  CHECK(batch->readings[1].time == -5);
  CHECK(std::isnan(batch->readings[1].value));
  CHECK(batch->readings[2] == readings[2]);
  CHECK(batch->readings[3] == readings[3]);
  CHECK(!batch->readings[3].sensor.valid());

  SUBCASE("into a ZeroMQ message, byte for byte the same") {
    zmq::message_t message;
    enc.encode_batch({11, 22, 33}, readings, message);
    REQUIRE(message.size() == frame.size());
    CHECK(std::memcmp(message.data(), frame.data(), frame.size()) == 0);
  }
  SUBCASE("an empty batch") {
    auto empty = dec.decode_batch(enc.encode_batch({1, 2, 3}, {}, buffer));
    REQUIRE(empty.has_value());
    CHECK(empty->readings.empty());
    CHECK(empty->key == twin::batch_key{1, 2, 3});
  }
}

TEST_CASE("the encoder reuses its scratch space across frames of different sizes") {
  cluster::encoder enc;
  cluster::decoder dec;
  std::vector<std::byte> buffer;
  for (std::uint32_t n : {3u, 5000u, 1u, 256u}) {
    std::vector<twin::reading> readings(n);
    for (std::uint32_t i = 0; i < n; ++i) readings[i] = {twin::sensor_id{i}, i * 10, i * 0.5};
    auto batch = dec.decode_batch(enc.encode_batch({1, 1, n}, readings, buffer));
    REQUIRE(batch.has_value());
    CHECK(batch->readings == readings);
  }
}

TEST_CASE("an ack survives encode and decode") {
  cluster::encoder enc;
  cluster::decoder dec;
  twin::batch_ack ack;
  ack.key = {5, 6, 7};
  ack.status = twin::ack_status::overloaded;
  ack.accepted = 250;
  ack.rejected[twin::reject_reason::non_finite] = 3;
  ack.rejected[twin::reject_reason::wrong_version] = 4;
  ack.credit = 16;
  ack.message = "try later";
  std::vector<std::byte> buffer;
  auto back = dec.decode_ack(enc.encode_ack(ack, buffer));
  REQUIRE(back.has_value());
  CHECK(back->key == ack.key);
  CHECK(back->status == twin::ack_status::overloaded);
  CHECK(back->accepted == 250);
  CHECK(back->rejected == ack.rejected);
  CHECK(back->rejected.total() == 7);
  CHECK(back->credit == 16);
  CHECK(back->message == "try later");
}

TEST_CASE("query requests of every kind survive encode and decode") {
  cluster::encoder enc;
  cluster::decoder dec;
  std::vector<std::byte> buffer;
  auto city = dec.decode_query_request(enc.encode_query_request(1, twin::query_city{}, buffer));
  REQUIRE(city.has_value());
  CHECK(city->request_id == 1);
  CHECK(std::holds_alternative<twin::query_city>(city->request));
  auto district =
      dec.decode_query_request(enc.encode_query_request(2, twin::query_district{"sé"}, buffer));
  REQUIRE(district.has_value());
  CHECK(district->request_id == 2);
  CHECK(std::get<twin::query_district>(district->request).key == "sé");
  auto sensor =
      dec.decode_query_request(enc.encode_query_request(3, twin::query_sensor{"4711"}, buffer));
  REQUIRE(sensor.has_value());
  CHECK(std::get<twin::query_sensor>(sensor->request).key == "4711");
  auto cluster =
      dec.decode_query_request(enc.encode_query_request(4, twin::query_cluster{}, buffer));
  REQUIRE(cluster.has_value());
  CHECK(cluster->request_id == 4);
  CHECK(std::holds_alternative<twin::query_cluster>(cluster->request));
}

TEST_CASE("query replies of every kind survive encode and decode") {
  cluster::encoder enc;
  cluster::decoder dec;
  std::vector<std::byte> buffer;

  SUBCASE("district") {
    auto d = sample_district();
    auto back = dec.decode_query_reply(enc.encode_query_reply(9, d, buffer));
    REQUIRE(back.has_value());
    CHECK(back->request_id == 9);
    REQUIRE(std::holds_alternative<twin::district_view>(back->reply));
    check_district(std::get<twin::district_view>(back->reply), d);
  }
  SUBCASE("city") {
    twin::city_view c;
    c.name = "Macau";
    c.as_of = 123;
    c.readings_applied = 456;
    c.rejected[twin::reject_reason::too_new] = 2;
    c.districts = {sample_district(), sample_district()};
    c.districts[1].key = "taipa";
    c.districts[1].links.clear();
    auto back = dec.decode_query_reply(enc.encode_query_reply(10, c, buffer));
    REQUIRE(back.has_value());
    REQUIRE(std::holds_alternative<twin::city_view>(back->reply));
    const auto& b = std::get<twin::city_view>(back->reply);
    CHECK(b.name == "Macau");
    CHECK(b.as_of == 123);
    CHECK(b.readings_applied == 456);
    CHECK(b.rejected == c.rejected);
    REQUIRE(b.districts.size() == 2);
    check_district(b.districts[0], c.districts[0]);
    check_district(b.districts[1], c.districts[1]);
  }
  SUBCASE("sensor") {
    twin::sensor_view v{twin::sensor_id{4711},
                        "pm-fatima-1",
                        twin::sensor_kind::no2,
                        twin::district_id{3},
                        "fatima",
                        true,
                        33.25,
                        1'700'000'000'000,
                        99};
    auto back = dec.decode_query_reply(enc.encode_query_reply(11, v, buffer));
    REQUIRE(back.has_value());
    REQUIRE(std::holds_alternative<twin::sensor_view>(back->reply));
    const auto& b = std::get<twin::sensor_view>(back->reply);
    CHECK(b.id == v.id);
    CHECK(b.key == "pm-fatima-1");
    CHECK(b.kind == twin::sensor_kind::no2);
    CHECK(b.district == twin::district_id{3});
    CHECK(b.district_key == "fatima");
    CHECK(b.has_value);
    CHECK(b.value == 33.25);
    CHECK(b.time == 1'700'000'000'000);
    CHECK(b.readings == 99);
  }
  SUBCASE("cluster status") {
    twin::cluster_status_view v;
    v.alone = false;
    v.node = "node-a";
    v.cluster = "macau";
    v.store = "etcd at etcd://10.0.0.1:2379";
    v.store_reachable = false;
    v.revision = 41;
    v.epoch = 40;
    v.coordinator = "node-b";
    v.term = 7;
    v.replication_factor = 2;
    v.members = {{"node-a", "7587869301234567890", "up", "taipa", "tcp://a:7100", "tcp://a:7101",
                  "a:9464", 3, 5, "Macau", "0x3f3d3f9170a6ee94", 1764800000000},
                 {"node-c", "", "down", "", "", "", "", 1, 0, "", "", 0}};
    v.districts = {{"fatima", "node-a", {"node-b"}, 0}, {"cotai", "", {}, 6}};
    auto back = dec.decode_query_reply(enc.encode_query_reply(13, v, buffer));
    REQUIRE(back.has_value());
    REQUIRE(std::holds_alternative<twin::cluster_status_view>(back->reply));
    const auto& b = std::get<twin::cluster_status_view>(back->reply);
    CHECK_FALSE(b.alone);
    CHECK(b.node == "node-a");
    CHECK(b.cluster == "macau");
    CHECK(b.store == v.store);
    CHECK_FALSE(b.store_reachable);
    CHECK(b.revision == 41);
    CHECK(b.epoch == 40);
    CHECK(b.coordinator == "node-b");
    CHECK(b.term == 7);
    CHECK(b.replication_factor == 2);
    REQUIRE(b.members.size() == 2);
    CHECK(b.members[0].incarnation == "7587869301234567890");
    CHECK(b.members[0].zone == "taipa");
    CHECK(b.members[0].owns == 3);
    CHECK(b.members[0].replicates == 5);
    CHECK(b.members[0].fingerprint == "0x3f3d3f9170a6ee94");
    CHECK(b.members[0].started_ms == 1764800000000);
    CHECK(b.members[1].state == "down");
    REQUIRE(b.districts.size() == 2);
    CHECK(b.districts[0].replicas == std::vector<std::string>{"node-b"});
    CHECK(b.districts[1].owner.empty());
    CHECK(b.districts[1].index == 6);
  }
  SUBCASE("error") {
    auto back = dec.decode_query_reply(
        enc.encode_query_reply(12, twin::query_error{"unknown district 'atlantis'"}, buffer));
    REQUIRE(back.has_value());
    REQUIRE(std::holds_alternative<twin::query_error>(back->reply));
    CHECK(std::get<twin::query_error>(back->reply).message == "unknown district 'atlantis'");
  }
}

TEST_CASE("a frame that is not 8-byte aligned is realigned and decodes") {
  cluster::encoder enc;
  cluster::decoder dec;
  const auto readings = sample_readings();
  std::vector<std::byte> buffer;
  auto frame = enc.encode_batch({1, 2, 3}, readings, buffer);
  std::vector<std::byte> shifted(frame.size() + 8);
  for (std::size_t offset : {1u, 3u, 5u}) {
    std::memcpy(shifted.data() + offset, frame.data(), frame.size());
    std::span<const std::byte> view(shifted.data() + offset, frame.size());
    REQUIRE(reinterpret_cast<std::uintptr_t>(view.data()) % 8 != 0);
    auto batch = dec.decode_batch(view);
    REQUIRE(batch.has_value());
    CHECK(batch->readings[0] == readings[0]);
    CHECK(batch->key == twin::batch_key{1, 2, 3});
  }
  CHECK(dec.realigned() == 3);
  REQUIRE(dec.decode_batch(frame).has_value());
  CHECK(dec.realigned() == 3);
}

TEST_CASE("truncated frames are refused as truncated at every length") {
  cluster::encoder enc;
  cluster::decoder dec;
  std::vector<std::byte> buffer;
  auto frame = enc.encode_batch({1, 2, 3}, sample_readings(), buffer);
  for (std::size_t length :
       {std::size_t{0}, std::size_t{1}, std::size_t{4}, std::size_t{7}, std::size_t{8},
        std::size_t{16}, std::size_t{17}, frame.size() / 2, frame.size() - 8, frame.size() - 1}) {
    CAPTURE(length);
    auto batch = dec.decode_batch(frame.first(length));
    REQUIRE(!batch.has_value());
    CHECK(batch.error().failure == decode_failure::truncated);
    CHECK(batch.error().message.starts_with("truncated frame: "));
    CHECK(cluster::ack_status_for(batch.error().failure) == twin::ack_status::malformed);
  }
  auto at_16 = dec.decode_batch(frame.first(16));
  CHECK(at_16.error().message ==
        "truncated frame: 16 bytes, its segment table announces " + std::to_string(frame.size()));
}

TEST_CASE("random garbage never crashes the decoder and is always refused") {
  cluster::decoder dec;
  std::mt19937_64 rng(20240611);
  std::uniform_int_distribution<int> size_words(0, 64);
  std::size_t refused = 0;
  for (int i = 0; i < 3000; ++i) {
    std::vector<std::byte> junk(8 * static_cast<std::size_t>(size_words(rng)) +
                                (i % 3 == 0 ? 3 : 0));
    for (auto& b : junk) b = static_cast<std::byte>(rng());
    refused += !dec.decode_batch(junk).has_value();
    refused += !dec.decode_ack(junk).has_value();
    refused += !dec.decode_query_request(junk).has_value();
    refused += !dec.decode_query_reply(junk).has_value();
  }
  CHECK(refused == 4 * 3000);
}

TEST_CASE("garbage behind a valid segment table never crashes the decoder") {
  cluster::decoder dec;
  std::mt19937_64 rng(7);
  std::size_t refused = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::uint32_t body_words = 1 + static_cast<std::uint32_t>(rng() % 48);
    std::vector<std::byte> frame(8 * (1 + body_words));
    const std::uint32_t table[2] = {0, body_words};
    std::memcpy(frame.data(), table, sizeof table);
    for (std::size_t b = 8; b < frame.size(); ++b) frame[b] = static_cast<std::byte>(rng());
    auto batch = dec.decode_batch(frame);
    auto reply = dec.decode_query_reply(frame);
    refused += !batch.has_value();
    if (!batch.has_value()) {
      CHECK(!batch.error().message.empty());
      CHECK(batch.error().failure != decode_failure::truncated);
    }
    (void)reply;
  }
  // Random pointers almost never form a batch of version 1.
  CHECK(refused > 2900);
}

TEST_CASE("a batch of another protocol version is refused by name, keeping its key") {
  cluster::decoder dec;
  auto frame = batch_frame(2, 3);
  auto batch = dec.decode_batch(frame);
  REQUIRE(!batch.has_value());
  CHECK(batch.error().failure == decode_failure::wrong_version);
  CHECK(batch.error().message == "protocol version 2, this node speaks 1");
  CHECK(batch.error().key == twin::batch_key{7, 8, 9});
  CHECK(cluster::ack_status_for(batch.error().failure) == twin::ack_status::wrong_version);
}

TEST_CASE("a batch over the reading limit is refused as malformed") {
  cluster::decoder dec;
  auto at_limit = dec.decode_batch(batch_frame(1, cluster::batch_readings_max));
  REQUIRE(at_limit.has_value());
  CHECK(at_limit->readings.size() == cluster::batch_readings_max);
  auto over = dec.decode_batch(batch_frame(1, cluster::batch_readings_max + 1));
  REQUIRE(!over.has_value());
  CHECK(over.error().failure == decode_failure::too_large);
  CHECK(over.error().message == "batch of 65537 readings exceeds the limit of 65536");
  CHECK(over.error().key == twin::batch_key{7, 8, 9});
  CHECK(cluster::ack_status_for(over.error().failure) == twin::ack_status::malformed);
}

TEST_CASE("a frame over the byte limit is refused with its header's key and readings") {
  cluster::decoder dec(1024);
  auto frame = batch_frame(1, 100);
  auto batch = dec.decode_batch(frame);
  REQUIRE(!batch.has_value());
  CHECK(batch.error().failure == decode_failure::too_large);
  CHECK(batch.error().message ==
        "frame of " + std::to_string(frame.size()) + " bytes exceeds the limit of 1024 bytes");
  CHECK(batch.error().key == twin::batch_key{7, 8, 9});
  CHECK(batch.error().readings == 100);
  // Over the limit and not even framed: the size is all the refusal can name.
  std::vector<std::byte> junk(1030, std::byte{0x55});
  batch = dec.decode_batch(junk);
  REQUIRE(!batch.has_value());
  CHECK(batch.error().failure == decode_failure::too_large);
  CHECK(batch.error().message == "frame of 1030 bytes exceeds the limit of 1024 bytes");
  CHECK(batch.error().readings == 0);
}

TEST_CASE("a batch names its city and an ack the node's, neither by default") {
  cluster::encoder enc;
  cluster::decoder dec;
  const std::vector<twin::reading> one{{twin::sensor_id{3}, 5, 1.5}};
  std::vector<std::byte> frame;
  enc.encode_batch({1, 2, 3}, one, frame);
  auto plain = dec.decode_batch(frame);
  REQUIRE(plain.has_value());
  CHECK(plain->city == twin::city_identity{});
  const twin::city_identity macau{"Macau", 0x3f3d3f9170a6ee94ULL};
  enc.encode_batch({1, 2, 3}, one, frame, macau);
  auto named = dec.decode_batch(frame);
  REQUIRE(named.has_value());
  CHECK(named->city == macau);
  CHECK(named->readings == one);

  twin::batch_ack ack;
  ack.key = {1, 2, 3};
  ack.city = macau;
  auto back = dec.decode_ack(enc.encode_ack(ack, frame));
  REQUIRE(back.has_value());
  CHECK(back->city == macau);
}

TEST_CASE("a batch of an older gateway, without city fields, decodes with no city") {
  // Written word by word as version 1 first shipped it: a root struct of 4 data words and one
  // pointer (no city, no fingerprint), and a list of 2 readings of 3 words each.
  const std::uint64_t n = 2;
  std::vector<std::uint64_t> words{
      0,                                      // segment table
      (4ULL << 32) | (1ULL << 48),            // root: 4 data, 1 ptr
      cluster::ingest_protocol_version,       // protocolVersion
      1,                                      // gateway
      2,                                      // session
      3,                                      // sequence
      1ULL | (7ULL << 32) | ((3 * n) << 35),  // readings: inline composite list of 3n words
      (n << 2) | (3ULL << 32),                // its tag: n elements of 3 data words
      4,
      10,
      0x3ff8000000000000ULL,  // sensor 4, time 10, value 1.5
      5,
      11,
      0x4004000000000000ULL,  // sensor 5, time 11, value 2.5
  };
  words[0] = static_cast<std::uint64_t>(words.size() - 1) << 32;  // one segment of the rest
  std::vector<std::byte> frame(words.size() * 8);
  std::memcpy(frame.data(), words.data(), frame.size());
  cluster::decoder dec;
  auto batch = dec.decode_batch(frame);
  REQUIRE(batch.has_value());
  CHECK(batch->key == twin::batch_key{1, 2, 3});
  CHECK(batch->city == twin::city_identity{});
  const std::vector<twin::reading> expected{{twin::sensor_id{4}, 10, 1.5},
                                            {twin::sensor_id{5}, 11, 2.5}};
  CHECK(batch->readings == expected);
}

TEST_CASE("a broken body after a readable header keeps the batch's key and count") {
  cluster::decoder dec;
  auto frame = batch_frame(1, 3);
  frame.resize(frame.size() + 8);
  auto batch = dec.decode_batch(frame);
  REQUIRE(!batch.has_value());
  CHECK(batch.error().failure == decode_failure::garbage);
  CHECK(batch.error().message == "garbage: 8 bytes after the end of the message");
  CHECK(batch.error().key == twin::batch_key{7, 8, 9});
  CHECK(batch.error().readings == 3);
}

TEST_CASE("trailing bytes after a message are garbage") {
  cluster::decoder dec;
  auto frame = batch_frame(1, 2);
  frame.resize(frame.size() + 16);
  auto batch = dec.decode_batch(frame);
  REQUIRE(!batch.has_value());
  CHECK(batch.error().failure == decode_failure::garbage);
  CHECK(batch.error().message == "garbage: 16 bytes after the end of the message");
}
