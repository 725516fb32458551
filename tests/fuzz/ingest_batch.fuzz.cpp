// ReadingBatch frames as the ingest server receives them: decoded by the decoder it uses (aligned
// and one byte off alignment, as ZeroMQ hands frames over), then validated and applied to the
// districts of a small city, then acked. A refused frame gets the refusal ack the server sends.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_support.hpp"
#include "twin/base/check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto frame = fuzz::as_bytes(data, size);
  cluster::decoder dec;
  auto decoded = dec.decode_batch(frame);
  std::vector<std::byte> storage;
  auto shifted = dec.decode_batch(fuzz::misaligned_copy(frame, storage));
  fuzz::check_same_outcome(decoded.has_value(), shifted.has_value(),
                           decoded ? nullptr : &decoded.error(),
                           shifted ? nullptr : &shifted.error());

  if (!decoded) {
    const auto& error = decoded.error();
    // The server's answer to a refused frame: nothing applied, the reason named.
    auto ack = twin::refusal_ack(error.key, cluster::ack_status_for(error.failure), 0,
                                 error.message);
    ack.credit = cluster::credit_default;
    TWIN_CHECK(ack.status != twin::ack_status::applied);
    fuzz::check_ack_round_trip(ack);
    return 0;
  }
  const auto& batch = *decoded;
  TWIN_CHECK(shifted->key == batch.key);
  TWIN_CHECK(fuzz::same_readings(shifted->readings, batch.readings));
  TWIN_CHECK_OP(batch.readings.size(), <=, cluster::batch_readings_max);

  // What was decoded encodes to a frame that decodes to the same batch.
  cluster::encoder enc;
  std::vector<std::byte> again;
  enc.encode_batch(batch.key, batch.readings, again);
  auto redecoded = dec.decode_batch(again);
  TWIN_CHECK(redecoded.has_value());
  TWIN_CHECK(redecoded->key == batch.key);
  TWIN_CHECK(fuzz::same_readings(redecoded->readings, batch.readings));

  // Applied as the runtime does; a resend of the same batch applies nothing twice.
  fuzz::live_city live;
  auto ack = live.apply(batch);
  fuzz::check_ack_round_trip(ack);
  auto resent = live.apply(batch);
  TWIN_CHECK_OP(resent.accepted, ==, 0u);
  fuzz::check_ack_round_trip(resent);
  // The state it leaves behind answers queries that encode and decode.
  fuzz::check_reply_round_trip(1, live.answer(twin::query_city{}));
  fuzz::check_reply_round_trip(2, live.answer(twin::query_district{"fatima"}));
  if (!batch.readings.empty()) {
    auto key = std::to_string(batch.readings.front().sensor.value);
    fuzz::check_reply_round_trip(3, live.answer(twin::query_sensor{key}));
  }
  return 0;
}
