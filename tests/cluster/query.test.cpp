#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <doctest/doctest.h>
#include <zmq.hpp>

#include "cluster/query_client.hpp"
#include "cluster/query_server.hpp"
#include "schemas/query.capnp.h"

namespace {

using namespace std::chrono_literals;

// The server counts a reply once its send returned, which may be after the client already holds
// it: wait (bounded) for the counter to catch up.
template <typename Read>
auto settled(Read read, decltype(read()) expected) {
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  auto value = read();
  while (value != expected && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
    value = read();
  }
  return value;
}

// Knows one district and one sensor; answers from its own thread, like an actor would. Can hold
// an answer back to play a node that does not answer in time.
class test_handler final : public twin::query_handler {
 public:
  ~test_handler() override {
    for (auto& t : threads_) t.join();
  }

  void query(twin::query_request request, std::function<void(twin::query_reply)> done) override {
    std::lock_guard lock(mutex_);
    if (hold_next_) {
      hold_next_ = false;
      held_ = std::move(done);
      return;
    }
    threads_.emplace_back(
        [request = std::move(request), done = std::move(done)] { done(answer(request)); });
  }

  void hold_next() {
    std::lock_guard lock(mutex_);
    hold_next_ = true;
  }
  void release() {
    std::function<void(twin::query_reply)> done;
    {
      std::lock_guard lock(mutex_);
      done = std::move(held_);
    }
    if (done) done(twin::query_error{"late"});
  }

  static twin::query_reply answer(const twin::query_request& request) {
    twin::district_view fatima;
    fatima.id = twin::district_id{1};
    fatima.key = "fatima";
    fatima.name = "Fátima";
    fatima.readings_applied = 77;
    fatima.indicators.pm25_ug_m3 = 12.5;
    fatima.links.push_back({twin::link_id{4}, "l4", 30, 800, 10, 99});
    if (std::holds_alternative<twin::query_city>(request)) {
      twin::city_view city;
      city.name = "Macau";
      city.readings_applied = 77;
      city.districts.push_back(fatima);
      return city;
    }
    if (auto* d = std::get_if<twin::query_district>(&request)) {
      if (d->key == "fatima") return fatima;
      return twin::query_error{"unknown district '" + d->key + "'"};
    }
    twin::sensor_view s;
    s.id = twin::sensor_id{4711};
    s.key = std::get<twin::query_sensor>(request).key;
    s.kind = twin::sensor_kind::co2;
    s.has_value = true;
    s.value = 420;
    return s;
  }

 private:
  std::mutex mutex_;
  std::vector<std::thread> threads_;
  bool hold_next_ = false;
  std::function<void(twin::query_reply)> held_;
};

}  // namespace

TEST_CASE("queries of every kind go to the handler and back") {
  test_handler handler;
  cluster::query_server server(handler);
  auto endpoint = server.start();
  REQUIRE(endpoint.has_value());
  cluster::query_client client;
  REQUIRE(client.connect(*endpoint).has_value());

  auto city = client.ask(twin::query_city{}, 3000);
  REQUIRE(city.has_value());
  REQUIRE(std::holds_alternative<twin::city_view>(*city));
  const auto& c = std::get<twin::city_view>(*city);
  CHECK(c.name == "Macau");
  REQUIRE(c.districts.size() == 1);
  CHECK(c.districts[0].key == "fatima");
  CHECK(c.districts[0].indicators.pm25_ug_m3 == 12.5);

  auto district = client.ask(twin::query_district{"fatima"}, 3000);
  REQUIRE(district.has_value());
  REQUIRE(std::holds_alternative<twin::district_view>(*district));
  const auto& d = std::get<twin::district_view>(*district);
  CHECK(d.name == "Fátima");
  CHECK(d.readings_applied == 77);
  REQUIRE(d.links.size() == 1);
  CHECK(d.links[0].flow_veh_h == 800);

  auto unknown = client.ask(twin::query_district{"atlantis"}, 3000);
  REQUIRE(unknown.has_value());
  REQUIRE(std::holds_alternative<twin::query_error>(*unknown));
  CHECK(std::get<twin::query_error>(*unknown).message == "unknown district 'atlantis'");

  auto sensor = client.ask(twin::query_sensor{"co2-7"}, 3000);
  REQUIRE(sensor.has_value());
  REQUIRE(std::holds_alternative<twin::sensor_view>(*sensor));
  CHECK(std::get<twin::sensor_view>(*sensor).key == "co2-7");
  CHECK(std::get<twin::sensor_view>(*sensor).value == 420);

  CHECK(server.stats().requests == 4);
  CHECK(settled([&] { return server.stats().replies_sent; }, std::uint64_t{4}) == 4);
  CHECK(client.stale_replies() == 0);
}

TEST_CASE("a query without an answer in time is an error, and its late reply is dropped") {
  test_handler handler;
  cluster::query_server server(handler);
  auto endpoint = server.start();
  REQUIRE(endpoint.has_value());
  cluster::query_client client;
  REQUIRE(client.connect(*endpoint).has_value());

  handler.hold_next();
  const auto start = std::chrono::steady_clock::now();
  auto late = client.ask(twin::query_city{}, 150);
  const auto waited = std::chrono::steady_clock::now() - start;
  REQUIRE(!late.has_value());
  // The node never answered this client: the message says CURVE may be why.
  CHECK(late.error() ==
        "no reply from " + *endpoint + " within 150 ms" + cluster::curve_timeout_hint(false));
  CHECK(waited >= 150ms);
  CHECK(waited < 2s);

  handler.release();
  auto next = client.ask(twin::query_district{"fatima"}, 3000);
  REQUIRE(next.has_value());
  CHECK(std::holds_alternative<twin::district_view>(*next));
  CHECK(client.stale_replies() == 1);
}

TEST_CASE("a query to a silent endpoint times out") {
  cluster::query_client client;
  REQUIRE(client.connect("tcp://127.0.0.1:1").has_value());
  auto reply = client.ask(twin::query_city{}, 100);
  REQUIRE(!reply.has_value());
  CHECK(reply.error() ==
        "no reply from tcp://127.0.0.1:1 within 100 ms" + cluster::curve_timeout_hint(false));
}

TEST_CASE("a reply of another protocol version is an error naming both versions") {
  zmq::context_t context;
  zmq::socket_t router(context, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  router.set(zmq::sockopt::rcvtimeo, 3000);
  router.bind("tcp://127.0.0.1:0");
  const std::string endpoint = router.get(zmq::sockopt::last_endpoint);

  std::thread node([&] {
    zmq::message_t peer, request;
    if (!router.recv(peer) || !router.recv(request)) return;
    capnp::MallocMessageBuilder builder;
    auto reply = builder.initRoot<citytwin::schema::QueryReply>();
    reply.setProtocolVersion(2);
    reply.setRequestId(1);
    reply.setError("from the future");
    auto words = capnp::messageToFlatArray(builder);
    router.send(peer, zmq::send_flags::sndmore);
    router.send(zmq::buffer(words.asBytes().begin(), words.asBytes().size()));
  });
  cluster::query_client client;
  REQUIRE(client.connect(endpoint).has_value());
  auto reply = client.ask(twin::query_city{}, 3000);
  node.join();
  REQUIRE(!reply.has_value());
  CHECK(reply.error() == endpoint + " answered in protocol version 2, this node speaks 1");
}

TEST_CASE("a request of another protocol version is answered with an error") {
  test_handler handler;
  cluster::query_server server(handler);
  auto endpoint = server.start();
  REQUIRE(endpoint.has_value());
  zmq::context_t context;
  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.set(zmq::sockopt::rcvtimeo, 3000);
  dealer.connect(*endpoint);
  capnp::MallocMessageBuilder builder;
  auto request = builder.initRoot<citytwin::schema::QueryRequest>();
  request.setProtocolVersion(3);
  request.setRequestId(55);
  request.setCity();
  auto words = capnp::messageToFlatArray(builder);
  dealer.send(zmq::buffer(words.asBytes().begin(), words.asBytes().size()));
  zmq::message_t in;
  REQUIRE(dealer.recv(in).has_value());
  cluster::decoder decoder;
  auto reply = decoder.decode_query_reply(cluster::bytes_of(in));
  REQUIRE(reply.has_value());
  CHECK(reply->request_id == 55);
  REQUIRE(std::holds_alternative<twin::query_error>(reply->reply));
  CHECK(std::get<twin::query_error>(reply->reply).message ==
        "request refused: protocol version 3, this node speaks 1");
  CHECK(server.stats().refused == 1);
}

TEST_CASE("a request of an unknown kind is answered with its own request id and the reason") {
  test_handler handler;
  cluster::query_server server(handler);
  auto endpoint = server.start();
  REQUIRE(endpoint.has_value());
  zmq::context_t context;
  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.set(zmq::sockopt::rcvtimeo, 3000);
  dealer.connect(*endpoint);
  capnp::MallocMessageBuilder builder;
  auto request = builder.initRoot<citytwin::schema::QueryRequest>();
  request.setProtocolVersion(cluster::query_protocol_version);
  request.setRequestId(56);
  request.setCity();
  auto words = capnp::messageToFlatArray(builder);
  auto bytes = words.asBytes();
  // The union's tag sits in bits 16-31 of the root struct's data: frame byte 8 + 8 + 2. Kind 7
  // is none this node knows (a newer client's, or garbage).
  const std::uint16_t kind = 7;
  std::memcpy(bytes.begin() + 18, &kind, sizeof kind);
  dealer.send(zmq::buffer(bytes.begin(), bytes.size()));
  zmq::message_t in;
  REQUIRE(dealer.recv(in).has_value());
  cluster::decoder decoder;
  auto reply = decoder.decode_query_reply(cluster::bytes_of(in));
  REQUIRE(reply.has_value());
  CHECK(reply->request_id == 56);
  REQUIRE(std::holds_alternative<twin::query_error>(reply->reply));
  CHECK(std::get<twin::query_error>(reply->reply).message ==
        "request refused: garbage: query kind 7 is unknown");
  CHECK(server.stats().refused == 1);
}

TEST_CASE("a request the node refuses shows the node's reason through the query client") {
  test_handler handler;
  cluster::query_server_options options;
  options.request_bytes_max = 1024;
  cluster::query_server server(handler, options);
  auto endpoint = server.start();
  REQUIRE(endpoint.has_value());
  cluster::query_client client;
  REQUIRE(client.connect(*endpoint).has_value());
  auto reply = client.ask(twin::query_district{std::string(1200, 'x')}, 3000);
  REQUIRE(reply.has_value());
  REQUIRE(std::holds_alternative<twin::query_error>(*reply));
  CHECK(std::get<twin::query_error>(*reply).message ==
        "request refused: frame of 1248 bytes exceeds the limit of 1024 bytes");
  // The next request on the same client is answered as usual.
  reply = client.ask(twin::query_district{"fatima"}, 3000);
  REQUIRE(reply.has_value());
  CHECK(std::get<twin::district_view>(*reply).readings_applied == 77);
  CHECK(server.stats().refused == 1);
}
