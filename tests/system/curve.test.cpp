// CURVE end to end: keys from `citytwin keygen`, a node that requires them, feeds and queries with
// and without the right keys, the refusals in /metrics, and an allow-list reloaded on SIGHUP.
#include <doctest/doctest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "node.hpp"

using namespace std::chrono_literals;
using json = nlohmann::json;
using systest::run_cli;
using systest::series;
using systest::small_city;

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

const std::string plain_hint =
    "(the node may require CURVE keys: --curve-server-key and --curve-secret)";

}  // namespace

TEST_CASE("a CURVE node takes feeds and queries only from allowed keys and counts the others") {
  auto dir = systest::make_temp_dir("curve");
  auto node_key = run_cli(dir, "keygen-node", {"keygen", "--out", dir + "/node"});
  REQUIRE_MESSAGE(node_key.code == 0, node_key.errors);
  const auto node_public = trimmed(node_key.output);
  CHECK(node_public.size() == 40u);
  CHECK(trimmed(systest::read_file(dir + "/node.pub")).ends_with(node_public));
  auto again = run_cli(dir, "keygen-again", {"keygen", "--out", dir + "/node"});
  CHECK(again.code == 1);
  CHECK(again.errors ==
        "citytwin keygen: " + dir + "/node.key exists: not replaced (--force replaces it)\n");

  std::filesystem::create_directories(dir + "/clients");
  REQUIRE(run_cli(dir, "keygen-gw", {"keygen", "--out", dir + "/clients/gw"}).code == 0);
  REQUIRE(run_cli(dir, "keygen-late", {"keygen", "--out", dir + "/late"}).code == 0);

  systest::node_process node(
      dir, small_city, {"--curve-secret", dir + "/node.key", "--curve-allow", dir + "/clients"});
  REQUIRE_MESSAGE(node.ready, node.proc->output() << node.proc->errors());
  CHECK(node.proc->output().find("  security: CURVE, node public key " + node_public +
                                 ", 1 client key allowed (from " + dir + "/clients)\n") !=
        std::string::npos);

  const std::vector<std::string> gw_keys{"--curve-server-key", dir + "/node.pub", "--curve-secret",
                                         dir + "/clients/gw.key"};
  // 100 readings: one batch, then the wait for its ack.
  auto feed_args = [&](const std::string& id, const std::vector<std::string>& keys) {
    std::vector<std::string> a{
        "feed",   "--city",  small_city,     "--to", node.ingest,          "--count", "100",
        "--json", "--quiet", "--gateway-id", id,     "--flush-timeout-ms", "1500"};
    a.insert(a.end(), keys.begin(), keys.end());
    return a;
  };

  auto fed = run_cli(dir, "feed-gw", feed_args("1", gw_keys));
  REQUIRE_MESSAGE(fed.code == 0, fed.output << fed.errors);
  CHECK(json::parse(fed.output)["readings_accepted"] == 100);

  // The node's key given inline (Z85) works as well as its file.
  auto asked = run_cli(dir, "query-gw",
                       {"query", "--node", node.query, "--json", "city", "--curve-server-key",
                        node_public, "--curve-secret", dir + "/clients/gw.key"});
  REQUIRE_MESSAGE(asked.code == 0, asked.errors);
  CHECK(json::parse(asked.output)["readings_applied"] == 100);

  auto plain_feed = run_cli(dir, "feed-plain", feed_args("2", {}));
  CHECK(plain_feed.code == 1);
  CHECK(plain_feed.errors.find("1 batches still unacked by " + node.ingest + " after 1500 ms " +
                               plain_hint) != std::string::npos);
  auto late_feed = run_cli(dir, "feed-late",
                           feed_args("3", {"--curve-server-key", dir + "/node.pub",
                                           "--curve-secret", dir + "/late.key"}));
  CHECK(late_feed.code == 1);
  CHECK(late_feed.errors.find("is this client's public key on the node's allow-list") !=
        std::string::npos);
  auto plain_query =
      run_cli(dir, "query-plain", {"query", "--node", node.query, "--timeout-ms", "1000", "city"});
  CHECK(plain_query.code == 1);
  CHECK(plain_query.errors ==
        "citytwin: no reply from " + node.query + " within 1000 ms " + plain_hint + "\n");

  auto m = node.metrics();
  CHECK(series(m, "citytwin_security_curve") == 1);
  CHECK(series(m, "citytwin_security_allowed_keys") == 1);
  // A client refused for its key gives its connection up: once. A plain one reconnects and is
  // refused each time, as `mechanism` or `dropped` (whichever side reads the other's greeting
  // first): at least once.
  // prometheus-cpp writes the labels in name order.
  const auto refusals = [&](const std::string& socket, const std::string& reason) {
    return series(
        m, "citytwin_security_refusals_total{reason=\"" + reason + "\",socket=\"" + socket + "\"}");
  };
  CHECK(refusals("ingest", "unknown_key") == 1);
  CHECK(refusals("ingest", "mechanism") + refusals("ingest", "dropped") >= 1);
  CHECK(refusals("query", "unknown_key") == 0);
  CHECK(refusals("query", "mechanism") + refusals("query", "dropped") >= 1);
  CHECK(refusals("ingest", "crypto") == 0);
  CHECK(refusals("ingest", "protocol") == 0);
  CHECK(series(m, "citytwin_ingest_readings_total{result=\"accepted\"}") == 100);

  // SIGHUP re-reads the allow-list: the new key is let in.
  std::filesystem::copy_file(dir + "/late.pub", dir + "/clients/late.pub");
  REQUIRE(::kill(node.proc->pid(), SIGHUP) == 0);
  CHECK(systest::poll_until(
      [&] {
        return node.proc->output().find("allow-list reloaded: 2 client keys allowed") !=
               std::string::npos;
      },
      10s));
  auto reloaded = run_cli(dir, "feed-late-allowed",
                          feed_args("4", {"--curve-server-key", dir + "/node.pub", "--curve-secret",
                                          dir + "/late.key"}));
  CHECK_MESSAGE(reloaded.code == 0, reloaded.errors);
  CHECK(series(node.metrics(), "citytwin_security_allowed_keys") == 2);
  CHECK(node.proc->stop(10s) == 0);
}

TEST_CASE("a node without keys says it is plain TCP, and half a CURVE setup is refused") {
  auto dir = systest::make_temp_dir("curve-modes");
  systest::node_process plain(dir, small_city);
  REQUIRE(plain.ready);
  CHECK(plain.proc->output().find("  security: plain TCP (no --curve-secret): any client that "
                                  "reaches the ingest and query sockets can send and ask\n") !=
        std::string::npos);
  CHECK(series(plain.metrics(), "citytwin_security_curve") == 0);
  CHECK(plain.proc->stop(10s) == 0);

  REQUIRE(run_cli(dir, "keygen", {"keygen", "--out", dir + "/node"}).code == 0);
  auto half =
      run_cli(dir, "half", {"node", "--city", small_city, "--curve-secret", dir + "/node.key"});
  CHECK(half.code == 1);
  CHECK(half.errors ==
        "citytwin: --curve-secret needs --curve-allow (the client keys to let in)\n");

  std::ofstream(dir + "/clients.txt") << "# gateways\nshort\n";
  auto bad = run_cli(dir, "bad",
                     {"node", "--city", small_city, "--curve-secret", dir + "/node.key",
                      "--curve-allow", dir + "/clients.txt"});
  CHECK(bad.code == 1);
  CHECK(bad.errors ==
        "citytwin: " + dir +
            "/clients.txt:2: not a CURVE key (40 characters of Z85), got 5 characters\n");
}
