#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "cluster/codec.hpp"
#include "cluster/curve.hpp"
#include "twin/base/expected.hpp"
#include "twin/live/services.hpp"

namespace cluster {

// Asks a node's query socket. One request at a time; a reply that arrives after its request
// timed out is recognised by its id and dropped.
class query_client {
 public:
  query_client();
  ~query_client();
  query_client(const query_client&) = delete;
  query_client& operator=(const query_client&) = delete;

  // Returns an error naming the endpoint when ZeroMQ refuses it. With `curve`, the handshake
  // uses CURVE (the node's key and ours); without, plain TCP.
  twin::expected<std::string, std::string> connect(const std::string& endpoint,
                                                   std::optional<curve_client_keys> curve = {});

  // The reply (which may itself be a twin::query_error from the node), or why there is none:
  // no reply within timeout_ms, an undecodable reply, or another protocol version.
  twin::expected<twin::query_reply, std::string> ask(const twin::query_request& request,
                                                     int timeout_ms);

  std::uint64_t stale_replies() const { return stale_replies_; }
  // Why a timeout may have happened, when the node never answered at all ("" once it did).
  std::string timeout_hint() const { return heard_from_node_ ? "" : curve_timeout_hint(curve_); }

 private:
  // ZeroMQ's context and socket, kept out of this header.
  struct dealer;
  std::unique_ptr<dealer> dealer_;
  std::string endpoint_;
  encoder encoder_;
  decoder decoder_;
  std::uint64_t next_request_id_ = 1;
  std::uint64_t stale_replies_ = 0;
  bool curve_ = false;
  bool heard_from_node_ = false;  // a reply arrived: the connection (and its keys) work
};

}  // namespace cluster
