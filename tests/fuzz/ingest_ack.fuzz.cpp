// BatchAck frames as a gateway receives them: decoded (aligned and not), then re-encoded: the
// decoded ack encodes to a frame that decodes to the same ack.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_support.hpp"
#include "twin/base/check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto frame = fuzz::as_bytes(data, size);
  cluster::decoder dec;
  auto decoded = dec.decode_ack(frame);
  std::vector<std::byte> storage;
  auto shifted = dec.decode_ack(fuzz::misaligned_copy(frame, storage));
  fuzz::check_same_outcome(decoded.has_value(), shifted.has_value(),
                           decoded ? nullptr : &decoded.error(),
                           shifted ? nullptr : &shifted.error());
  if (!decoded) return 0;
  TWIN_CHECK(fuzz::same_ack(*decoded, *shifted));
  TWIN_CHECK_OP(static_cast<std::size_t>(decoded->status), <, twin::ack_status_count);
  fuzz::check_ack_round_trip(*decoded);
  // A refusal names its reason in the counts the gateway adds up.
  if (decoded->status != twin::ack_status::applied &&
      decoded->status != twin::ack_status::duplicate)
    (void)twin::refusal_reason(decoded->status);
  return 0;
}
