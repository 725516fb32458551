#include "node/config_file.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;

namespace {

fs::path temp_dir() {
  static const fs::path dir = [] {
    auto d = fs::temp_directory_path() / ("citytwin-node-config-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

fs::path write_config(const std::string& name, const std::string& text) {
  auto path = temp_dir() / (name + ".yaml");
  std::ofstream(path) << text;
  return path;
}

const std::string known_keys =
    "(known: city, ingest, query, metrics, threads, max_age, max_future, stale_after, lateness, "
    "curve_secret, curve_allow, data_dir, durability, snapshot_every, cluster, cluster_name, "
    "node_id, zone, advertise_host, replication_factor)";

}  // namespace

TEST_CASE("the example node configuration is read whole, its city relative to the file") {
  const fs::path path = fs::path(CITYTWIN_EXAMPLES) / "node.yaml";
  auto c = node::read_node_config_file(path);
  REQUIRE_MESSAGE(c, c.error());
  CHECK(c->city == (fs::path(CITYTWIN_EXAMPLES) / "macau").string());
  CHECK(c->ingest == "tcp://127.0.0.1:7100");
  CHECK(c->query == "tcp://127.0.0.1:7101");
  CHECK(c->metrics == "127.0.0.1:9464");
  CHECK(c->threads == 2u);
  CHECK(c->max_age == "7d");
  CHECK(c->max_future == "5m");
  CHECK_FALSE(c->stale_after);  // commented out: each sensor has its own bound
  CHECK(c->lateness == "1h");
}

TEST_CASE("keys the file leaves out stay unset, and an absolute city is kept as it is") {
  auto path = write_config("partial", "city: /srv/cities/macau\nthreads: 3\n");
  auto c = node::read_node_config_file(path);
  REQUIRE_MESSAGE(c, c.error());
  CHECK(c->city == "/srv/cities/macau");
  CHECK(c->threads == 3u);
  CHECK_FALSE(c->ingest);
  CHECK_FALSE(c->query);
  CHECK_FALSE(c->metrics);
  CHECK_FALSE(c->max_age);
  CHECK_FALSE(c->max_future);
  CHECK_FALSE(c->stale_after);
  CHECK_FALSE(c->lateness);
  CHECK_FALSE(c->curve_secret);
  CHECK_FALSE(c->curve_allow);
}

TEST_CASE("the CURVE keys of a node file are paths relative to the file, absolute ones kept") {
  auto path = write_config("curve",
                           "city: macau\ncurve_secret: keys/node.key\n"
                           "curve_allow: /etc/citytwin/clients\n");
  auto c = node::read_node_config_file(path);
  REQUIRE_MESSAGE(c, c.error());
  CHECK(c->curve_secret == (temp_dir() / "keys/node.key").string());
  CHECK(c->curve_allow == "/etc/citytwin/clients");
}

TEST_CASE("the data directory of a node file is relative to the file, and durability a word") {
  auto path = write_config("storage", "city: macau\ndata_dir: state/macau\ndurability: power\n");
  auto c = node::read_node_config_file(path);
  REQUIRE_MESSAGE(c, c.error());
  CHECK(c->data_dir == (temp_dir() / "state/macau").string());
  CHECK(c->durability == "power");
  auto bad = write_config("durability-bad", "city: macau\ndurability: fsync\n");
  auto b = node::read_node_config_file(bad);
  REQUIRE_FALSE(b);
  CHECK(b.error().find(bad.string() + ":2: field 'durability':") == 0);
  CHECK(b.error().find("fsync") != std::string::npos);
  CHECK(b.error().find("process, power") != std::string::npos);
}

TEST_CASE("the cluster keys of a node file, and a replication factor outside 1-3") {
  auto path = write_config("cluster",
                           "city: macau\ncluster: etcd://10.0.0.1:2379,10.0.0.2:2379\n"
                           "cluster_name: macau-prod\nnode_id: node-a\nzone: taipa\n"
                           "advertise_host: node-a.citytwin\nreplication_factor: 3\n");
  auto c = node::read_node_config_file(path);
  REQUIRE_MESSAGE(c, c.error());
  CHECK(c->cluster == "etcd://10.0.0.1:2379,10.0.0.2:2379");
  CHECK(c->cluster_name == "macau-prod");
  CHECK(c->node_id == "node-a");
  CHECK(c->zone == "taipa");
  CHECK(c->advertise_host == "node-a.citytwin");
  CHECK(c->replication_factor == 3u);
  auto bad = write_config("cluster-rf", "city: macau\nreplication_factor: 4\n");
  auto b = node::read_node_config_file(bad);
  REQUIRE_FALSE(b);
  CHECK(b.error() ==
        bad.string() + ":2: field 'replication_factor': '4' is not a whole number in [1, 3]");
}

TEST_CASE("an unknown key is refused with its file, line and the known keys") {
  auto path = write_config("unknown", "city: macau\nthreds: 2\n");
  auto c = node::read_node_config_file(path);
  REQUIRE_FALSE(c);
  CHECK(c.error() == path.string() + ":2: field 'threds': unknown key 'threds' " + known_keys);
}

TEST_CASE("a bad value is refused with its file, line and field") {
  auto words = write_config("threads-words", "city: macau\nthreads: two\n");
  auto c = node::read_node_config_file(words);
  REQUIRE_FALSE(c);
  CHECK(c.error() ==
        words.string() + ":2: field 'threads': 'two' is not a whole number in [1, 256]");

  auto zero = write_config("threads-zero", "threads: 0\n");
  auto z = node::read_node_config_file(zero);
  REQUIRE_FALSE(z);
  CHECK(z.error() == zero.string() + ":1: field 'threads': '0' is not a whole number in [1, 256]");

  auto blank = write_config("blank", "city: macau\nquery: tcp://127.0.0.1:7101\ningest: ''\n");
  auto b = node::read_node_config_file(blank);
  REQUIRE_FALSE(b);
  CHECK(b.error() == blank.string() + ":3: field 'ingest': must not be empty");

  auto listed = write_config("listed", "metrics: [127.0.0.1, 9464]\n");
  auto l = node::read_node_config_file(listed);
  REQUIRE_FALSE(l);
  CHECK(l.error() == listed.string() + ":1: field 'metrics': expected text");
}

TEST_CASE("a file that is not a map, or is missing, is refused") {
  auto list = write_config("list", "- city\n- macau\n");
  auto c = node::read_node_config_file(list);
  REQUIRE_FALSE(c);
  CHECK(c.error() == list.string() + ":1: expected a map");

  auto missing = temp_dir() / "missing.yaml";
  auto m = node::read_node_config_file(missing);
  REQUIRE_FALSE(m);
  CHECK(m.error() == missing.string() + ": cannot open file");
}
