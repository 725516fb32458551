#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/curve.hpp"
#include "cluster/router_server.hpp"
#include "twin/base/expected.hpp"
#include "twin/live/services.hpp"

namespace cluster {

class decoder;
class encoder;

struct query_server_options {
  std::string endpoint = "tcp://127.0.0.1:0";
  // Queries being answered at once; when reached the socket is not read until one finishes.
  std::uint32_t inflight_max = 64;
  // A larger request is answered with an error naming its size and this limit.
  std::size_t request_bytes_max = 64 * 1024;
  int receive_hwm = 1000;
  int send_hwm = 1000;  // CURVE: see router_server_options. Without keys the socket is plain TCP.
  std::optional<curve_server_keys> curve;
  curve_observer* curve_refusals = nullptr;
};

struct query_server_stats {
  std::uint64_t requests = 0;
  std::uint64_t refused = 0;  // undecodable or of another protocol version, answered with an error
  std::uint64_t replies_sent = 0;
  std::uint64_t replies_unsent = 0;  // client gone or its queue full
};

// Answers QueryRequest frames on a ZeroMQ ROUTER socket through a query_handler. Runs its own
// I/O thread; the handler may answer from any thread.
class query_server {
 public:
  // `handler` must outlive the server.
  explicit query_server(twin::query_handler& handler, query_server_options options = {});
  ~query_server();
  query_server(const query_server&) = delete;
  query_server& operator=(const query_server&) = delete;

  // Binds and starts the I/O thread; returns the bound endpoint or why binding failed.
  twin::expected<std::string, std::string> start();
  // Stops and joins the I/O thread. Idempotent.
  void stop();

  const std::string& endpoint() const { return server_.endpoint(); }
  query_server_stats stats() const;

 private:
  bool handle_frame(const router_frame& frame);
  void send_reply(const std::string& peer, std::uint64_t request_id,
                  const twin::query_reply& reply);

  twin::query_handler& handler_;
  query_server_options options_;

  // Owned by the I/O thread.
  std::unique_ptr<decoder> decoder_;
  std::unique_ptr<encoder> encoder_;
  std::vector<std::byte> reply_bytes_;

  std::atomic<std::uint64_t> requests_{0}, refused_{0}, replies_sent_{0}, replies_unsent_{0};
  // Last: its I/O thread uses everything above, and it stops first.
  router_server server_;
};

}  // namespace cluster
