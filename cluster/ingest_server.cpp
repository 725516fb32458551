#include "cluster/ingest_server.hpp"

#include <algorithm>
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
  if (options_.log != nullptr && options_.log->mode() == durability::power) {
    durable_lsn_ = options_.log->durable_lsn();
    server_.watch(options_.log->commit_fd(), [this] { on_commit(); });
  }
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
  s.storage_unavailable = counters_.storage_unavailable;
  s.waiting_for_disk = counters_.waiting_for_disk;
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
  return admit(frame.peer, std::move(*decoded), frame.payload, now);
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
                          std::span<const std::byte> frame, steady::time_point received) {
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
  if (options_.clock != nullptr) batch.received = options_.clock->now_ms();
  // Logged before it is applied: a batch applied is always a batch kept.
  std::uint64_t lsn = 0;
  if (options_.log != nullptr) {
    auto logged = options_.log->append(batch.received, frame);
    if (!logged) {
      ++counters_.storage_unavailable;
      send_ack(peer,
               twin::refusal_ack(batch.key, twin::ack_status::storage_unavailable, readings,
                                 "the node could not keep the batch (" + logged.error().message +
                                     "): nothing applied, resend later"),
               received);
      finish_admitted();
      return false;
    }
    lsn = *logged;
  }
  ++peer_inflight;
  ++counters_.batches_submitted;
  const twin::batch_key key = batch.key;
  sink_.submit(
      std::make_shared<const twin::reading_batch>(std::move(batch)),
      [this, complete = server_.completions(), peer, key, received, lsn](twin::batch_ack ack) {
        ack.key = key;
        // Runs on the I/O thread, and only while the server runs.
        complete([this, peer, ack = std::move(ack), received, lsn] {
          finish(peer, std::move(ack), received, lsn);
        });
      });
  if (lsn != 0 && options_.snapshot_every_bytes > 0 && options_.snapshot_due) {
    log_bytes_since_snapshot_ += wal::record_bytes(batch_record_header_bytes + frame.size());
    if (log_bytes_since_snapshot_ >= options_.snapshot_every_bytes &&
        !snapshot_pending_.exchange(true)) {
      log_bytes_since_snapshot_ = 0;
      options_.snapshot_due(lsn);
    }
  }
  return true;
}

void ingest_server::snapshot_finished() {
  snapshot_pending_ = false;
}

// The batch is applied. With `power` its ack also waits for the group commit to pass its LSN.
void ingest_server::finish(const std::string& peer, twin::batch_ack ack,
                           steady::time_point received, std::uint64_t lsn) {
  if (lsn > durable_lsn_ && options_.log->mode() == durability::power) {
    if (commit_failed_) {
      deliver(peer, not_kept(ack, "an fdatasync of its log failed"), received);
      return;
    }
    parked_.emplace(lsn, parked_ack{peer, std::move(ack), received});
    counters_.waiting_for_disk = static_cast<std::uint32_t>(parked_.size());
    return;
  }
  deliver(peer, std::move(ack), received);
}

// The group commit moved: the acks it covers go out in LSN order. After a failed fdatasync
// nothing waiting can be called kept: those batches are acked `storage_unavailable` (applied in
// memory, maybe not on disk; their resend to a restarted node is applied or found a duplicate).
void ingest_server::on_commit() {
  const auto state = options_.log->take_commit();
  durable_lsn_ = std::max(durable_lsn_, state.durable_lsn);
  while (!parked_.empty() && parked_.begin()->first <= durable_lsn_) {
    auto p = std::move(parked_.begin()->second);
    parked_.erase(parked_.begin());
    deliver(p.peer, std::move(p.ack), p.received);
  }
  if (state.failed && !commit_failed_) {
    commit_failed_ = true;
    auto waiting = std::move(parked_);
    parked_.clear();
    for (auto& [lsn, p] : waiting)
      deliver(p.peer, not_kept(p.ack, "an fdatasync of its log failed"), p.received);
  }
  counters_.waiting_for_disk = static_cast<std::uint32_t>(parked_.size());
}

twin::batch_ack ingest_server::not_kept(const twin::batch_ack& ack, const std::string& why) const {
  return twin::refusal_ack(
      ack.key, twin::ack_status::storage_unavailable,
      static_cast<std::uint32_t>(ack.accepted + ack.rejected.total()),
      "the node could not keep the batch (" + why + "): resend to a restarted node");
}

void ingest_server::deliver(const std::string& peer, twin::batch_ack ack,
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
