#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/protocol.hpp"
#include "twin/base/expected.hpp"
#include "twin/live/reading.hpp"
#include "twin/live/services.hpp"

namespace zmq {
class message_t;
}  // namespace zmq

// The Cap'n Proto codec: twin value types <-> wire frames. Cap'n Proto types stay in codec.cpp so
// that users of the codec compile without the generated headers.
namespace cluster {

enum class decode_failure : std::uint8_t {
  truncated,      // the frame ends before the message it announces
  garbage,        // not a message of the expected schema
  wrong_version,  // a well-formed message of another protocol version
  too_large,      // more bytes or readings than the limits allow
};
std::string_view to_string(decode_failure f);

struct decode_error {
  decode_failure failure = decode_failure::garbage;
  std::string message;  // names the problem and the numbers involved
  // Identity of the refused message when its header could still be read (wrong version, too
  // many readings or bytes, a broken body), so that the refusal can be addressed to it and its
  // readings counted; zero otherwise.
  twin::batch_key key;
  std::uint32_t readings = 0;  // readings the batch's header announces
  std::uint64_t request_id = 0;
};

// The ack status that tells a gateway why its frame was refused as a whole.
twin::ack_status ack_status_for(decode_failure f);

struct query_request_frame {
  std::uint64_t request_id = 0;
  twin::query_request request;
};

struct query_reply_frame {
  std::uint64_t request_id = 0;
  twin::query_reply reply;
};

// Encodes frames, reusing its scratch space from one frame to the next: after warm-up an encode
// allocates nothing but the output (and nothing at all when the output buffer is reused).
// Not thread-safe: one encoder per thread.
class encoder {
 public:
  encoder();
  ~encoder();
  encoder(const encoder&) = delete;
  encoder& operator=(const encoder&) = delete;

  // Each writes the frame into `out` (resized to fit, capacity reused) and returns its bytes.
  // A batch names `city` (none when its fingerprint is 0).
  std::span<const std::byte> encode_batch(const twin::batch_key& key,
                                          std::span<const twin::reading> readings,
                                          std::vector<std::byte>& out,
                                          const twin::city_identity& city = {});
  std::span<const std::byte> encode_ack(const twin::batch_ack& ack, std::vector<std::byte>& out);
  std::span<const std::byte> encode_query_request(std::uint64_t request_id,
                                                  const twin::query_request& request,
                                                  std::vector<std::byte>& out);
  std::span<const std::byte> encode_query_reply(std::uint64_t request_id,
                                                const twin::query_reply& reply,
                                                std::vector<std::byte>& out);

  // The same, straight into a ZeroMQ message (rebuilt to the frame's size): no extra copy.
  void encode_batch(const twin::batch_key& key, std::span<const twin::reading> readings,
                    zmq::message_t& out, const twin::city_identity& city = {});
  void encode_ack(const twin::batch_ack& ack, zmq::message_t& out);
  void encode_query_request(std::uint64_t request_id, const twin::query_request& request,
                            zmq::message_t& out);
  void encode_query_reply(std::uint64_t request_id, const twin::query_reply& reply,
                          zmq::message_t& out);

  struct state;

 private:
  std::unique_ptr<state> state_;
};

// Decodes untrusted frames. Never throws: every failure is a decode_error with a clear message.
// Frames that are not 8-byte aligned are copied into a reused aligned buffer first.
// Not thread-safe: one decoder per thread.
class decoder {
 public:
  explicit decoder(std::size_t bytes_max = frame_bytes_max);
  ~decoder();
  decoder(const decoder&) = delete;
  decoder& operator=(const decoder&) = delete;

  // A batch of another ingest_protocol_version is a wrong_version error; more than
  // batch_readings_max readings, or more than bytes_max bytes, a too_large error. Whenever the
  // batch's header can be read the error carries its key and reading count; a query request's
  // error carries its request id.
  twin::expected<twin::reading_batch, decode_error> decode_batch(std::span<const std::byte> frame);
  twin::expected<twin::batch_ack, decode_error> decode_ack(std::span<const std::byte> frame);
  twin::expected<query_request_frame, decode_error> decode_query_request(
      std::span<const std::byte> frame);
  twin::expected<query_reply_frame, decode_error> decode_query_reply(
      std::span<const std::byte> frame);

  // Frames that had to be copied because they were not 8-byte aligned.
  std::uint64_t realigned() const { return realigned_; }

  struct state;

 private:
  std::unique_ptr<state> state_;
  std::size_t bytes_max_;
  std::uint64_t realigned_ = 0;
};

// The bytes of a ZeroMQ message as a span.
std::span<const std::byte> bytes_of(const zmq::message_t& m);

}  // namespace cluster
