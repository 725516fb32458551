#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cluster/codec.hpp"
#include "cluster/curve.hpp"
#include "twin/base/expected.hpp"
#include "twin/live/reading.hpp"

namespace cluster {

struct gateway_options {
  std::string endpoint;  // the node's ingest socket, e.g. "tcp://127.0.0.1:7100"
  std::uint64_t gateway_id = 0;
  // One run of the gateway; batches are deduplicated by (gateway, session, sequence), so a
  // restarted gateway must not reuse its previous session. Default: derived from the clock.
  std::optional<std::uint64_t> session;
  // The city the batches are for, sent with each; a node of another city refuses them
  // (`wrong_city`). A fingerprint of 0 names none: any node takes the batches.
  twin::city_identity city;
  // Batches in flight before the node's first ack tells the real credit.
  std::uint32_t credit_initial = 1;
  // Never more batches in flight than this, whatever credit the node grants.
  std::uint32_t unacked_max = 256;
  // An unacked batch is sent again after this long.
  int resend_timeout_ms = 2000;
  // After an `overloaded` ack a batch waits this long before it is sent again, doubling on each
  // further `overloaded` up to the maximum.
  int backoff_initial_ms = 20;
  int backoff_max_ms = 2000;
  // send() gives up when it could not get credit within this time.
  int credit_wait_max_ms = 60000;
  int send_hwm = 1000;
  // CURVE keys for a node that requires them; none connects plain TCP.
  std::optional<curve_client_keys> curve;
};

struct gateway_stats {
  std::uint64_t batches_sent = 0;    // first transmissions
  std::uint64_t batches_resent = 0;  // later transmissions (timeout or overloaded)
  std::uint64_t batches_acked = 0;   // batches finished by an applied or duplicate ack
  std::uint64_t readings_sent = 0;
  std::uint64_t readings_accepted = 0;
  std::array<std::uint64_t, twin::reject_reason_count> rejected{};  // by twin::reject_reason
  std::uint64_t duplicates = 0;      // acks saying the batch had been applied before
  std::uint64_t overloaded = 0;      // `overloaded` acks received
  std::uint64_t acks_unmatched = 0;  // acks for another gateway, session or unknown sequence
  std::uint32_t credit = 0;          // batches the node lets us have in flight
  std::uint32_t unacked = 0;         // batches in flight now
  twin::city_identity node_city;     // the node's city, as its last ack said
  std::uint64_t rejected_total() const;
};

struct gateway_error {
  enum class kind : std::uint8_t {
    timeout,        // no credit or no acks in time
    wrong_version,  // the node speaks another protocol version
    malformed,      // the node could not decode our batch, or we could not decode its ack
    wrong_city,     // the node runs another city than the one we send for
    transport,      // ZeroMQ refused (bad endpoint)
  };
  kind what = kind::transport;
  std::string message;
};

// The client of a node's ingest socket, for sensor gateways and `citytwin feed`. Single-threaded:
// acks are processed inside send(), flush() and poll(), on the caller's thread.
class gateway {
 public:
  explicit gateway(gateway_options options);
  ~gateway();
  gateway(const gateway&) = delete;
  gateway& operator=(const gateway&) = delete;

  // Connects the socket (ZeroMQ connects in the background and reconnects by itself).
  // Returns the session in use.
  twin::expected<std::uint64_t, gateway_error> connect();

  // Sends one batch (at most batch_readings_max readings), blocking only while credit is
  // exhausted. The readings are encoded once and kept until acked. Returns the batch's sequence,
  // or an error: a refusal the node sent for an earlier batch, or no credit in time.
  twin::expected<std::uint64_t, gateway_error> send(std::span<const twin::reading> readings);

  // Waits until every batch sent is acked (resending as needed).
  twin::expected<gateway_stats, gateway_error> flush(int timeout_ms);

  // Processes acks for up to timeout_ms (and resends what is due). Returns a pending refusal.
  std::optional<gateway_error> poll(int timeout_ms);

  gateway_stats stats() const;
  std::uint64_t session() const { return session_; }

 private:
  using steady = std::chrono::steady_clock;
  struct pending {
    std::vector<std::byte> frame;  // encoded once, resent as is
    std::uint32_t readings = 0;
    steady::time_point next_send;
    int backoff_ms = 0;
  };

  void transmit(std::uint64_t sequence, pending& p, steady::time_point now);
  void schedule(pending& p, steady::time_point at);
  void pump(steady::time_point deadline);
  void handle_ack(const zmq::message_t& frame);
  void resend_due(steady::time_point now);
  std::uint32_t window() const;
  std::string hint() const;
  std::optional<gateway_error> take_error();

  gateway_options options_;
  std::uint64_t session_;
  // ZeroMQ's context and socket, kept out of this header.
  struct dealer;
  std::unique_ptr<dealer> dealer_;
  encoder encoder_;
  decoder decoder_;
  std::uint64_t next_sequence_ = 0;
  std::map<std::uint64_t, pending> unacked_;  // by sequence
  // No unacked batch is due before this: a lower bound of their next_send (too low only after the
  // batch that held it was acked), so that a send with nothing due does not walk every unacked
  // batch (three walks a send before, a cost that grew with the credit).
  steady::time_point next_due_ = steady::time_point::max();
  std::optional<gateway_error> error_;  // first refusal not yet reported
  gateway_stats stats_;
  bool heard_from_node_ = false;  // an ack arrived: the connection (and its keys) work
};

}  // namespace cluster
