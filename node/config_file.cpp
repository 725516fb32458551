#include "node/config_file.hpp"

#include <set>

#include <yaml-cpp/yaml.h>

namespace node {

namespace {

void read_text(const YAML::Node& y, const char* key, std::optional<std::string>& into) {
  if (y[key]) into = y[key].as<std::string>();
}

}  // namespace

twin::expected<node_config_file, std::string> read_node_config_file(
    const std::filesystem::path& path) {
  const std::string file = path.string();
  auto where = [&](const YAML::Mark& m) {
    return file + (m.line >= 0 ? ":" + std::to_string(m.line + 1) : std::string());
  };
  node_config_file c;
  try {
    const YAML::Node y = YAML::LoadFile(file);
    if (!y.IsMap()) return twin::unexpected{where(y.Mark()) + ": expected a map of settings"};
    static const std::set<std::string> known{"city",    "ingest",  "query",      "metrics",
                                             "threads", "max_age", "max_future", "stale_after"};
    for (const auto& kv : y) {
      auto key = kv.first.as<std::string>();
      if (!known.count(key))
        return twin::unexpected{where(kv.first.Mark()) + ": field '" + key +
                                "': unknown key (known: city, ingest, query, metrics, threads, "
                                "max_age, max_future, stale_after)"};
    }
    if (y["city"]) {
      auto city = std::filesystem::path(y["city"].as<std::string>());
      if (!city.empty()) c.city = (city.is_absolute() ? city : path.parent_path() / city).string();
    }
    read_text(y, "ingest", c.ingest);
    read_text(y, "query", c.query);
    read_text(y, "metrics", c.metrics);
    if (y["threads"]) c.threads = y["threads"].as<unsigned>();
    read_text(y, "max_age", c.max_age);
    read_text(y, "max_future", c.max_future);
    read_text(y, "stale_after", c.stale_after);
  } catch (const YAML::BadFile&) {
    return twin::unexpected{file + ": cannot open file"};
  } catch (const YAML::Exception& e) {
    return twin::unexpected{where(e.mark) + ": " + e.msg};
  }
  return c;
}

}  // namespace node
