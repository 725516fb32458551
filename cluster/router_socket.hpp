#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <zmq.hpp>

#include "twin/base/expected.hpp"

namespace cluster {

struct router_socket_options {
  std::string endpoint;
  int receive_hwm = 1000;
  int send_hwm = 1000;
  // A larger message makes ZeroMQ drop the connection before the bytes are buffered.
  std::size_t message_bytes_max = 0;
};

// Opens `socket` as the ROUTER every server of a node uses — replies never dropped silently
// (ZMQ_ROUTER_MANDATORY), no linger, bounded queues and messages — and binds it. Returns the bound
// endpoint (the real port when the configured one is 0), or why binding failed, naming `what`.
twin::expected<std::string, std::string> bind_router(zmq::context_t& context, zmq::socket_t& socket,
                                                     const router_socket_options& options,
                                                     std::string_view what);

}  // namespace cluster
