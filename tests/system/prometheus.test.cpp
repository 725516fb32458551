// A real Prometheus server scrapes a node: the alerting rules load and evaluate, and every query
// of the Grafana dashboards is valid PromQL that finds the node's series.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "etcd_cluster.hpp"
#include "node.hpp"
#include "skip.hpp"

using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string source_dir = CITYTWIN_SOURCE_DIR;

json prometheus_api(int port, const std::string& path) {
  auto body = systest::http_get(port, path);
  if (body.empty()) return json();
  return json::parse(body, nullptr, false);
}

// The PromQL of every panel of a dashboard, with its template variables set to match anything.
std::vector<std::string> dashboard_queries(const std::string& file) {
  std::ifstream in(file);
  auto d = json::parse(in);
  std::vector<std::string> out;
  for (const auto& p : d["panels"])
    for (const auto& t : p.value("targets", json::array())) {
      auto e = t.value("expr", std::string());
      e = std::regex_replace(e, std::regex(R"(\$\{?(district|instance)\}?)"), ".*");
      if (!e.empty()) out.push_back(e);
    }
  return out;
}

// A real Prometheus on a free port of 127.0.0.1 with the project's rules, scraping `targets`
// (metrics ports) every second; started ready to answer, or the test fails.
struct prometheus_server {
  int port = systest::free_port();
  std::unique_ptr<systest::process> proc;

  prometheus_server(const std::string& binary, const std::string& dir,
                    const std::vector<int>& targets) {
    {
      std::ofstream cfg(dir + "/prometheus.yml");
      cfg << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
          << "rule_files:\n  - " << source_dir << "/observability/prometheus/rules.yml\n"
          << "scrape_configs:\n  - job_name: citytwin\n    static_configs:\n"
          << "      - targets: [";
      for (std::size_t i = 0; i < targets.size(); ++i)
        cfg << (i ? ", " : "") << "'127.0.0.1:" << targets[i] << "'";
      cfg << "]\n";
    }
    proc = std::make_unique<systest::process>(
        std::vector<std::string>{binary, "--config.file=" + dir + "/prometheus.yml",
                                 "--storage.tsdb.path=" + dir + "/data",
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port)},
        dir + "/prometheus.out");
    REQUIRE_MESSAGE(
        systest::poll_until(
            [&] { return systest::http_get(port, "/-/ready").find("Ready") != std::string::npos; },
            30s),
        proc->errors());
  }
};

}  // namespace

TEST_CASE(
    "a real Prometheus server scrapes a node, loads the rules and runs every dashboard query") {
  const std::string prometheus = CITYTWIN_PROMETHEUS;
  if (!testkit::have_tool("prometheus", prometheus, "a real Prometheus server scraping a node"))
    return;
  auto dir = systest::make_temp_dir("prometheus");
  systest::node_process node(dir, systest::small_city);
  REQUIRE_MESSAGE(node.ready, node.proc->errors());
  auto feed = systest::run_cli(
      dir, "feed",
      {"feed", "--city", systest::small_city, "--to", node.ingest, "--count", "2000", "--quiet"});
  REQUIRE_MESSAGE(feed.code == 0, feed.errors);

  prometheus_server server(prometheus, dir, {node.metrics_port});
  const int port = server.port;

  // The node's district gauges arrive through a real scrape.
  auto query = [&](const std::string& promql) {
    return prometheus_api(port, "/api/v1/query?query=" + systest::url_encode(promql));
  };
  REQUIRE(systest::poll_until(
      [&] {
        auto r = query("citytwin_district_readings_total");
        return r.is_object() && r["status"] == "success" && r["data"]["result"].size() == 3;
      },
      30s));

  // Every rule group loads, and every rule evaluates without error.
  REQUIRE(systest::poll_until(
      [&] {
        auto r = prometheus_api(port, "/api/v1/rules");
        if (!r.is_object() || r["data"]["groups"].empty()) return false;
        for (const auto& g : r["data"]["groups"])
          for (const auto& rule : g["rules"])
            if (rule["health"] != "ok") return false;
        return true;
      },
      30s));
  auto rules = prometheus_api(port, "/api/v1/rules");
  std::size_t rule_count = 0;
  for (const auto& g : rules["data"]["groups"]) rule_count += g["rules"].size();
  CHECK(rule_count >= 8);

  // Every dashboard query parses and evaluates; the gauge panels find the node's series.
  std::set<std::string> empty;
  for (auto file : {"citytwin-city.json", "citytwin-ingest.json"}) {
    for (const auto& q : dashboard_queries(source_dir + "/observability/grafana/" + file)) {
      auto r = query(q);
      CHECK_MESSAGE(r["status"] == "success", file << ": " << q << " -> " << r.dump());
      if (r["data"]["result"].empty()) empty.insert(q);
    }
  }
  // Rates need two samples and some series only exist under load; the plain gauges must be there.
  for (const auto& q : empty) {
    bool gauge_panel =
        q.find("citytwin_district_") != std::string::npos && q.find("rate(") == std::string::npos;
    CHECK_MESSAGE(!gauge_panel, "no series for " << q);
  }
  server.proc->stop(10s);
  CHECK(node.proc->stop(10s) == 0);
}

TEST_CASE(
    "a real Prometheus server scrapes a cluster of two nodes: members, placement, coordinator") {
  const std::string prometheus = CITYTWIN_PROMETHEUS;
  if (!testkit::have_tool("prometheus", prometheus, "a real Prometheus server scraping a cluster"))
    return;
  if (!testkit::have_tool("etcd", testkit::etcd_binary(), "a real Prometheus scraping a cluster"))
    return;
  testkit::etcd_cluster etcd(testkit::etcd_binary(), "prometheus-cluster");
  auto dir = systest::make_temp_dir("prometheus-cluster");
  std::vector<std::unique_ptr<systest::node_process>> nodes;
  for (const auto* id : {"a", "b"}) {
    std::filesystem::create_directories(dir + "/" + id);
    nodes.push_back(std::make_unique<systest::node_process>(
        dir + "/" + id, systest::small_city,
        std::vector<std::string>{"--cluster", etcd.url(), "--node-id", id}));
    REQUIRE_MESSAGE(nodes.back()->ready, nodes.back()->proc->errors());
  }
  prometheus_server server(prometheus, dir, {nodes[0]->metrics_port, nodes[1]->metrics_port});
  const int port = server.port;
  auto value = [&](const std::string& promql) -> double {
    auto r = prometheus_api(port, "/api/v1/query?query=" + systest::url_encode(promql));
    if (!r.is_object() || r["status"] != "success" || r["data"]["result"].size() != 1) return -1;
    return std::stod(r["data"]["result"][0]["value"][1].get<std::string>());
  };
  // Through real scrapes: both nodes see two members up, one coordinator between them, the
  // small city's 3 districts owned once and replicated once, one epoch.
  REQUIRE(systest::poll_until(
      [&] {
        return value("min(citytwin_members{state=\"up\"})") == 2 &&
               value("sum(citytwin_cluster_coordinator)") == 1 &&
               value("sum(citytwin_districts_owned)") == 3 &&
               value("sum(citytwin_districts_replicated)") == 3 &&
               value("max(citytwin_placement_epoch) - min(citytwin_placement_epoch)") == 0;
      },
      30s));
  // The cluster panels of the ingest dashboard find these series.
  for (const auto& q :
       dashboard_queries(source_dir + "/observability/grafana/citytwin-ingest.json")) {
    bool cluster_gauge = (q.find("citytwin_members") != std::string::npos ||
                          q.find("citytwin_districts_") != std::string::npos ||
                          q.find("citytwin_placement_epoch") != std::string::npos ||
                          q.find("citytwin_cluster_coordinator") != std::string::npos ||
                          q.find("citytwin_cluster_store_reachable") != std::string::npos) &&
                         q.find("rate(") == std::string::npos;
    if (!cluster_gauge) continue;
    auto r = prometheus_api(port, "/api/v1/query?query=" + systest::url_encode(q));
    CHECK_MESSAGE(r["status"] == "success", q);
    CHECK_MESSAGE(!r["data"]["result"].empty(), "no series for " << q);
  }
  server.proc->stop(10s);
  for (auto& n : nodes) CHECK(n->proc->stop(15s) == 0);
}
