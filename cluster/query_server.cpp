#include "cluster/query_server.hpp"

#include "cluster/router_socket.hpp"

namespace cluster {

query_server::query_server(twin::query_handler& handler, query_server_options options)
    : handler_(handler),
      options_(std::move(options)),
      queue_(std::make_shared<completion_queue<completion>>()),
      decoder_(options_.request_bytes_max) {
  TWIN_CHECK_OP(options_.inflight_max, >, 0u);
}

query_server::~query_server() {
  stop();
}

twin::expected<std::string, std::string> query_server::start() {
  TWIN_CHECK(!thread_.joinable());
  auto bound = bind_router(
      context_, socket_,
      {options_.endpoint, options_.receive_hwm, options_.send_hwm, options_.request_bytes_max},
      "query server");
  if (!bound) return bound;
  endpoint_ = *bound;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
  return endpoint_;
}

void query_server::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  queue_->notify();
  thread_.join();
  socket_.close();
  queue_->close();
}

query_server_stats query_server::stats() const {
  return {requests_, refused_, replies_sent_, replies_unsent_};
}

void query_server::run() {
  while (!stopping_) {
    const bool can_receive = inflight_ < options_.inflight_max;
    zmq::pollitem_t items[] = {
        {socket_.handle(), 0, static_cast<short>(can_receive ? ZMQ_POLLIN : 0), 0},
        {nullptr, queue_->fd(), ZMQ_POLLIN, 0}};
    zmq::poll(items, 2, std::chrono::milliseconds(-1));
    if (items[1].revents & ZMQ_POLLIN) {
      done_.clear();
      queue_->drain(done_);
      for (auto& c : done_) {
        TWIN_CHECK_OP(inflight_, >, 0u);
        --inflight_;
        send_reply(c.peer, c.request_id, c.reply);
      }
    }
    if (items[0].revents & ZMQ_POLLIN) receive();
  }
}

void query_server::receive() {
  zmq::message_t peer;
  zmq::message_t payload;
  while (inflight_ < options_.inflight_max) {
    if (!socket_.recv(peer, zmq::recv_flags::dontwait)) return;
    if (!peer.more()) continue;
    (void)socket_.recv(payload, zmq::recv_flags::none);
    while (payload.more()) (void)socket_.recv(payload, zmq::recv_flags::none);
    ++requests_;
    std::string id(static_cast<const char*>(peer.data()), peer.size());
    auto decoded = decoder_.decode_query_request(bytes_of(payload));
    if (!decoded) {
      ++refused_;
      send_reply(id, decoded.error().request_id,
                 twin::query_error{"request refused: " + decoded.error().message});
      continue;
    }
    ++inflight_;
    const std::uint64_t request_id = decoded->request_id;
    handler_.query(std::move(decoded->request), [queue = queue_, peer = std::move(id),
                                                 request_id](twin::query_reply reply) mutable {
      queue->push(completion{std::move(peer), request_id, std::move(reply)});
    });
  }
}

void query_server::send_reply(const std::string& peer, std::uint64_t request_id,
                              const twin::query_reply& reply) {
  zmq::message_t payload;
  encoder_.encode_query_reply(request_id, reply, payload);
  bool sent = false;
  try {
    if (socket_.send(zmq::buffer(peer), zmq::send_flags::sndmore | zmq::send_flags::dontwait))
      sent = socket_.send(payload, zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t&) {
    // EHOSTUNREACH (router_mandatory): the client is gone; it has timed out by now.
  }
  if (sent)
    ++replies_sent_;
  else
    ++replies_unsent_;
}

}  // namespace cluster
