#include <doctest/doctest.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "observability/probes.hpp"
#include "observability/storage_probe.hpp"
#include "skip.hpp"

namespace {

const std::filesystem::path observability_dir =
    std::filesystem::path(CITYTWIN_EXAMPLES).parent_path() / "observability";

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  REQUIRE_MESSAGE(in.good(), "cannot read " << p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every metric family a node exports, from a registry holding every probe.
std::set<std::string> exported_families() {
  twin::city c;
  c.districts.push_back({twin::district_id{0}, "a", "A", {}, 1, 1});
  c.index();
  observability::metrics_registry registry;
  observability::probes probes(registry, c);
  observability::storage_probe storage(registry);
  std::set<std::string> out;
  std::istringstream in(registry.scrape_text());
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    auto name = line.substr(7, line.find(' ', 7) - 7);
    out.insert(name);
    if (line.ends_with(" histogram"))
      for (const char* suffix : {"_bucket", "_sum", "_count"}) out.insert(name + suffix);
  }
  return out;
}

// The citytwin_* names a text refers to.
std::set<std::string> referenced_metrics(const std::string& text) {
  static const std::regex name("citytwin_[a-z0-9_]+");
  std::set<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator();
       ++it)
    out.insert(it->str());
  return out;
}

}  // namespace

TEST_CASE("the dashboards are valid JSON and query only metrics the node exports") {
  auto families = exported_families();
  for (const char* file : {"citytwin-city.json", "citytwin-ingest.json"}) {
    CAPTURE(file);
    auto text = read_text(observability_dir / "grafana" / file);
    auto dashboard = nlohmann::json::parse(text);
    REQUIRE(dashboard.at("panels").is_array());
    CHECK(dashboard.at("panels").size() >= 10);
    std::set<int> ids;
    for (const auto& panel : dashboard.at("panels")) {
      CHECK(ids.insert(panel.at("id").get<int>()).second);
      REQUIRE(panel.at("targets").size() >= 1);
      for (const auto& target : panel.at("targets")) {
        auto expr = target.at("expr").get<std::string>();
        auto names = referenced_metrics(expr);
        CHECK_MESSAGE(!names.empty(), expr);
        for (const auto& n : names) CHECK_MESSAGE(families.count(n) == 1, n << " in " << expr);
      }
    }
  }
  // The city dashboard shows every per-district gauge.
  auto city_names = referenced_metrics(read_text(observability_dir / "grafana/citytwin-city.json"));
  for (const auto& f : families)
    if (f.rfind("citytwin_district_", 0) == 0) CHECK_MESSAGE(city_names.count(f) == 1, f);
}

TEST_CASE("the alerting rules refer only to exported metrics") {
  auto families = exported_families();
  auto rules = read_text(observability_dir / "prometheus/rules.yml");
  auto names = referenced_metrics(rules);
  CHECK(names.size() >= 8);
  for (const auto& n : names) CHECK_MESSAGE(families.count(n) == 1, n);
  CHECK(rules.find("up{job=\"citytwin\"} == 0") != std::string::npos);  // node down
  auto config = read_text(observability_dir / "prometheus/prometheus.yml");
  CHECK(config.find("rules.yml") != std::string::npos);
}

TEST_CASE("promtool accepts the rules and the scrape config") {
  const std::string promtool = CITYTWIN_PROMTOOL;
  if (!testkit::have_tool("promtool", promtool, "promtool check rules and check config")) return;
  auto dir = observability_dir / "prometheus";
  CHECK(std::system((promtool + " check rules '" + (dir / "rules.yml").string() + "'").c_str()) ==
        0);
  CHECK(std::system(
            (promtool + " check config '" + (dir / "prometheus.yml").string() + "'").c_str()) == 0);
}
