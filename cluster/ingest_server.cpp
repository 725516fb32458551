#include "cluster/ingest_server.hpp"

#include <utility>

#include "cluster/codec.hpp"
#include "twin/base/check.hpp"

namespace cluster {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

router_server_options router_options(const ingest_server_options& o) {
  router_server_options r;
  r.endpoint = o.endpoint;
  r.name = "ingest server";
  r.receive_hwm = o.receive_hwm;
  r.send_hwm = o.send_hwm;
  r.message_bytes_max = o.frame_bytes_max;
  r.inflight_max = o.inflight_total_max;
  r.receive_burst_max = o.receive_burst_max;
  return r;
}

}  // namespace

ingest_server::ingest_server(twin::batch_sink& sink, ingest_server_options options,
                             twin::ingest_observer* observer)
    : sink_(sink),
      options_(std::move(options)),
      observer_(observer),
      decoder_(std::make_unique<decoder>(options_.frame_bytes_max)),
      encoder_(std::make_unique<encoder>()),
      server_(
          router_options(options_), [this](const router_frame& f) { return handle_frame(f); },
          [this](std::uint32_t n) { set_inflight(n); }) {
  TWIN_CHECK_OP(options_.inflight_per_gateway_max, >, 0u);
}

ingest_server::~ingest_server() {
  stop();
}

twin::expected<std::string, std::string> ingest_server::start() {
  return server_.start();
}

void ingest_server::stop() {
  server_.stop();
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

bool ingest_server::handle_frame(const router_frame& frame) {
  ++counters_.frames;
  const auto now = steady::now();
  if (frame.extra_parts) {
    ++counters_.decode_failures;
    if (observer_) observer_->decode_failed();
    send_ack(frame.peer,
             twin::refusal_ack({}, twin::ack_status::malformed, 0,
                               "garbage: a batch is one frame, this message had several"),
             now);
    return false;
  }
  auto decoded = decoder_->decode_batch(frame.payload);
  if (!decoded) {
    const auto& error = decoded.error();
    if (error.failure == decode_failure::wrong_version) {
      ++counters_.wrong_version;
    } else {
      ++counters_.decode_failures;
      if (observer_) observer_->decode_failed();
    }
    send_ack(frame.peer,
             twin::refusal_ack(error.key, ack_status_for(error.failure), 0, error.message), now);
    return false;
  }
  return admit(frame.peer, std::move(*decoded), now);
}

bool ingest_server::admit(const std::string& peer, twin::reading_batch batch,
                          steady::time_point received) {
  auto& peer_inflight = inflight_by_peer_[peer];
  if (peer_inflight >= options_.inflight_per_gateway_max) {
    ++counters_.overloaded;
    send_ack(peer,
             twin::refusal_ack(batch.key, twin::ack_status::overloaded,
                               static_cast<std::uint32_t>(batch.readings.size()),
                               "gateway has " + std::to_string(peer_inflight) +
                                   " unacked batches, the limit is " +
                                   std::to_string(options_.inflight_per_gateway_max)),
             received);
    return false;
  }
  ++peer_inflight;
  ++counters_.batches_submitted;
  const twin::batch_key key = batch.key;
  sink_.submit(
      std::make_shared<const twin::reading_batch>(std::move(batch)),
      [this, complete = server_.completions(), peer, key, received](twin::batch_ack ack) {
        ack.key = key;
        // Runs on the I/O thread, and only while the server runs.
        complete([this, peer, ack = std::move(ack), received] { finish(peer, ack, received); });
      });
  return true;
}

void ingest_server::finish(const std::string& peer, const twin::batch_ack& ack,
                           steady::time_point received) {
  auto it = inflight_by_peer_.find(peer);
  TWIN_CHECK(it != inflight_by_peer_.end());
  TWIN_CHECK_OP(it->second, >, 0u);
  // Forget idle peers so the table only holds peers with batches in flight.
  if (--it->second == 0) inflight_by_peer_.erase(it);
  send_ack(peer, ack, received);
}

void ingest_server::send_ack(const std::string& peer, twin::batch_ack ack,
                             steady::time_point received) {
  ack.credit = options_.inflight_per_gateway_max;
  // Report before sending: whoever holds the ack may look at the metrics at once.
  if (observer_)
    observer_->batch_done(ack.status, ack.accepted, ack.rejected, seconds_since(received));
  if (server_.send(peer, encoder_->encode_ack(ack, ack_bytes_)))
    ++counters_.acks_sent;
  else
    ++counters_.acks_unsent;
}

void ingest_server::set_inflight(std::uint32_t n) {
  counters_.inflight = n;
  if (n > counters_.inflight_peak) counters_.inflight_peak = n;
  if (observer_) observer_->in_flight(n);
}

}  // namespace cluster
