// QueryReply frames as a query client receives them: decoded (aligned and not), then re-encoded:
// encoding the decoded reply, decoding that and encoding again gives the same bytes.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_support.hpp"
#include "twin/base/check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto frame = fuzz::as_bytes(data, size);
  cluster::decoder dec;
  auto decoded = dec.decode_query_reply(frame);
  std::vector<std::byte> storage;
  auto shifted = dec.decode_query_reply(fuzz::misaligned_copy(frame, storage));
  fuzz::check_same_outcome(decoded.has_value(), shifted.has_value(),
                           decoded ? nullptr : &decoded.error(),
                           shifted ? nullptr : &shifted.error());
  if (!decoded) return 0;
  TWIN_CHECK_OP(shifted->request_id, ==, decoded->request_id);
  cluster::encoder enc;
  std::vector<std::byte> a;
  std::vector<std::byte> b;
  enc.encode_query_reply(decoded->request_id, decoded->reply, a);
  enc.encode_query_reply(shifted->request_id, shifted->reply, b);
  TWIN_CHECK(fuzz::same_bytes(a, b));
  fuzz::check_reply_round_trip(decoded->request_id, decoded->reply);
  return 0;
}
