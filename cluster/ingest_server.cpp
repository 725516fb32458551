#include "cluster/ingest_server.hpp"

#include "cluster/router_socket.hpp"

#include <algorithm>

namespace cluster {

namespace {

using steady = std::chrono::steady_clock;

double seconds_since(steady::time_point t) {
  return std::chrono::duration<double>(steady::now() - t).count();
}

std::string peer_of(const zmq::message_t& m) {
  return std::string(static_cast<const char*>(m.data()), m.size());
}

}  // namespace

ingest_server::ingest_server(twin::batch_sink& sink, ingest_server_options options,
                             twin::ingest_observer* observer)
    : sink_(sink),
      options_(std::move(options)),
      observer_(observer),
      queue_(std::make_shared<completion_queue<completion>>()),
      decoder_(options_.frame_bytes_max) {
  TWIN_CHECK_OP(options_.inflight_per_gateway_max, >, 0u);
  TWIN_CHECK_OP(options_.inflight_total_max, >, 0u);
  TWIN_CHECK_OP(options_.receive_burst_max, >, 0u);
}

ingest_server::~ingest_server() {
  stop();
}

twin::expected<std::string, std::string> ingest_server::start() {
  TWIN_CHECK(!thread_.joinable());
  auto bound = bind_router(
      context_, socket_,
      {options_.endpoint, options_.receive_hwm, options_.send_hwm, options_.frame_bytes_max},
      "ingest server");
  if (!bound) return bound;
  endpoint_ = *bound;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
  return endpoint_;
}

void ingest_server::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  queue_->notify();
  thread_.join();
  socket_.close();
  // Completions arriving from now on are dropped: their peers will resend.
  queue_->close();
}

ingest_server_stats ingest_server::stats() const {
  ingest_server_stats s;
  s.frames = counters_.frames;
  s.batches_submitted = counters_.batches_submitted;
  s.decode_failures = counters_.decode_failures;
  s.wrong_version = counters_.wrong_version;
  s.overloaded = counters_.overloaded;
  s.acks_sent = counters_.acks_sent;
  s.acks_unsent = counters_.acks_unsent;
  s.inflight = counters_.inflight;
  s.inflight_peak = counters_.inflight_peak;
  return s;
}

void ingest_server::run() {
  while (!stopping_) {
    // At the in-flight bound the socket is left unread: ZeroMQ's queues fill, then TCP's.
    const bool can_receive = inflight_total_ < options_.inflight_total_max;
    zmq::pollitem_t items[] = {
        {socket_.handle(), 0, static_cast<short>(can_receive ? ZMQ_POLLIN : 0), 0},
        {nullptr, queue_->fd(), ZMQ_POLLIN, 0}};
    zmq::poll(items, 2, std::chrono::milliseconds(-1));
    if (items[1].revents & ZMQ_POLLIN) {
      done_.clear();
      queue_->drain(done_);
      finish(done_);
    }
    if (items[0].revents & ZMQ_POLLIN) receive_frames();
  }
}

void ingest_server::receive_frames() {
  zmq::message_t peer;
  zmq::message_t payload;
  for (std::uint32_t i = 0; i < options_.receive_burst_max; ++i) {
    if (inflight_total_ >= options_.inflight_total_max) return;
    if (!socket_.recv(peer, zmq::recv_flags::dontwait)) return;
    if (!peer.more()) continue;  // a ROUTER always prefixes the peer's id; nothing to answer
    // The payload part of a multipart message is already here: it arrives atomically.
    (void)socket_.recv(payload, zmq::recv_flags::none);
    bool extra = false;
    while (payload.more()) {
      zmq::message_t rest;
      (void)socket_.recv(rest, zmq::recv_flags::none);
      extra = true;
      if (!rest.more()) break;
    }
    ++counters_.frames;
    const auto now = steady::now();
    if (extra) {
      ++counters_.decode_failures;
      if (observer_) observer_->decode_failed();
      twin::batch_ack ack;
      ack.status = twin::ack_status::malformed;
      ack.message = "garbage: a batch is one frame, this message had several";
      send_ack(peer_of(peer), ack, now);
      continue;
    }
    handle_frame(peer, payload, now);
  }
}

void ingest_server::handle_frame(const zmq::message_t& peer, const zmq::message_t& payload,
                                 steady::time_point now) {
  auto decoded = decoder_.decode_batch(bytes_of(payload));
  if (!decoded) {
    const auto& error = decoded.error();
    twin::batch_ack ack;
    ack.key = error.key;
    ack.status = ack_status_for(error.failure);
    ack.message = error.message;
    if (error.failure == decode_failure::wrong_version) {
      ++counters_.wrong_version;
    } else {
      ++counters_.decode_failures;
      if (observer_) observer_->decode_failed();
    }
    send_ack(peer_of(peer), ack, now);
    return;
  }
  std::string id = peer_of(peer);
  auto& peer_inflight = inflight_by_peer_[id];
  if (peer_inflight >= options_.inflight_per_gateway_max) {
    ++counters_.overloaded;
    twin::batch_ack ack;
    ack.key = decoded->key;
    ack.status = twin::ack_status::overloaded;
    ack.rejected[twin::reject_reason::overloaded] =
        static_cast<std::uint32_t>(decoded->readings.size());
    ack.message = "gateway has " + std::to_string(peer_inflight) +
                  " unacked batches, the limit is " +
                  std::to_string(options_.inflight_per_gateway_max);
    send_ack(id, ack, now);
    return;
  }
  ++peer_inflight;
  set_inflight(inflight_total_ + 1);
  ++counters_.batches_submitted;
  const twin::batch_key key = decoded->key;
  auto batch = std::make_shared<const twin::reading_batch>(std::move(*decoded));
  sink_.submit(std::move(batch),
               [queue = queue_, peer = std::move(id), key, now](twin::batch_ack ack) mutable {
                 ack.key = key;
                 queue->push(completion{std::move(peer), std::move(ack), now});
               });
}

void ingest_server::finish(std::vector<completion>& done) {
  for (auto& c : done) {
    auto it = inflight_by_peer_.find(c.peer);
    TWIN_CHECK(it != inflight_by_peer_.end());
    TWIN_CHECK_OP(it->second, >, 0u);
    // Forget idle peers so the table only holds peers with batches in flight.
    if (--it->second == 0) inflight_by_peer_.erase(it);
    set_inflight(inflight_total_ - 1);
    send_ack(c.peer, c.ack, c.received);
  }
}

void ingest_server::send_ack(const std::string& peer, const twin::batch_ack& ack_in,
                             steady::time_point received) {
  twin::batch_ack ack = ack_in;
  ack.credit = options_.inflight_per_gateway_max;
  // Report before sending: whoever holds the ack may look at the metrics at once.
  if (observer_)
    observer_->batch_done(ack.status, ack.accepted, ack.rejected, seconds_since(received));
  zmq::message_t payload;
  encoder_.encode_ack(ack, payload);
  bool sent = false;
  try {
    if (socket_.send(zmq::buffer(peer), zmq::send_flags::sndmore | zmq::send_flags::dontwait))
      sent = socket_.send(payload, zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t&) {
    // EHOSTUNREACH (router_mandatory): the gateway disconnected. It resends when it returns.
  }
  if (sent)
    ++counters_.acks_sent;
  else
    ++counters_.acks_unsent;
}

void ingest_server::set_inflight(std::uint32_t n) {
  inflight_total_ = n;
  counters_.inflight = n;
  if (n > counters_.inflight_peak) counters_.inflight_peak = n;
  if (observer_) observer_->in_flight(n);
}

}  // namespace cluster
