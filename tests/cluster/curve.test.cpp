#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include <doctest/doctest.h>

#include "cluster/curve.hpp"
#include "cluster/gateway.hpp"
#include "cluster/ingest_server.hpp"
#include "cluster/query_client.hpp"
#include "cluster/query_server.hpp"

namespace fs = std::filesystem;

namespace {

using namespace std::chrono_literals;

fs::path curve_dir() {
  static const fs::path dir = [] {
    auto d = fs::temp_directory_path() / ("citytwin-curve-" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

fs::path write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
  return path;
}

// Applies every reading at once.
class accept_all_sink final : public twin::batch_sink {
 public:
  void submit(twin::reading_batch_ptr batch, std::function<void(twin::batch_ack)> done) override {
    ++batches;
    twin::batch_ack ack;
    ack.key = batch->key;
    ack.accepted = static_cast<std::uint32_t>(batch->readings.size());
    done(std::move(ack));
  }
  std::atomic<int> batches{0};
};

// Answers every query with an empty city view named "curve".
class city_handler final : public twin::query_handler {
 public:
  void query(twin::query_request, std::function<void(twin::query_reply)> done) override {
    twin::city_view v;
    v.name = "curve";
    done(twin::query_reply{std::move(v)});
  }
};

class refusal_count final : public cluster::curve_observer {
 public:
  void refused(cluster::curve_refusal reason) override {
    ++counts[static_cast<std::size_t>(reason)];
  }
  std::uint64_t of(cluster::curve_refusal r) const { return counts[static_cast<std::size_t>(r)]; }
  // The refusal is counted on the server's I/O thread: wait (bounded) for the first.
  bool wait_for(cluster::curve_refusal r) const {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (of(r) == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(2ms);
    return of(r) > 0;
  }
  bool wait_for_count(cluster::curve_refusal r, std::uint64_t n) const {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (of(r) < n && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(2ms);
    return of(r) == n;
  }
  // A plain client is refused as `mechanism` when the server reads its greeting first, and as
  // `dropped` when the client saw the mismatch and closed first: a race of the two greetings.
  bool wait_for_plain() const {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (plain() == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(2ms);
    return plain() > 0;
  }
  std::uint64_t plain() const {
    return of(cluster::curve_refusal::mechanism) + of(cluster::curve_refusal::dropped);
  }
  std::array<std::atomic<std::uint64_t>, cluster::curve_refusal_count> counts{};
};

std::vector<twin::reading> readings(std::size_t n) {
  std::vector<twin::reading> r(n);
  for (std::size_t i = 0; i < n; ++i)
    r[i] = {twin::sensor_id{static_cast<std::uint32_t>(i)},
            1'700'000'000'000 + static_cast<twin::time_ms>(i), 1.0};
  return r;
}

// A node's keys and one allowed client's.
struct curve_setup {
  cluster::curve_key_pair node = cluster::curve_generate_key_pair();
  cluster::curve_key_pair allowed = cluster::curve_generate_key_pair();
  cluster::curve_key_pair stranger = cluster::curve_generate_key_pair();
  refusal_count refusals;

  cluster::curve_server_keys server() const {
    return {node.secret_z85,
            std::make_shared<cluster::curve_allow_list>(std::vector{allowed.public_z85})};
  }
  cluster::curve_client_keys client(const cluster::curve_key_pair& own) const {
    return {node.public_z85, own};
  }
};

cluster::gateway_options gateway_to(const std::string& endpoint,
                                    std::optional<cluster::curve_client_keys> curve) {
  cluster::gateway_options o;
  o.endpoint = endpoint;
  o.gateway_id = 7;
  o.session = 70;
  o.credit_wait_max_ms = 2000;
  o.curve = std::move(curve);
  return o;
}

}  // namespace

TEST_CASE("keygen writes a key pair whose public key derives from its secret, the secret 0600") {
  const auto base = curve_dir() / "keygen" / "node";
  fs::create_directories(base.parent_path());
  const auto keys = cluster::curve_generate_key_pair();
  CHECK(keys.public_z85.size() == 40u);
  CHECK(keys.secret_z85.size() == 40u);
  CHECK(cluster::is_curve_key(keys.public_z85));
  CHECK(cluster::is_curve_key(keys.secret_z85));
  CHECK(keys.public_z85 != keys.secret_z85);
  REQUIRE(cluster::write_curve_key_pair(base, keys, false).has_value());

  const auto secret = cluster::read_curve_key(base.string() + ".key");
  const auto pub = cluster::read_curve_key(base.string() + ".pub");
  REQUIRE(secret.has_value());
  REQUIRE(pub.has_value());
  CHECK(*secret == keys.secret_z85);
  CHECK(*pub == keys.public_z85);
  CHECK(cluster::curve_public_of(*secret).value() == keys.public_z85);
  struct stat st {};
  REQUIRE(::stat((base.string() + ".key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat((base.string() + ".pub").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
}

TEST_CASE("keygen refuses to replace a key file unless forced") {
  const auto base = curve_dir() / "force" / "client";
  fs::create_directories(base.parent_path());
  const auto first = cluster::curve_generate_key_pair();
  const auto second = cluster::curve_generate_key_pair();
  REQUIRE(cluster::write_curve_key_pair(base, first, false).has_value());
  auto again = cluster::write_curve_key_pair(base, second, false);
  REQUIRE(!again.has_value());
  CHECK(again.error() == base.string() + ".key exists: not replaced (--force replaces it)");
  CHECK(cluster::read_curve_key(base.string() + ".key").value() == first.secret_z85);
  REQUIRE(cluster::write_curve_key_pair(base, second, true).has_value());
  CHECK(cluster::read_curve_key(base.string() + ".key").value() == second.secret_z85);
  CHECK(cluster::read_curve_key(base.string() + ".pub").value() == second.public_z85);
}

TEST_CASE("a key file error names the file and the line") {
  const auto k = cluster::curve_generate_key_pair();
  const auto path = write_text(curve_dir() / "bad" / "clients.txt",
                               "# gateways\n\n" + k.public_z85 + "\n  not-a-key  \n");
  auto keys = cluster::read_curve_keys(path);
  REQUIRE(!keys.has_value());
  CHECK(keys.error() ==
        path.string() + ":4: not a CURVE key (40 characters of Z85), got 9 characters");

  // A 40-character line with a character outside Z85.
  const auto quoted =
      write_text(curve_dir() / "bad" / "quoted.pub", "\"" + k.public_z85.substr(1) + "\n");
  CHECK(cluster::read_curve_key(quoted).error() ==
        quoted.string() + ":1: not a CURVE key (40 characters of Z85), got 40 characters");

  const auto two =
      write_text(curve_dir() / "bad" / "two.key", k.secret_z85 + "\n" + k.public_z85 + "\n");
  CHECK(cluster::read_curve_key(two).error() ==
        two.string() + ": holds 2 keys, a key file holds one");
  CHECK(cluster::read_curve_key(curve_dir() / "bad" / "missing.key").error() ==
        "cannot read " + (curve_dir() / "bad" / "missing.key").string());
}

TEST_CASE("an allow-list is a file of keys with comments, or a folder of .pub files") {
  const auto a = cluster::curve_generate_key_pair();
  const auto b = cluster::curve_generate_key_pair();
  const auto c = cluster::curve_generate_key_pair();
  const auto file = write_text(curve_dir() / "allow" / "clients.txt",
                               "# the gateways of the east side\n" + a.public_z85 + "\n\n" +
                                   b.public_z85 + "   \n# retired: " + c.public_z85 + "\n");
  auto keys = cluster::curve_allow_list::read(file);
  REQUIRE_MESSAGE(keys.has_value(), keys.error());
  CHECK(*keys == std::vector{a.public_z85, b.public_z85});
  cluster::curve_allow_list list(*keys);
  CHECK(list.size() == 2u);
  CHECK(list.allows(a.public_z85));
  CHECK(list.allows(b.public_z85));
  CHECK_FALSE(list.allows(c.public_z85));

  const auto dir = curve_dir() / "allow" / "clients.d";
  fs::create_directories(dir);
  REQUIRE(cluster::write_curve_key_pair(dir / "gw1", a, false).has_value());
  write_text(dir / "gw2.pub", c.public_z85 + "\n");
  write_text(dir / "README", "not a key\n");
  auto from_dir = cluster::curve_allow_list::read(dir);
  REQUIRE_MESSAGE(from_dir.has_value(), from_dir.error());
  // Only the .pub files, in name order; the secret next to one is not read.
  CHECK(*from_dir == std::vector{a.public_z85, c.public_z85});

  list.replace(*from_dir);
  CHECK(list.size() == 2u);
  CHECK(list.allows(c.public_z85));
  CHECK_FALSE(list.allows(b.public_z85));

  write_text(dir / "gw3.pub", "garbage\n");
  CHECK(cluster::curve_allow_list::read(dir).error() ==
        (dir / "gw3.pub").string() +
            ":1: not a CURVE key (40 characters of Z85), got 7 characters");
}

TEST_CASE("a client's CURVE flags: none is plain, a key inline or from its file") {
  CHECK(cluster::curve_client_keys_from("", "").value() == std::nullopt);
  CHECK(cluster::curve_client_keys_from("", "me.key").error() ==
        "--curve-secret needs --curve-server-key (the node's key)");
  const auto node = cluster::curve_generate_key_pair();
  const auto me = cluster::curve_generate_key_pair();
  const auto base = curve_dir() / "client" / "me";
  fs::create_directories(base.parent_path());
  REQUIRE(cluster::write_curve_key_pair(base, me, false).has_value());
  const auto node_pub = write_text(curve_dir() / "client" / "node.pub", node.public_z85 + "\n");

  auto inline_key = cluster::curve_client_keys_from(node.public_z85, base.string() + ".key");
  REQUIRE_MESSAGE(inline_key.has_value(), inline_key.error());
  REQUIRE(inline_key->has_value());
  CHECK((*inline_key)->server_public_z85 == node.public_z85);
  CHECK((*inline_key)->own.public_z85 == me.public_z85);
  CHECK((*inline_key)->own.secret_z85 == me.secret_z85);

  auto from_file = cluster::curve_client_keys_from(node_pub.string(), "");
  REQUIRE(from_file.has_value());
  CHECK((*from_file)->server_public_z85 == node.public_z85);
  // No secret given: a fresh pair of its own.
  CHECK(cluster::curve_public_of((*from_file)->own.secret_z85).value() ==
        (*from_file)->own.public_z85);

  CHECK(cluster::curve_client_keys_from("nokey.pub", "").error() ==
        "--curve-server-key: cannot read nokey.pub");
}

TEST_CASE("a CURVE ingest server acks an allowed client and refuses unknown and plain ones") {
  curve_setup keys;
  accept_all_sink sink;
  cluster::ingest_server_options options;
  options.curve = keys.server();
  options.curve_refusals = &keys.refusals;
  cluster::ingest_server server(sink, options);
  auto endpoint = server.start();
  REQUIRE(endpoint.has_value());

  cluster::gateway allowed(gateway_to(*endpoint, keys.client(keys.allowed)));
  REQUIRE(allowed.connect().has_value());
  REQUIRE(allowed.send(readings(10)).has_value());
  REQUIRE(allowed.send(readings(5)).has_value());
  auto flushed = allowed.flush(5000);
  REQUIRE_MESSAGE(flushed.has_value(), flushed.error().message);
  CHECK(flushed->batches_acked == 2u);
  CHECK(flushed->readings_accepted == 15u);

  cluster::gateway stranger(gateway_to(*endpoint, keys.client(keys.stranger)));
  REQUIRE(stranger.connect().has_value());
  REQUIRE(stranger.send(readings(10)).has_value());
  CHECK(keys.refusals.wait_for(cluster::curve_refusal::unknown_key));
  auto refused = stranger.flush(300);
  REQUIRE(!refused.has_value());
  CHECK(refused.error().what == cluster::gateway_error::kind::timeout);
  CHECK(refused.error().message == "1 batches still unacked by " + *endpoint + " after 300 ms" +
                                       cluster::curve_timeout_hint(true));

  cluster::gateway plain(gateway_to(*endpoint, std::nullopt));
  REQUIRE(plain.connect().has_value());
  REQUIRE(plain.send(readings(10)).has_value());
  CHECK(keys.refusals.wait_for_plain());
  auto plain_flushed = plain.flush(300);
  REQUIRE(!plain_flushed.has_value());
  CHECK(plain_flushed.error().message == "1 batches still unacked by " + *endpoint +
                                             " after 300 ms" + cluster::curve_timeout_hint(false));

  // Nothing of theirs reached the node. A client refused for its key does not retry (ZeroMQ
  // gives up a connection after an authentication failure): one refusal.
  CHECK(sink.batches == 2);
  CHECK(server.stats().frames == 2u);
  CHECK(keys.refusals.of(cluster::curve_refusal::unknown_key) == 1u);
  CHECK(keys.refusals.of(cluster::curve_refusal::crypto) == 0u);
  CHECK(keys.refusals.of(cluster::curve_refusal::protocol) == 0u);
}

TEST_CASE("a CURVE query server answers an allowed client only, counting the others") {
  curve_setup keys;
  city_handler handler;
  cluster::query_server_options options;
  options.curve = keys.server();
  options.curve_refusals = &keys.refusals;
  cluster::query_server server(handler, options);
  auto endpoint = server.start();
  REQUIRE(endpoint.has_value());

  cluster::query_client allowed;
  REQUIRE(allowed.connect(*endpoint, keys.client(keys.allowed)).has_value());
  auto reply = allowed.ask(twin::query_city{}, 5000);
  REQUIRE(reply.has_value());
  REQUIRE(std::holds_alternative<twin::city_view>(*reply));
  CHECK(std::get<twin::city_view>(*reply).name == "curve");

  cluster::query_client stranger;
  REQUIRE(stranger.connect(*endpoint, keys.client(keys.stranger)).has_value());
  auto refused = stranger.ask(twin::query_city{}, 300);
  REQUIRE(!refused.has_value());
  CHECK(refused.error() ==
        "no reply from " + *endpoint + " within 300 ms" + cluster::curve_timeout_hint(true));
  CHECK(keys.refusals.wait_for(cluster::curve_refusal::unknown_key));

  cluster::query_client plain;
  REQUIRE(plain.connect(*endpoint).has_value());
  auto plain_reply = plain.ask(twin::query_city{}, 300);
  REQUIRE(!plain_reply.has_value());
  CHECK(plain_reply.error() ==
        "no reply from " + *endpoint + " within 300 ms" + cluster::curve_timeout_hint(false));
  CHECK(keys.refusals.wait_for_plain());

  // A client that has another key for the node fails the handshake's cryptography.
  auto wrong_node = keys.client(keys.allowed);
  wrong_node.server_public_z85 = keys.stranger.public_z85;
  cluster::query_client mistaken;
  REQUIRE(mistaken.connect(*endpoint, wrong_node).has_value());
  CHECK(!mistaken.ask(twin::query_city{}, 300).has_value());
  CHECK(keys.refusals.wait_for(cluster::curve_refusal::crypto));

  CHECK(server.stats().requests == 1u);
  CHECK(keys.refusals.of(cluster::curve_refusal::unknown_key) == 1u);
  CHECK(keys.refusals.of(cluster::curve_refusal::protocol) == 0u);
}

TEST_CASE("a key added to the allow-list lets its client in from the next connection") {
  curve_setup keys;
  city_handler handler;
  cluster::query_server_options options;
  auto server_keys = keys.server();
  options.curve = server_keys;
  options.curve_refusals = &keys.refusals;
  cluster::query_server server(handler, options);
  auto endpoint = server.start();
  REQUIRE(endpoint.has_value());

  cluster::query_client early;
  REQUIRE(early.connect(*endpoint, keys.client(keys.stranger)).has_value());
  CHECK(!early.ask(twin::query_city{}, 200).has_value());
  CHECK(keys.refusals.wait_for(cluster::curve_refusal::unknown_key));
  server_keys.allowed->replace({keys.allowed.public_z85, keys.stranger.public_z85});
  // The refused connection stays given up; a new one (the client restarted) is let in.
  cluster::query_client restarted;
  REQUIRE(restarted.connect(*endpoint, keys.client(keys.stranger)).has_value());
  auto reply = restarted.ask(twin::query_city{}, 5000);
  REQUIRE_MESSAGE(reply.has_value(), reply.error());
  CHECK(std::get<twin::city_view>(*reply).name == "curve");
  CHECK(keys.refusals.of(cluster::curve_refusal::unknown_key) == 1u);

  // Removing a key refuses its next connection.
  server_keys.allowed->replace({keys.allowed.public_z85});
  cluster::query_client removed;
  REQUIRE(removed.connect(*endpoint, keys.client(keys.stranger)).has_value());
  CHECK(!removed.ask(twin::query_city{}, 200).has_value());
  CHECK(keys.refusals.wait_for_count(cluster::curve_refusal::unknown_key, 2));
}
