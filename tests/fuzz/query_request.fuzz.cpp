// QueryRequest frames as the query server receives them: decoded (aligned and not), answered from
// the live state of a small city, and the reply encoded; a refused request gets the error reply
// the server sends. Requests and replies must survive a round trip through the codec.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_support.hpp"
#include "twin/base/check.hpp"

namespace {

// A live state with readings in it, built once; answering a query does not change it.
const fuzz::live_city& live() {
  static const fuzz::live_city city = [] {
    fuzz::live_city c;
    twin::reading_batch b;
    b.key = {7, 1, 1};
    const auto t = fuzz::now_ms - 30'000;
    b.readings = {{twin::sensor_id{10}, t, 31},   {twin::sensor_id{11}, t, 72},
                  {twin::sensor_id{12}, t, 12},   {twin::sensor_id{20}, t, 40},
                  {twin::sensor_id{21}, t, 350},  {twin::sensor_id{30}, t, 55},
                  {twin::sensor_id{99}, t, 1},    {twin::sensor_id{11}, t - 10, 70}};
    c.apply(b);
    return c;
  }();
  return city;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto frame = fuzz::as_bytes(data, size);
  cluster::decoder dec;
  auto decoded = dec.decode_query_request(frame);
  std::vector<std::byte> storage;
  auto shifted = dec.decode_query_request(fuzz::misaligned_copy(frame, storage));
  fuzz::check_same_outcome(decoded.has_value(), shifted.has_value(),
                           decoded ? nullptr : &decoded.error(),
                           shifted ? nullptr : &shifted.error());
  if (!decoded) {
    const auto& error = decoded.error();
    twin::query_reply reply = twin::query_error{"request refused: " + error.message};
    fuzz::check_reply_round_trip(error.request_id, reply);
    return 0;
  }
  TWIN_CHECK_OP(shifted->request_id, ==, decoded->request_id);
  TWIN_CHECK(fuzz::same_request(shifted->request, decoded->request));

  cluster::encoder enc;
  std::vector<std::byte> again;
  enc.encode_query_request(decoded->request_id, decoded->request, again);
  auto redecoded = dec.decode_query_request(again);
  TWIN_CHECK(redecoded.has_value());
  TWIN_CHECK_OP(redecoded->request_id, ==, decoded->request_id);
  TWIN_CHECK(fuzz::same_request(redecoded->request, decoded->request));

  fuzz::check_reply_round_trip(decoded->request_id, live().answer(decoded->request));
  return 0;
}
