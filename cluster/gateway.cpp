#include "cluster/gateway.hpp"

#include <algorithm>
#include <random>

#include <zmq.hpp>

namespace cluster {

namespace {

std::uint64_t fresh_session() {
  // Clock and entropy both: two gateways started in the same nanosecond still differ.
  std::random_device entropy;
  const auto ns = std::chrono::system_clock::now().time_since_epoch().count();
  return static_cast<std::uint64_t>(ns) ^ (static_cast<std::uint64_t>(entropy()) << 32);
}

int ms_until(std::chrono::steady_clock::time_point t, std::chrono::steady_clock::time_point now) {
  if (t <= now) return 0;
  // Rounded up so a wait never wakes just before its deadline and spins.
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(t - now).count());
}

}  // namespace

std::uint64_t gateway_stats::rejected_total() const {
  std::uint64_t n = 0;
  for (auto r : rejected) n += r;
  return n;
}

struct gateway::dealer {
  zmq::context_t context{1};
  zmq::socket_t socket;
};

gateway::gateway(gateway_options options)
    : options_(std::move(options)),
      session_(options_.session.value_or(fresh_session())),
      dealer_(std::make_unique<dealer>()) {
  TWIN_CHECK_OP(options_.credit_initial, >, 0u);
  TWIN_CHECK_OP(options_.unacked_max, >, 0u);
  TWIN_CHECK_OP(options_.resend_timeout_ms, >, 0);
  TWIN_CHECK_OP(options_.backoff_initial_ms, >, 0);
  stats_.credit = options_.credit_initial;
}

gateway::~gateway() = default;

twin::expected<std::uint64_t, gateway_error> gateway::connect() {
  try {
    dealer_->socket = zmq::socket_t(dealer_->context, zmq::socket_type::dealer);
    dealer_->socket.set(zmq::sockopt::linger, 0);
    dealer_->socket.set(zmq::sockopt::sndhwm, options_.send_hwm);
    if (const auto& c = options_.curve) {
      dealer_->socket.set(zmq::sockopt::curve_serverkey, c->server_public_z85);
      dealer_->socket.set(zmq::sockopt::curve_publickey, c->own.public_z85);
      dealer_->socket.set(zmq::sockopt::curve_secretkey, c->own.secret_z85);
    }
    dealer_->socket.connect(options_.endpoint);
  } catch (const zmq::error_t& e) {
    return twin::unexpected{
        gateway_error{gateway_error::kind::transport,
                      "cannot connect to " + options_.endpoint + ": " + e.what()}};
  }
  return session_;
}

twin::expected<std::uint64_t, gateway_error> gateway::send(
    std::span<const twin::reading> readings) {
  TWIN_CHECK(static_cast<bool>(dealer_->socket));
  TWIN_CHECK_OP(readings.size(), <=, batch_readings_max);
  if (auto e = take_error()) return twin::unexpected{std::move(*e)};
  const auto deadline = steady::now() + std::chrono::milliseconds(options_.credit_wait_max_ms);
  while (unacked_.size() >= window()) {
    if (steady::now() >= deadline)
      return twin::unexpected{gateway_error{
          gateway_error::kind::timeout, "no credit from " + options_.endpoint + " within " +
                                            std::to_string(options_.credit_wait_max_ms) + " ms (" +
                                            std::to_string(unacked_.size()) + " batches unacked)" +
                                            hint()}};
    pump(deadline);
    if (auto e = take_error()) return twin::unexpected{std::move(*e)};
  }
  const std::uint64_t sequence = next_sequence_++;
  auto& p = unacked_[sequence];
  encoder_.encode_batch({options_.gateway_id, session_, sequence}, readings, p.frame,
                        options_.city);
  p.readings = static_cast<std::uint32_t>(readings.size());
  const auto now = steady::now();
  transmit(sequence, p, now);
  ++stats_.batches_sent;
  stats_.readings_sent += readings.size();
  pump(now);  // takes the acks already waiting, without blocking
  return sequence;
}

twin::expected<gateway_stats, gateway_error> gateway::flush(int timeout_ms) {
  const auto deadline = steady::now() + std::chrono::milliseconds(timeout_ms);
  while (!unacked_.empty()) {
    if (auto e = take_error()) return twin::unexpected{std::move(*e)};
    if (steady::now() >= deadline)
      return twin::unexpected{gateway_error{
          gateway_error::kind::timeout,
          std::to_string(unacked_.size()) + " batches still unacked by " + options_.endpoint +
              " after " + std::to_string(timeout_ms) + " ms" + hint()}};
    pump(deadline);
  }
  if (auto e = take_error()) return twin::unexpected{std::move(*e)};
  return stats();
}

std::optional<gateway_error> gateway::poll(int timeout_ms) {
  const auto deadline = steady::now() + std::chrono::milliseconds(timeout_ms);
  do {
    pump(deadline);
  } while (steady::now() < deadline);
  return take_error();
}

gateway_stats gateway::stats() const {
  gateway_stats s = stats_;
  s.unacked = static_cast<std::uint32_t>(unacked_.size());
  return s;
}

void gateway::transmit(std::uint64_t sequence, pending& p, steady::time_point now) {
  (void)sequence;
  zmq::message_t message(p.frame.data(), p.frame.size());
  // At the high-water mark the frame stays queued here and goes out with the next resend.
  const bool sent = dealer_->socket.send(message, zmq::send_flags::dontwait).has_value();
  schedule(p, now + std::chrono::milliseconds(sent ? options_.resend_timeout_ms
                                                   : options_.backoff_initial_ms));
}

void gateway::schedule(pending& p, steady::time_point at) {
  p.next_send = at;
  next_due_ = std::min(next_due_, at);
}

void gateway::pump(steady::time_point deadline) {
  auto now = steady::now();
  resend_due(now);
  // Too early at worst (next_due_ is a lower bound): the wake-up then finds nothing due.
  const auto wake = std::min(deadline, next_due_);
  zmq::pollitem_t items[] = {{dealer_->socket.handle(), 0, ZMQ_POLLIN, 0}};
  zmq::poll(items, 1, std::chrono::milliseconds(ms_until(wake, now)));
  if (items[0].revents & ZMQ_POLLIN) {
    zmq::message_t frame;
    while (dealer_->socket.recv(frame, zmq::recv_flags::dontwait)) handle_ack(frame);
  }
  resend_due(steady::now());
}

void gateway::handle_ack(const zmq::message_t& frame) {
  auto decoded = decoder_.decode_ack(bytes_of(frame));
  if (!decoded) {
    const auto& e = decoded.error();
    if (!error_)
      error_ = gateway_error{e.failure == decode_failure::wrong_version
                                 ? gateway_error::kind::wrong_version
                                 : gateway_error::kind::malformed,
                             "undecodable ack from " + options_.endpoint + ": " + e.message};
    return;
  }
  const twin::batch_ack& ack = *decoded;
  heard_from_node_ = true;
  if (ack.key.gateway != options_.gateway_id || ack.key.session != session_ ||
      ack.key.sequence >= next_sequence_) {
    ++stats_.acks_unmatched;
    return;
  }
  stats_.credit = std::max<std::uint32_t>(1, ack.credit);
  stats_.node_city = ack.city;
  auto it = unacked_.find(ack.key.sequence);
  switch (ack.status) {
    case twin::ack_status::applied:
    case twin::ack_status::duplicate:
      // Counted even when the batch is no longer waiting: after a lost ack, the resend is
      // acked `duplicate` (with nothing counted) and the original ack may still arrive later.
      stats_.readings_accepted += ack.accepted;
      for (std::size_t i = 0; i < twin::reject_reason_count; ++i)
        stats_.rejected[i] += ack.rejected.by_reason[i];
      if (ack.status == twin::ack_status::duplicate) ++stats_.duplicates;
      if (it != unacked_.end()) {
        ++stats_.batches_acked;
        unacked_.erase(it);
      }
      return;
    case twin::ack_status::overloaded:
    case twin::ack_status::stopping:
    case twin::ack_status::storage_unavailable:
      // Nothing applied: back off and resend (a stopping node's batches go on when it is back).
      ++stats_.overloaded;
      if (it != unacked_.end()) {
        auto& p = it->second;
        p.backoff_ms = p.backoff_ms == 0 ? options_.backoff_initial_ms
                                         : std::min(2 * p.backoff_ms, options_.backoff_max_ms);
        schedule(p, steady::now() + std::chrono::milliseconds(p.backoff_ms));
      }
      return;
    case twin::ack_status::malformed:
    case twin::ack_status::wrong_version:
    case twin::ack_status::wrong_city:
      // Resending the same bytes cannot help: give the batch up and tell the caller.
      if (it != unacked_.end()) unacked_.erase(it);
      if (!error_)
        error_ = gateway_error{
            ack.status == twin::ack_status::wrong_version ? gateway_error::kind::wrong_version
            : ack.status == twin::ack_status::wrong_city  ? gateway_error::kind::wrong_city
                                                          : gateway_error::kind::malformed,
            options_.endpoint + " refused batch " + std::to_string(ack.key.sequence) + ": " +
                ack.message};
      return;
  }
}

void gateway::resend_due(steady::time_point now) {
  if (now < next_due_) return;  // every next_send is later still
  auto next = steady::time_point::max();
  for (auto& [sequence, p] : unacked_) {
    if (p.next_send <= now) {
      transmit(sequence, p, now);
      ++stats_.batches_resent;
    }
    next = std::min(next, p.next_send);
  }
  next_due_ = next;
}

// Only when the node never answered: after one ack, the handshake is known to work.
std::string gateway::hint() const {
  return heard_from_node_ ? "" : curve_timeout_hint(options_.curve.has_value());
}

std::uint32_t gateway::window() const {
  return std::min(std::max<std::uint32_t>(1, stats_.credit), options_.unacked_max);
}

std::optional<gateway_error> gateway::take_error() {
  auto e = std::move(error_);
  error_.reset();
  return e;
}

}  // namespace cluster
