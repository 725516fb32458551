#include "cluster/router_server.hpp"

#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include <zmq.hpp>

#include "cluster/completion_queue.hpp"
#include "twin/base/check.hpp"

namespace cluster {

struct router_server::completer::queue : completion_queue<completion_fn> {};

struct router_server::impl {
  zmq::context_t context{1};
  zmq::socket_t socket;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::shared_ptr<completer::queue> completions = std::make_shared<completer::queue>();
  // Owned by the I/O thread.
  std::uint32_t inflight = 0;
  std::vector<completion_fn> done;
};

namespace {

twin::expected<std::string, std::string> bind_router(zmq::context_t& context, zmq::socket_t& socket,
                                                     const router_server_options& options) {
  try {
    socket = zmq::socket_t(context, zmq::socket_type::router);
    socket.set(zmq::sockopt::router_mandatory, 1);
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::rcvhwm, options.receive_hwm);
    socket.set(zmq::sockopt::sndhwm, options.send_hwm);
    socket.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(options.message_bytes_max));
    socket.bind(options.endpoint);
    return socket.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    socket.close();
    return twin::unexpected{options.name + " cannot bind " + options.endpoint + ": " + e.what()};
  }
}

}  // namespace

void router_server::completer::operator()(completion_fn fn) const {
  queue_->push(std::move(fn));
}

router_server::router_server(router_server_options options, frame_handler on_frame,
                             inflight_handler on_inflight, drop_handler on_drop)
    : options_(std::move(options)),
      on_frame_(std::move(on_frame)),
      on_inflight_(std::move(on_inflight)),
      on_drop_(std::move(on_drop)),
      impl_(std::make_unique<impl>()) {
  TWIN_CHECK(on_frame_ != nullptr);
  TWIN_CHECK_OP(options_.message_bytes_max, >, 0u);
  TWIN_CHECK_OP(options_.inflight_max, >, 0u);
  TWIN_CHECK_OP(options_.receive_burst_max, >, 0u);
}

router_server::~router_server() {
  stop();
}

twin::expected<std::string, std::string> router_server::start() {
  TWIN_CHECK(!impl_->thread.joinable());
  auto bound = bind_router(impl_->context, impl_->socket, options_);
  if (!bound) return bound;
  endpoint_ = *bound;
  impl_->stopping = false;
  impl_->thread = std::thread([this] { run(); });
  return endpoint_;
}

void router_server::stop() {
  auto& im = *impl_;
  if (!im.thread.joinable()) return;
  im.stopping = true;
  im.completions->notify();
  im.thread.join();
  im.socket.close();
  // Completions arriving from now on are dropped: their peers will resend or time out.
  im.completions->close();
}

router_server::completer router_server::completions() const {
  return completer(impl_->completions);
}

void router_server::run() {
  auto& im = *impl_;
  while (!im.stopping) {
    // At the in-flight bound the socket is left unread: ZeroMQ's queues fill, then TCP's.
    const bool can_receive = im.inflight < options_.inflight_max;
    zmq::pollitem_t items[] = {
        {im.socket.handle(), 0, static_cast<short>(can_receive ? ZMQ_POLLIN : 0), 0},
        {nullptr, im.completions->fd(), ZMQ_POLLIN, 0}};
    zmq::poll(items, 2, std::chrono::milliseconds(-1));
    if (items[1].revents & ZMQ_POLLIN) {
      im.done.clear();
      im.completions->drain(im.done);
      for (auto& fn : im.done) {
        TWIN_CHECK_OP(im.inflight, >, 0u);
        --im.inflight;
        if (on_inflight_) on_inflight_(im.inflight);
        fn();
      }
    }
    if (items[0].revents & ZMQ_POLLIN) receive();
  }
}

void router_server::receive() {
  auto& im = *impl_;
  zmq::message_t peer;
  zmq::message_t payload;
  for (std::uint32_t i = 0; i < options_.receive_burst_max; ++i) {
    if (im.inflight >= options_.inflight_max) return;
    if (!im.socket.recv(peer, zmq::recv_flags::dontwait)) return;
    if (!peer.more()) {
      // A routing id without a payload: nothing to read and no request to answer.
      if (on_drop_) on_drop_();
      continue;
    }
    // The payload part of a multipart message is already here: it arrives atomically.
    (void)im.socket.recv(payload, zmq::recv_flags::none);
    router_frame frame{std::string(static_cast<const char*>(peer.data()), peer.size()),
                       {static_cast<const std::byte*>(payload.data()), payload.size()},
                       false};
    zmq::message_t rest;
    for (bool more = payload.more(); more; more = rest.more()) {
      (void)im.socket.recv(rest, zmq::recv_flags::none);
      frame.extra_parts = true;
    }
    if (!on_frame_(frame)) continue;
    ++im.inflight;
    if (on_inflight_) on_inflight_(im.inflight);
  }
}

bool router_server::send(const std::string& peer, std::span<const std::byte> payload) {
  auto& socket = impl_->socket;
  try {
    if (socket.send(zmq::buffer(peer), zmq::send_flags::sndmore | zmq::send_flags::dontwait))
      return socket.send(zmq::buffer(payload.data(), payload.size()), zmq::send_flags::dontwait)
          .has_value();
  } catch (const zmq::error_t&) {
    // EHOSTUNREACH (router_mandatory): the peer disconnected. It resends or times out.
  }
  return false;
}

}  // namespace cluster
