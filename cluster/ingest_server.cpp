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
  r.curve = o.curve;
  r.curve_refusals = o.curve_refusals;
  r.name = "ingest server";
  r.receive_hwm = o.receive_hwm;
  r.send_hwm = o.send_hwm;
  r.message_bytes_max = socket_bytes_max(o.frame_bytes_max);
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
          [this](std::uint32_t n) { set_inflight(n); }, [this] { frame_dropped(); }) {
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
  s.frames_dropped = counters_.frames_dropped;
  s.inflight = counters_.inflight;
  s.inflight_peak = counters_.inflight_peak;
  for (std::size_t i = 0; i < twin::ack_status_count; ++i) s.acks[i] = counters_.acks[i];
  s.readings_accepted = counters_.readings_accepted;
  for (std::size_t i = 0; i < twin::reject_reason_count; ++i)
    s.readings_rejected.by_reason[i] = counters_.readings_rejected[i];
  return s;
}

void ingest_server::begin_stop() {
  std::lock_guard lock(stop_mutex_);
  stopping_ = true;
}

bool ingest_server::wait_drained(std::chrono::milliseconds timeout) {
  std::unique_lock lock(stop_mutex_);
  return drained_.wait_for(lock, timeout, [this] { return admitted_ == 0; });
}

std::uint64_t ingest_server::finished_while_stopping() const {
  std::lock_guard lock(stop_mutex_);
  return finished_while_stopping_;
}

bool ingest_server::handle_frame(const router_frame& frame) {
  ++counters_.frames;
  const auto now = steady::now();
  auto decoded = decoder_->decode_batch(frame.payload);
  if (frame.extra_parts) {
    ++counters_.decode_failures;
    if (observer_) observer_->decode_failed();
    // The first part's header, when readable, still says whose batch it was and how big.
    twin::batch_key key;
    std::uint32_t readings = 0;
    if (decoded) {
      key = decoded->key;
      readings = static_cast<std::uint32_t>(decoded->readings.size());
    } else {
      key = decoded.error().key;
      readings = decoded.error().readings;
    }
    send_ack(frame.peer,
             twin::refusal_ack(key, twin::ack_status::malformed, readings,
                               "garbage: a batch is one frame, this message had several"),
             now);
    return false;
  }
  if (!decoded) {
    const auto& error = decoded.error();
    if (error.failure == decode_failure::wrong_version) {
      ++counters_.wrong_version;
    } else {
      ++counters_.decode_failures;
      if (observer_) observer_->decode_failed();
    }
    send_ack(
        frame.peer,
        twin::refusal_ack(error.key, ack_status_for(error.failure), error.readings, error.message),
        now);
    return false;
  }
  if (auto refused = refusal(*decoded)) {
    send_ack(frame.peer, std::move(*refused), now);
    return false;
  }
  return admit(frame.peer, std::move(*decoded), now);
}

// A well-formed batch for another city is refused whole: resending it cannot help.
std::optional<twin::batch_ack> ingest_server::refusal(const twin::reading_batch& batch) {
  const auto& ours = options_.city;
  if (batch.city.fingerprint == 0 || ours.fingerprint == 0 ||
      batch.city.fingerprint == ours.fingerprint)
    return std::nullopt;
  auto name = [](const twin::city_identity& c) {
    return (c.name.empty() ? std::string("an unnamed city") : "'" + c.name + "'") + " (" +
           twin::fingerprint_text(c.fingerprint) + ")";
  };
  return twin::refusal_ack(
      batch.key, twin::ack_status::wrong_city, static_cast<std::uint32_t>(batch.readings.size()),
      "batch for city " + name(batch.city) + ", this node runs city " + name(ours));
}

bool ingest_server::admit(const std::string& peer, twin::reading_batch batch,
                          steady::time_point received) {
  const auto readings = static_cast<std::uint32_t>(batch.readings.size());
  bool stopping = false;
  {
    // Admitting and begin_stop() exclude each other: no batch is admitted once it returned.
    std::lock_guard lock(stop_mutex_);
    stopping = stopping_;
    if (!stopping) ++admitted_;
  }
  if (stopping) {
    send_ack(peer,
             twin::refusal_ack(batch.key, twin::ack_status::stopping, readings,
                               "the node is stopping: nothing applied, resend elsewhere or later"),
             received);
    return false;
  }
  auto& peer_inflight = inflight_by_peer_[peer];
  if (peer_inflight >= options_.inflight_per_gateway_max) {
    ++counters_.overloaded;
    send_ack(peer,
             twin::refusal_ack(batch.key, twin::ack_status::overloaded, readings,
                               "gateway has " + std::to_string(peer_inflight) +
                                   " unacked batches, the limit is " +
                                   std::to_string(options_.inflight_per_gateway_max)),
             received);
    finish_admitted();
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
  std::lock_guard lock(stop_mutex_);
  if (stopping_) ++finished_while_stopping_;
  finish_admitted_locked();
}

void ingest_server::finish_admitted() {
  std::lock_guard lock(stop_mutex_);
  finish_admitted_locked();
}

void ingest_server::finish_admitted_locked() {
  TWIN_CHECK_OP(admitted_, >, 0u);
  if (--admitted_ == 0) drained_.notify_all();
}

void ingest_server::send_ack(const std::string& peer, twin::batch_ack ack,
                             steady::time_point received) {
  ack.credit = options_.inflight_per_gateway_max;
  ack.city = options_.city;
  // Report before sending: whoever holds the ack may look at the metrics at once.
  ++counters_.acks[static_cast<std::size_t>(ack.status)];
  counters_.readings_accepted += ack.accepted;
  for (std::size_t i = 0; i < twin::reject_reason_count; ++i)
    if (ack.rejected.by_reason[i] > 0) counters_.readings_rejected[i] += ack.rejected.by_reason[i];
  if (observer_)
    observer_->batch_done(ack.status, ack.accepted, ack.rejected, seconds_since(received));
  if (server_.send(peer, encoder_->encode_ack(ack, ack_bytes_))) {
    ++counters_.acks_sent;
  } else {
    ++counters_.acks_unsent;
    if (observer_) observer_->ack_unsent();
  }
}

void ingest_server::frame_dropped() {
  ++counters_.frames_dropped;
  if (observer_) observer_->frame_dropped(twin::frame_drop::no_payload);
}

void ingest_server::set_inflight(std::uint32_t n) {
  counters_.inflight = n;
  if (n > counters_.inflight_peak) counters_.inflight_peak = n;
  if (observer_) observer_->in_flight(n);
}

}  // namespace cluster
