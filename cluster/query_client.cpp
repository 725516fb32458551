#include "cluster/query_client.hpp"

#include <chrono>

#include <zmq.hpp>

namespace cluster {

struct query_client::dealer {
  zmq::context_t context{1};
  zmq::socket_t socket;
};

query_client::query_client() : dealer_(std::make_unique<dealer>()) {}
query_client::~query_client() = default;

twin::expected<std::string, std::string> query_client::connect(
    const std::string& endpoint, std::optional<curve_client_keys> curve) {
  try {
    dealer_->socket = zmq::socket_t(dealer_->context, zmq::socket_type::dealer);
    dealer_->socket.set(zmq::sockopt::linger, 0);
    if (curve) {
      dealer_->socket.set(zmq::sockopt::curve_serverkey, curve->server_public_z85);
      dealer_->socket.set(zmq::sockopt::curve_publickey, curve->own.public_z85);
      dealer_->socket.set(zmq::sockopt::curve_secretkey, curve->own.secret_z85);
    }
    dealer_->socket.connect(endpoint);
  } catch (const zmq::error_t& e) {
    return twin::unexpected{"cannot connect to " + endpoint + ": " + e.what()};
  }
  endpoint_ = endpoint;
  curve_ = curve.has_value();
  return endpoint_;
}

twin::expected<twin::query_reply, std::string> query_client::ask(const twin::query_request& request,
                                                                 int timeout_ms) {
  using steady = std::chrono::steady_clock;
  TWIN_CHECK(static_cast<bool>(dealer_->socket));
  const std::uint64_t request_id = next_request_id_++;
  zmq::message_t out;
  encoder_.encode_query_request(request_id, request, out);
  const auto deadline = steady::now() + std::chrono::milliseconds(timeout_ms);
  const auto timed_out = [&] {
    return twin::unexpected{"no reply from " + endpoint_ + " within " + std::to_string(timeout_ms) +
                            " ms" + timeout_hint()};
  };
  if (!dealer_->socket.send(out, zmq::send_flags::dontwait)) return timed_out();
  zmq::message_t in;
  for (;;) {
    const auto now = steady::now();
    if (now >= deadline) return timed_out();
    zmq::pollitem_t items[] = {{dealer_->socket.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, std::chrono::ceil<std::chrono::milliseconds>(deadline - now));
    while (dealer_->socket.recv(in, zmq::recv_flags::dontwait)) {
      heard_from_node_ = true;
      auto decoded = decoder_.decode_query_reply(bytes_of(in));
      if (!decoded) {
        if (decoded.error().failure == decode_failure::wrong_version)
          return twin::unexpected{endpoint_ + " answered in " + decoded.error().message};
        return twin::unexpected{"undecodable reply from " + endpoint_ + ": " +
                                decoded.error().message};
      }
      if (decoded->request_id != request_id) {
        ++stale_replies_;
        continue;
      }
      return std::move(decoded->reply);
    }
  }
}

}  // namespace cluster
