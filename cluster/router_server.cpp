#include "cluster/router_server.hpp"

#include <atomic>
#include <cstring>
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
  // With CURVE: the ZAP handler's socket and the router's handshake events.
  zmq::socket_t zap;
  zmq::socket_t handshakes;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::shared_ptr<completer::queue> completions = std::make_shared<completer::queue>();
  // Owned by the I/O thread.
  std::uint32_t inflight = 0;
  std::vector<completion_fn> done;
};

namespace {

// ZeroMQ asks the handler bound here, in the same context, about every CURVE handshake.
constexpr const char* zap_endpoint = "inproc://zeromq.zap.01";
constexpr const char* handshakes_endpoint = "inproc://citytwin.handshakes";

// Binds the ZAP handler's socket before the router exists: a CURVE server without a handler
// would let every client in.
void bind_curve(zmq::context_t& context, zmq::socket_t& socket, zmq::socket_t& zap,
                const curve_server_keys& keys) {
  zap = zmq::socket_t(context, zmq::socket_type::rep);
  zap.set(zmq::sockopt::linger, 0);
  zap.bind(zap_endpoint);
  socket.set(zmq::sockopt::curve_server, 1);
  socket.set(zmq::sockopt::curve_secretkey, keys.secret_z85);
  socket.set(zmq::sockopt::zap_domain, "citytwin");
}

twin::expected<std::string, std::string> bind_router(zmq::context_t& context, zmq::socket_t& socket,
                                                     zmq::socket_t& zap, zmq::socket_t& handshakes,
                                                     const router_server_options& options) {
  try {
    socket = zmq::socket_t(context, zmq::socket_type::router);
    if (options.curve) {
      TWIN_CHECK(options.curve->allowed != nullptr);
      bind_curve(context, socket, zap, *options.curve);
      if (zmq_socket_monitor(
              socket.handle(), handshakes_endpoint,
              ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0)
        throw zmq::error_t();
      handshakes = zmq::socket_t(context, zmq::socket_type::pair);
      handshakes.set(zmq::sockopt::linger, 0);
      handshakes.connect(handshakes_endpoint);
    }
    socket.set(zmq::sockopt::router_mandatory, 1);
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::rcvhwm, options.receive_hwm);
    socket.set(zmq::sockopt::sndhwm, options.send_hwm);
    socket.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(options.message_bytes_max));
    socket.bind(options.endpoint);
    return socket.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    socket.close();
    zap.close();
    handshakes.close();
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
  auto bound = bind_router(impl_->context, impl_->socket, impl_->zap, impl_->handshakes, options_);
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
  im.zap.close();
  im.handshakes.close();
  // Completions arriving from now on are dropped: their peers will resend or time out.
  im.completions->close();
}

void router_server::watch(int fd, std::function<void()> on_ready) {
  TWIN_CHECK(!impl_->thread.joinable());
  TWIN_CHECK(fd >= 0 && on_ready != nullptr);
  watch_fd_ = fd;
  on_watch_ = std::move(on_ready);
}

router_server::completer router_server::completions() const {
  return completer(impl_->completions);
}

void router_server::run() {
  auto& im = *impl_;
  while (!im.stopping) {
    // At the in-flight bound the socket is left unread: ZeroMQ's queues fill, then TCP's.
    const bool can_receive = im.inflight < options_.inflight_max;
    // The ZAP handler is polled even at the in-flight bound: a handshake never waits for work.
    zmq::pollitem_t items[] = {
        {im.socket.handle(), 0, static_cast<short>(can_receive ? ZMQ_POLLIN : 0), 0},
        {nullptr, im.completions->fd(), ZMQ_POLLIN, 0},
        {nullptr, watch_fd_, static_cast<short>(watch_fd_ >= 0 ? ZMQ_POLLIN : 0), 0},
        {im.zap.handle(), 0, ZMQ_POLLIN, 0},
        {im.handshakes.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, options_.curve ? 5 : 3, std::chrono::milliseconds(-1));
    if (options_.curve) {
      if (items[3].revents & ZMQ_POLLIN) answer_zap();
      if (items[4].revents & ZMQ_POLLIN) read_handshake_events();
    }
    if (items[2].revents & ZMQ_POLLIN) on_watch_();
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

// ZAP (RFC 27): a request is version, request id, domain, address, routing id, mechanism and
// the mechanism's credentials (for CURVE, the client's 32-byte public key); the reply is version,
// request id, status code, status text, user id and metadata.
void router_server::answer_zap() {
  auto& im = *impl_;
  std::vector<zmq::message_t> request;
  for (;;) {
    request.clear();
    zmq::message_t part;
    if (!im.zap.recv(part, zmq::recv_flags::dontwait)) return;
    for (bool more = part.more();; more = part.more()) {
      request.push_back(std::move(part));
      if (!more) break;
      (void)im.zap.recv(part, zmq::recv_flags::none);
    }
    std::string status = "400";
    std::string text;
    std::string user;
    std::optional<curve_refusal> refusal;
    if (request.size() < 6 || request[0].to_string_view() != "1.0") {
      refusal = curve_refusal::protocol;
      text = "malformed ZAP request";
    } else if (request[5].to_string_view() != "CURVE" || request.size() < 7 ||
               request[6].size() != 32) {
      refusal = curve_refusal::mechanism;
      text = "CURVE required";
    } else {
      char key[curve_key_z85_chars + 1] = {};
      zmq_z85_encode(key, static_cast<const std::uint8_t*>(request[6].data()), 32);
      if (options_.curve->allowed->allows(key)) {
        status = "200";
        text = "OK";
        user = key;
      } else {
        refusal = curve_refusal::unknown_key;
        text = "unknown key";
      }
    }
    if (refusal && options_.curve_refusals) options_.curve_refusals->refused(*refusal);
    const std::string request_id = request.size() > 1 ? request[1].to_string() : "";
    im.zap.send(zmq::buffer(std::string_view("1.0")), zmq::send_flags::sndmore);
    im.zap.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
    im.zap.send(zmq::buffer(status), zmq::send_flags::sndmore);
    im.zap.send(zmq::buffer(text), zmq::send_flags::sndmore);
    im.zap.send(zmq::buffer(user), zmq::send_flags::sndmore);
    im.zap.send(zmq::message_t(), zmq::send_flags::none);
  }
}

// Handshakes that failed before ZAP was asked: a plain client, one with another server key, or a
// connection closed during its handshake.
void router_server::read_handshake_events() {
  auto& im = *impl_;
  zmq::message_t event;
  zmq::message_t address;
  while (im.handshakes.recv(event, zmq::recv_flags::dontwait)) {
    if (event.more()) (void)im.handshakes.recv(address, zmq::recv_flags::none);
    if (event.size() < 6) continue;
    std::uint16_t id = 0;
    std::uint32_t value = 0;
    std::memcpy(&id, event.data(), sizeof id);
    std::memcpy(&value, static_cast<const char*>(event.data()) + 2, sizeof value);
    if (!options_.curve_refusals) continue;
    // The peer closed first, or a write failed, before its greeting was read: a plain client
    // that saw the mismatch before we did gives this as often as `mechanism`.
    if (id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
      options_.curve_refusals->refused(curve_refusal::dropped);
      continue;
    }
    if (id != ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) continue;
    options_.curve_refusals->refused(
        value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH ? curve_refusal::mechanism
        : value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC    ? curve_refusal::crypto
                                                            : curve_refusal::protocol);
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
