#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <cmath>
#include <map>
#include <sstream>
#include <string>

#include "observability/probes.hpp"

namespace {

// Every sample of a scrape: "name{labels}" -> value text, comments left out.
std::map<std::string, std::string> samples(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    out[line.substr(0, space)] = line.substr(space + 1);
  }
  return out;
}

// Only the samples whose name starts with `prefix`.
std::map<std::string, std::string> samples_of(const std::string& text, const std::string& prefix) {
  std::map<std::string, std::string> out;
  for (auto& [series, value] : samples(text))
    if (series.rfind(prefix, 0) == 0) out.emplace(series, value);
  return out;
}

twin::city two_districts() {
  twin::city c;
  c.name = "test";
  c.districts.push_back({twin::district_id{0}, "fatima", "Fatima", {}, 1000, 1});
  c.districts.push_back({twin::district_id{1}, "taipa", "Taipa", {}, 2000, 2});
  c.index();
  return c;
}

}  // namespace

TEST_CASE("ingest probe exports exactly its series with the values reported") {
  observability::metrics_registry registry;
  observability::ingest_probe probe(registry);
  twin::reject_counts rejected;
  rejected[twin::reject_reason::unknown_sensor] = 2;
  rejected[twin::reject_reason::non_finite] = 1;
  probe.batch_done(twin::ack_status::applied, 5, rejected, 0.0003);
  probe.batch_done(twin::ack_status::overloaded, 0, {}, 2.0);
  probe.decode_failed();
  probe.decode_failed();
  probe.ack_unsent();
  probe.frame_dropped(twin::frame_drop::no_payload);
  probe.in_flight(3);

  std::map<std::string, std::string> expected{
      {"citytwin_ingest_readings_total{result=\"accepted\"}", "5"},
      {"citytwin_ingest_readings_total{result=\"unknown_sensor\"}", "2"},
      {"citytwin_ingest_readings_total{result=\"non_finite\"}", "1"},
      {"citytwin_ingest_readings_total{result=\"out_of_range\"}", "0"},
      {"citytwin_ingest_readings_total{result=\"too_old\"}", "0"},
      {"citytwin_ingest_readings_total{result=\"too_new\"}", "0"},
      {"citytwin_ingest_readings_total{result=\"duplicate\"}", "0"},
      {"citytwin_ingest_readings_total{result=\"out_of_order\"}", "0"},
      {"citytwin_ingest_readings_total{result=\"overloaded\"}", "0"},
      {"citytwin_ingest_readings_total{result=\"malformed\"}", "0"},
      {"citytwin_ingest_readings_total{result=\"wrong_version\"}", "0"},
      {"citytwin_ingest_readings_total{result=\"too_late\"}", "0"},
      {"citytwin_ingest_readings_total{result=\"stopping\"}", "0"},
      {"citytwin_ingest_readings_total{result=\"wrong_city\"}", "0"},
      {"citytwin_ingest_readings_total{result=\"storage_unavailable\"}", "0"},
      {"citytwin_ingest_batches_total{result=\"applied\"}", "1"},
      {"citytwin_ingest_batches_total{result=\"duplicate\"}", "0"},
      {"citytwin_ingest_batches_total{result=\"overloaded\"}", "1"},
      {"citytwin_ingest_batches_total{result=\"malformed\"}", "0"},
      {"citytwin_ingest_batches_total{result=\"wrong_version\"}", "0"},
      {"citytwin_ingest_batches_total{result=\"stopping\"}", "0"},
      {"citytwin_ingest_batches_total{result=\"wrong_city\"}", "0"},
      {"citytwin_ingest_batches_total{result=\"storage_unavailable\"}", "0"},
      {"citytwin_ingest_decode_failures_total", "2"},
      {"citytwin_ingest_acks_unsent_total", "1"},
      {"citytwin_ingest_frames_dropped_total{reason=\"no_payload\"}", "1"},
      {"citytwin_ingest_batches_in_flight", "3"},
      {"citytwin_ingest_batch_latency_seconds_count", "2"},
      {"citytwin_ingest_batch_latency_seconds_sum", "2.0003"},
      {"citytwin_ingest_batch_latency_seconds_bucket{le=\"0.0001\"}", "0"},
      {"citytwin_ingest_batch_latency_seconds_bucket{le=\"0.00025\"}", "0"},
      {"citytwin_ingest_batch_latency_seconds_bucket{le=\"0.0005\"}", "1"},
      {"citytwin_ingest_batch_latency_seconds_bucket{le=\"0.001\"}", "1"},
      {"citytwin_ingest_batch_latency_seconds_bucket{le=\"0.0025\"}", "1"},
      {"citytwin_ingest_batch_latency_seconds_bucket{le=\"0.005\"}", "1"},
      {"citytwin_ingest_batch_latency_seconds_bucket{le=\"0.01\"}", "1"},
      {"citytwin_ingest_batch_latency_seconds_bucket{le=\"0.025\"}", "1"},
      {"citytwin_ingest_batch_latency_seconds_bucket{le=\"0.05\"}", "1"},
      {"citytwin_ingest_batch_latency_seconds_bucket{le=\"0.1\"}", "1"},
      {"citytwin_ingest_batch_latency_seconds_bucket{le=\"0.25\"}", "1"},
      {"citytwin_ingest_batch_latency_seconds_bucket{le=\"0.5\"}", "1"},
      {"citytwin_ingest_batch_latency_seconds_bucket{le=\"1\"}", "1"},
      {"citytwin_ingest_batch_latency_seconds_bucket{le=\"2.5\"}", "2"},
      {"citytwin_ingest_batch_latency_seconds_bucket{le=\"5\"}", "2"},
      {"citytwin_ingest_batch_latency_seconds_bucket{le=\"10\"}", "2"},
      {"citytwin_ingest_batch_latency_seconds_bucket{le=\"+Inf\"}", "2"},
  };
  CHECK(samples(registry.scrape_text()) == expected);
}

TEST_CASE("city probe publishes one series per district and NaN where there is no data") {
  auto city = two_districts();
  observability::metrics_registry registry;
  observability::city_probe probe(registry, city);

  twin::district_indicators x;
  x.mean_speed_kmh = 42.5;
  x.congestion_index = 0.25;
  x.pm25_ug_m3 = 12;
  x.no2_ug_m3 = 30.5;
  x.co2_ppm = 415;
  x.noise_db = 61.5;
  x.crowding = 0.75;
  x.visitors = 1500;
  x.waste_fill_pct = 45;
  x.stale_sensors = 2;
  x.active_alerts = 1;
  probe.update(twin::district_id{1}, x, 10, 4);
  probe.update(twin::district_id{1}, x, 25, 4);

  auto taipa = samples_of(registry.scrape_text(), "citytwin_district_");
  std::map<std::string, std::string> expected{
      {"citytwin_district_speed_kmh{district=\"taipa\"}", "42.5"},
      {"citytwin_district_congestion_index{district=\"taipa\"}", "0.25"},
      {"citytwin_district_pm25_ug_m3{district=\"taipa\"}", "12"},
      {"citytwin_district_no2_ug_m3{district=\"taipa\"}", "30.5"},
      {"citytwin_district_co2_ppm{district=\"taipa\"}", "415"},
      {"citytwin_district_noise_db{district=\"taipa\"}", "61.5"},
      {"citytwin_district_crowding_ratio{district=\"taipa\"}", "0.75"},
      {"citytwin_district_visitors{district=\"taipa\"}", "1500"},
      {"citytwin_district_waste_fill_ratio{district=\"taipa\"}", "0.45"},
      {"citytwin_district_stale_sensors{district=\"taipa\"}", "2"},
      {"citytwin_district_alerts_active{district=\"taipa\"}", "1"},
      {"citytwin_district_sensors_reporting{district=\"taipa\"}", "4"},
      {"citytwin_district_readings_total{district=\"taipa\"}", "25"},
  };
  for (auto& [series, value] : expected) {
    CAPTURE(series);
    REQUIRE(taipa.count(series) == 1);
    CHECK(taipa.at(series) == value);
  }
  // Both districts have every series, and nothing else is exported.
  CHECK(taipa.size() == 2 * expected.size());
  CHECK(taipa.at("citytwin_district_pm25_ug_m3{district=\"fatima\"}") == "Nan");
  CHECK(taipa.at("citytwin_district_waste_fill_ratio{district=\"fatima\"}") == "Nan");
  CHECK(taipa.at("citytwin_district_stale_sensors{district=\"fatima\"}") == "0");
  CHECK(taipa.at("citytwin_district_readings_total{district=\"fatima\"}") == "0");
}

TEST_CASE("city probe keeps its readings counter monotonic when a district restarts lower") {
  auto city = two_districts();
  observability::metrics_registry registry;
  observability::city_probe probe(registry, city);
  probe.update(twin::district_id{0}, {}, 100, 1);
  probe.update(twin::district_id{0}, {}, 40, 1);  // restored from an older snapshot
  probe.update(twin::district_id{0}, {}, 50, 1);
  auto s = samples(registry.scrape_text());
  CHECK(s.at("citytwin_district_readings_total{district=\"fatima\"}") == "110");
}

TEST_CASE("node probe reports the deepest mailbox per actor type, alerts and build info") {
  observability::metrics_registry registry;
  observability::node_probe probe(registry);
  probe.observe_mailbox(observability::actor_type::district, 3);
  probe.observe_mailbox(observability::actor_type::district, 17);
  probe.observe_mailbox(observability::actor_type::district, 5);
  probe.observe_mailbox(observability::actor_type::query, 1);
  probe.districts_owned(6);
  probe.placement_epoch(12);
  probe.members(observability::member_state::up, 3);
  probe.alert_raised(twin::severity::critical);
  probe.alert_raised(twin::severity::critical);
  probe.alert_raised(twin::severity::info);
  probe.coalesce_limit_hit();

  // Nothing is published before the tick.
  auto before = samples(registry.scrape_text());
  CHECK(before.at("citytwin_actor_mailbox_depth{actor=\"district\"}") == "0");
  probe.publish_mailboxes();
  probe.observe_mailbox(observability::actor_type::district, 2);  // belongs to the next tick

  std::map<std::string, std::string> expected{
      {"citytwin_actor_mailbox_depth{actor=\"district\"}", "17"},
      {"citytwin_actor_mailbox_depth{actor=\"sensor_cluster\"}", "0"},
      {"citytwin_actor_mailbox_depth{actor=\"ingest_router\"}", "0"},
      {"citytwin_actor_mailbox_depth{actor=\"query\"}", "1"},
      {"citytwin_districts_owned", "6"},
      {"citytwin_districts_replicated", "0"},
      {"citytwin_cluster_coordinator", "0"},
      {"citytwin_cluster_store_reachable", "1"},
      {"citytwin_cluster_placements_published_total", "0"},
      {"citytwin_cluster_failovers_total", "0"},
      {"citytwin_cluster_handoffs_total", "0"},
      {"citytwin_placement_epoch", "12"},
      {"citytwin_members{state=\"joining\"}", "0"},
      {"citytwin_members{state=\"up\"}", "3"},
      {"citytwin_members{state=\"leaving\"}", "0"},
      {"citytwin_members{state=\"down\"}", "0"},
      {"citytwin_alerts_total{severity=\"info\"}", "1"},
      {"citytwin_alerts_total{severity=\"warning\"}", "0"},
      {"citytwin_alerts_total{severity=\"critical\"}", "2"},
      {"citytwin_coalesce_limit_hits_total", "1"},
      {"citytwin_build_info{version=\"0.1.0\"}", "1"},
  };
  CHECK(samples(registry.scrape_text()) == expected);
  probe.publish_mailboxes();
  CHECK(samples(registry.scrape_text()).at("citytwin_actor_mailbox_depth{actor=\"district\"}") ==
        "2");
}

namespace {

// A minimal HTTP/1.0 GET: enough to read what a Prometheus server would scrape.
std::string http_get(std::uint16_t port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  REQUIRE(::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size()));
  std::string response;
  char buf[4096];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    response.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return response;
}

}  // namespace

TEST_CASE("the exposer serves /metrics over HTTP on the port it bound") {
  auto city = two_districts();
  observability::metrics_registry registry;
  observability::probes probes(registry, city);
  probes.ingest.decode_failed();

  auto exposer = observability::metrics_exposer::start(registry, "127.0.0.1:0");
  REQUIRE(exposer.has_value());
  auto port = (*exposer)->port();
  REQUIRE(port > 0);

  auto response = http_get(port, "/metrics");
  CHECK(response.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(response.find("\r\n\r\n") != std::string::npos);
  auto body = response.substr(response.find("\r\n\r\n") + 4);
  // The exposer adds its own exposer_* series; ours come through unchanged.
  CHECK(samples_of(body, "citytwin_") == samples_of(registry.scrape_text(), "citytwin_"));
  CHECK(samples_of(body, "citytwin_").size() > 50);
  CHECK(samples(body).at("citytwin_ingest_decode_failures_total") == "1");
  CHECK(samples(body).at("citytwin_build_info{version=\"0.1.0\"}") == "1");

  // The same port twice is an error value naming the address, not an exception.
  auto address = "127.0.0.1:" + std::to_string(port);
  auto second = observability::metrics_exposer::start(registry, address);
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error().find("cannot serve metrics on '" + address + "'") == 0);
}
