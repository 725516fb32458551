#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "cluster/curve.hpp"
#include "cluster/protocol.hpp"
#include "twin/base/expected.hpp"

namespace cluster {

struct router_server_options {
  std::string endpoint = "tcp://127.0.0.1:0";
  // Names the server in errors ("ingest server cannot bind ...").
  std::string name = "router server";
  int receive_hwm = 1000;
  int send_hwm = 1000;
  // ZeroMQ's own limit (ZMQ_MAXMSGSIZE): a larger message makes it drop the connection before
  // the bytes are buffered, silently. Servers set it well above the frame limit they enforce
  // themselves (with an answer), so that only an absurd message meets it.
  std::size_t message_bytes_max = socket_bytes_max(frame_bytes_max);
  // Requests admitted and not yet completed; at this bound the socket is left unread, so ZeroMQ's
  // queues fill, then TCP's, and the clients slow down.
  std::uint32_t inflight_max = 1024;
  // Messages taken from the socket per wake-up, so completions are not starved by a busy socket.
  std::uint32_t receive_burst_max = 64;
  // With keys, the socket is a CURVE server and a ZAP handler on the server's own ZeroMQ context
  // (polled by the I/O thread) lets in only the allowed client keys; without, plain TCP.
  std::optional<curve_server_keys> curve;
  // Told of every refused handshake (may be null; must outlive the server).
  curve_observer* curve_refusals = nullptr;
};

// One message from a client, as the frame handler sees it (on the I/O thread).
struct router_frame {
  std::string peer;                    // the client's routing id
  std::span<const std::byte> payload;  // the message's first part; valid during the call only
  bool extra_parts = false;            // the message had more than one part after the id
};

// The skeleton every ROUTER server of a node shares: ZeroMQ context and socket (replies never
// dropped silently, no linger, bounded queues and messages), an I/O thread polling the socket
// and a completion queue, and the in-flight gate. A server supplies its frame handler; work
// admitted by the handler finishes by handing a function to complete(), which runs it on the I/O
// thread (where it may send()) and frees the request's in-flight slot.
class router_server {
 public:
  // I/O thread. Returns true when it admitted the frame as a request in flight: exactly one
  // complete() must follow. False when it answered (or dropped) the frame at once.
  using frame_handler = std::function<bool(const router_frame&)>;
  // I/O thread: the number of requests in flight changed.
  using inflight_handler = std::function<void(std::uint32_t)>;
  // I/O thread: a message was dropped before it reached the frame handler (no payload part).
  using drop_handler = std::function<void()>;
  using completion_fn = std::function<void()>;

  // Posts completions to the I/O thread; callable from any thread, copyable, outlives the server
  // safely (once the server stopped, completions are dropped: their clients resend or time out).
  class completer {
   public:
    void operator()(completion_fn fn) const;

   private:
    friend class router_server;
    struct queue;
    explicit completer(std::shared_ptr<queue> q) : queue_(std::move(q)) {}
    std::shared_ptr<queue> queue_;
  };

  router_server(router_server_options options, frame_handler on_frame,
                inflight_handler on_inflight = {}, drop_handler on_drop = {});
  ~router_server();
  router_server(const router_server&) = delete;
  router_server& operator=(const router_server&) = delete;

  // Binds and starts the I/O thread. Returns the bound endpoint (the real port when the
  // configured one is 0), or why binding failed.
  twin::expected<std::string, std::string> start();
  // Stops and joins the I/O thread. Idempotent. Completions arriving from now on are dropped.
  void stop();

  // Before start(): the I/O thread also polls `fd` (readable = ready) and calls `on_ready` on it,
  // e.g. for news of the write-ahead log's group commit. One watch per server.
  void watch(int fd, std::function<void()> on_ready);

  const std::string& endpoint() const { return endpoint_; }
  completer completions() const;
  // I/O thread: sends `payload` to `peer`. False when it could not (peer gone or its queue full).
  bool send(const std::string& peer, std::span<const std::byte> payload);

 private:
  struct impl;
  void run();
  void receive();
  void answer_zap();
  void read_handshake_events();

  router_server_options options_;
  frame_handler on_frame_;
  inflight_handler on_inflight_;
  drop_handler on_drop_;
  int watch_fd_ = -1;
  std::function<void()> on_watch_;
  std::string endpoint_;
  std::unique_ptr<impl> impl_;
};

}  // namespace cluster
