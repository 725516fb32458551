#include "cluster/router_server.hpp"

#include <doctest/doctest.h>
#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

// What the frame handler saw, from the I/O thread; read by the test under the mutex.
struct seen_frames {
  std::mutex mutex;
  std::vector<std::string> payloads;
  std::vector<std::string> peers;
  std::vector<bool> extra_parts;

  std::size_t count() {
    std::lock_guard lock(mutex);
    return payloads.size();
  }
};

std::span<const std::byte> bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string text(const std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

struct dealer_client {
  explicit dealer_client(const std::string& endpoint) : socket(context, zmq::socket_type::dealer) {
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::rcvtimeo, 3000);
    socket.connect(endpoint);
  }
  void send(const std::string& s) { socket.send(zmq::buffer(s), zmq::send_flags::none); }
  std::string receive(zmq::recv_flags flags = zmq::recv_flags::none) {
    zmq::message_t m;
    if (!socket.recv(m, flags)) return "<none>";
    return m.to_string();
  }
  zmq::context_t context;
  zmq::socket_t socket;
};

}  // namespace

TEST_CASE("router server: at its in-flight bound the socket is left unread until a completion") {
  seen_frames seen;
  std::atomic<std::uint32_t> inflight_reported{0};
  cluster::router_server_options options;
  options.name = "test server";
  options.inflight_max = 2;
  cluster::router_server server(
      options,
      [&](const cluster::router_frame& f) {
        std::lock_guard lock(seen.mutex);
        seen.payloads.push_back(text(f.payload));
        seen.peers.push_back(f.peer);
        return true;  // every frame is a request in flight
      },
      [&](std::uint32_t n) { inflight_reported = n; });
  auto endpoint = server.start();
  REQUIRE(endpoint.has_value());
  dealer_client client(*endpoint);
  client.send("a");
  client.send("b");
  client.send("c");

  eventually([&] { return seen.count() == 2; }, 2000ms);
  REQUIRE(seen.count() == 2);
  std::this_thread::sleep_for(100ms);
  CHECK(seen.count() == 2);  // "c" waits in the socket
  CHECK(inflight_reported == 2);

  // A completion from another thread runs on the I/O thread, frees a slot and may send.
  std::string peer;
  {
    std::lock_guard lock(seen.mutex);
    peer = seen.peers[0];
  }
  auto complete = server.completions();
  std::atomic<bool> sent{false};
  std::thread([&] { complete([&] { sent = server.send(peer, bytes("done a")); }); }).join();
  CHECK(client.receive() == "done a");
  // The client may hold the reply before send() has returned on the I/O thread.
  CHECK(eventually([&] { return sent.load(); }, 2000ms));
  REQUIRE(eventually([&] { return seen.count() == 3; }, 2000ms));
  {
    std::lock_guard lock(seen.mutex);
    CHECK(seen.payloads == std::vector<std::string>{"a", "b", "c"});
  }
  CHECK(eventually([&] { return inflight_reported == 2; }, 2000ms));
  server.stop();
  // Once stopped, a completion is dropped: it never runs.
  std::atomic<bool> ran{false};
  complete([&] { ran = true; });
  CHECK_FALSE(ran);
}

TEST_CASE("router server: a frame answered at once takes no slot, several parts are flagged") {
  seen_frames seen;
  cluster::router_server_options options;
  options.inflight_max = 1;
  cluster::router_server* self = nullptr;
  std::atomic<int> unsent{0};
  cluster::router_server server(options, [&](const cluster::router_frame& f) {
    {
      std::lock_guard lock(seen.mutex);
      seen.payloads.push_back(text(f.payload));
      seen.extra_parts.push_back(f.extra_parts);
    }
    if (!self->send(f.peer, f.payload)) ++unsent;
    return false;
  });
  self = &server;
  auto endpoint = server.start();
  REQUIRE(endpoint.has_value());
  dealer_client client(*endpoint);
  for (int i = 0; i < 5; ++i) client.send("echo " + std::to_string(i));
  for (int i = 0; i < 5; ++i) CHECK(client.receive() == "echo " + std::to_string(i));

  client.socket.send(zmq::buffer(std::string("first")), zmq::send_flags::sndmore);
  client.socket.send(zmq::buffer(std::string("second")), zmq::send_flags::none);
  CHECK(client.receive() == "first");
  CHECK(unsent == 0);
  std::lock_guard lock(seen.mutex);
  CHECK(seen.extra_parts == std::vector<bool>{false, false, false, false, false, true});
}

TEST_CASE("router server: binding a bad endpoint names the server") {
  cluster::router_server_options options;
  options.name = "test server";
  options.endpoint = "tcp://no-such-host-x:1";
  cluster::router_server server(options, [](const cluster::router_frame&) { return false; });
  auto bound = server.start();
  REQUIRE_FALSE(bound.has_value());
  CHECK(bound.error().rfind("test server cannot bind tcp://no-such-host-x:1: ", 0) == 0);
}
