#pragma once

// A bare DEALER on a node's ingest socket: encoded batches out, acks in, with no gateway logic
// (credit, resends) to hide what the node answers.

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "cluster/codec.hpp"

namespace systest {

struct raw_dealer {
  explicit raw_dealer(const std::string& endpoint) : dealer(context, zmq::socket_type::dealer) {
    dealer.set(zmq::sockopt::linger, 0);
    dealer.connect(endpoint);
  }
  void send(const twin::batch_key& key, std::span<const twin::reading> readings,
            const twin::city_identity& city = {}) {
    encoder.encode_batch(key, readings, frame, city);
    dealer.send(zmq::buffer(frame.data(), frame.size()), zmq::send_flags::none);
  }
  // The next ack, or nullopt when none came within `timeout`; an ack that does not decode fails
  // the test.
  std::optional<twin::batch_ack> receive(std::chrono::milliseconds timeout) {
    zmq::pollitem_t items[] = {{dealer.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, timeout);
    zmq::message_t in;
    if (!dealer.recv(in, zmq::recv_flags::dontwait)) return std::nullopt;
    auto ack = decoder.decode_ack(cluster::bytes_of(in));
    REQUIRE(ack.has_value());
    return *ack;
  }

  zmq::context_t context;
  zmq::socket_t dealer;
  cluster::encoder encoder;
  cluster::decoder decoder;
  std::vector<std::byte> frame;
};

}  // namespace systest
