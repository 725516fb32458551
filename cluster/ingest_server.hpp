#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/batch_log.hpp"
#include "cluster/curve.hpp"
#include "cluster/protocol.hpp"
#include "cluster/router_server.hpp"
#include "twin/base/expected.hpp"
#include "twin/base/time.hpp"
#include "twin/live/services.hpp"

namespace cluster {

class decoder;
class encoder;

struct ingest_server_options {
  std::string endpoint = "tcp://127.0.0.1:0";
  // Unacked batches one gateway may have: the credit every ack carries. More are acked
  // `overloaded` at once, nothing applied.
  std::uint32_t inflight_per_gateway_max = credit_default;
  // Unacked batches over all gateways; when reached the socket is not read, so TCP backpressure
  // slows the gateways and memory stays flat.
  std::uint32_t inflight_total_max = ingest_inflight_total_max_default;
  // A larger frame is acked `malformed` (its readings counted when its header can be read).
  // ZeroMQ's own limit is set well above it (socket_bytes_max), so such a frame reaches us.
  std::size_t frame_bytes_max = cluster::frame_bytes_max;
  // The node's city: set on every ack; a batch naming another (a non-zero fingerprint that
  // differs) is refused whole, `wrong_city`. A fingerprint of 0 here checks nothing.
  twin::city_identity city;
  int receive_hwm = 1000;
  int send_hwm = 10000;
  // Frames taken from the socket per wake-up, so completions are not starved by a busy socket.
  std::uint32_t receive_burst_max =
      64;  // CURVE: see router_server_options. Without keys the socket is plain TCP.
  std::optional<curve_server_keys> curve;
  curve_observer* curve_refusals = nullptr;
  // Stamps each batch's receive time (reading_batch::received) before it is logged and applied,
  // so that a replay judges it at the same time. Null: the runtime stamps it.
  const twin::clock* clock = nullptr;
  // The node's log (outlives the server). Every admitted batch is written to it before it is
  // applied; one that cannot be written is refused `storage_unavailable`, nothing applied. Its
  // ack is sent once the batch is applied and, with `power` durability, once the group commit
  // made its record durable. Null: nothing is kept.
  batch_log* log = nullptr;
  // Periodic snapshots: once this many bytes were written to the log since the last one,
  // snapshot_due(lsn) is called on the I/O thread right after the batch with that LSN was handed
  // to the sink, so that a snapshot barrier sent from it follows exactly the batches up to lsn.
  // No other is asked for until snapshot_finished(). 0: never.
  std::uint64_t snapshot_every_bytes = 0;
  std::function<void(std::uint64_t lsn)> snapshot_due;
};

// Counters of the I/O thread, readable from any thread.
struct ingest_server_stats {
  std::uint64_t frames = 0;             // payload frames received
  std::uint64_t batches_submitted = 0;  // handed to the sink
  std::uint64_t decode_failures = 0;    // garbage, truncated or too large
  std::uint64_t wrong_version = 0;
  std::uint64_t overloaded = 0;           // refused because the gateway had no credit left
  std::uint64_t storage_unavailable = 0;  // refused because the log could not keep them
  std::uint32_t waiting_for_disk = 0;     // applied, acks waiting for the group commit
  std::uint64_t acks_sent = 0;
  std::uint64_t acks_unsent = 0;     // peer gone or its queue full: it will resend
  std::uint64_t frames_dropped = 0;  // dropped before an ack could be formed (no payload)
  std::uint32_t inflight = 0;
  std::uint32_t inflight_peak = 0;  // highest in-flight count seen
  // Over every ack formed (sent or not): acks by status, readings accepted and rejected by
  // reason. The same totals as the metrics.
  std::array<std::uint64_t, twin::ack_status_count> acks{};
  std::uint64_t readings_accepted = 0;
  twin::reject_counts readings_rejected;

  std::uint64_t acks_of(twin::ack_status s) const { return acks[static_cast<std::size_t>(s)]; }
};

// Receives ReadingBatch frames on a ZeroMQ ROUTER socket, hands them to a batch_sink and sends
// each gateway the ack of each batch once the sink is done with it. Runs its own I/O thread.
// The one owner of ingest flow control: the protocol version and batch size (through the
// decoder), each gateway's credit, the node's in-flight bound, and the reports to the observer
// (one per ack, with the batch's whole latency).
class ingest_server {
 public:
  // `sink` and `observer` (which may be null) must outlive the server.
  ingest_server(twin::batch_sink& sink, ingest_server_options options = {},
                twin::ingest_observer* observer = nullptr);
  ~ingest_server();
  ingest_server(const ingest_server&) = delete;
  ingest_server& operator=(const ingest_server&) = delete;

  // Binds and starts the I/O thread. Returns the bound endpoint (the real port when the
  // configured one is 0), or why binding failed.
  twin::expected<std::string, std::string> start();
  // Stops and joins the I/O thread. Idempotent. Acks of batches still in flight are not sent.
  void stop();

  // The graceful stop, in two steps. begin_stop(): from now on every batch is refused whole,
  // `stopping` (nothing applied, its readings counted under `stopping`); batches admitted before
  // go on. Any thread; idempotent. wait_drained(): waits until every admitted batch is acked (its
  // ack sent, or found unsendable); false when `timeout` passed first.
  void begin_stop();
  bool wait_drained(std::chrono::milliseconds timeout);
  // Batches admitted before begin_stop() and acked since (how many a stop waited for).
  std::uint64_t finished_while_stopping() const;
  // The snapshot asked for by snapshot_due is written (or failed): the next may be asked for.
  // Any thread.
  void snapshot_finished();

  const std::string& endpoint() const { return server_.endpoint(); }
  ingest_server_stats stats() const;

 private:
  using steady = std::chrono::steady_clock;

  // An applied batch whose ack waits for the group commit (`power`).
  struct parked_ack {
    std::string peer;
    twin::batch_ack ack;
    steady::time_point received;
  };

  bool handle_frame(const router_frame& frame);
  bool admit(const std::string& peer, twin::reading_batch batch, std::span<const std::byte> frame,
             steady::time_point received);
  void finish(const std::string& peer, twin::batch_ack ack, steady::time_point received,
              std::uint64_t lsn);
  void deliver(const std::string& peer, twin::batch_ack ack, steady::time_point received);
  void on_commit();
  twin::batch_ack not_kept(const twin::batch_ack& ack, const std::string& why) const;
  void send_ack(const std::string& peer, twin::batch_ack ack, steady::time_point received);
  void set_inflight(std::uint32_t n);
  void frame_dropped();
  void finish_admitted();
  void finish_admitted_locked();
  std::optional<twin::batch_ack> refusal(const twin::reading_batch& batch);

  twin::batch_sink& sink_;
  ingest_server_options options_;
  twin::ingest_observer* observer_;

  // Owned by the I/O thread.
  std::unique_ptr<decoder> decoder_;
  std::unique_ptr<encoder> encoder_;
  std::vector<std::byte> ack_bytes_;
  std::unordered_map<std::string, std::uint32_t> inflight_by_peer_;  // peers with unacked batches
  std::map<std::uint64_t, parked_ack> parked_;                       // by LSN
  std::uint64_t log_bytes_since_snapshot_ = 0;
  std::atomic<bool> snapshot_pending_{false};
  std::uint64_t durable_lsn_ = 0;
  bool commit_failed_ = false;

  // The stop: admitting a batch and beginning the stop exclude each other, so that once
  // begin_stop() returns no batch is admitted any more and `admitted_` only falls.
  mutable std::mutex stop_mutex_;
  std::condition_variable drained_;
  bool stopping_ = false;
  std::uint64_t admitted_ = 0;  // admitted and not yet acked
  std::uint64_t finished_while_stopping_ = 0;

  struct counters {
    std::atomic<std::uint64_t> frames{0}, batches_submitted{0}, decode_failures{0},
        wrong_version{0}, overloaded{0}, acks_sent{0}, acks_unsent{0}, frames_dropped{0},
        storage_unavailable{0};
    std::atomic<std::uint32_t> waiting_for_disk{0};
    std::atomic<std::uint32_t> inflight{0}, inflight_peak{0};
    std::array<std::atomic<std::uint64_t>, twin::ack_status_count> acks{};
    std::atomic<std::uint64_t> readings_accepted{0};
    std::array<std::atomic<std::uint64_t>, twin::reject_reason_count> readings_rejected{};
  };
  counters counters_;
  // Last: its I/O thread uses everything above, and it stops first.
  router_server server_;
};

}  // namespace cluster
