#include "cluster/crc32c.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "skip.hpp"

namespace {

std::span<const std::byte> bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// One bit at a time, straight from the definition: the reference the table-driven code must equal.
std::uint32_t crc32c_bitwise(std::span<const std::byte> b) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (auto x : b) {
    c ^= std::uint32_t(x);
    for (int i = 0; i < 8; ++i) c = (c >> 1) ^ ((c & 1u) ? 0x82F63B78u : 0u);
  }
  return ~c;
}

}  // namespace

TEST_CASE("crc32c: the published check value of 123456789 is E3069283") {
  CHECK(cluster::crc32c(bytes("123456789")) == 0xE3069283u);
  CHECK(cluster::crc32c(bytes("")) == 0u);
}

// RFC 3720 (iSCSI), appendix B.4.
TEST_CASE("crc32c: the iSCSI test vectors of RFC 3720") {
  std::vector<std::byte> v(32, std::byte{0});
  CHECK(cluster::crc32c(v) == 0x8A9136AAu);
  std::fill(v.begin(), v.end(), std::byte{0xFF});
  CHECK(cluster::crc32c(v) == 0x62A8AB43u);
  for (std::size_t i = 0; i < 32; ++i) v[i] = std::byte(i);
  CHECK(cluster::crc32c(v) == 0x46DD794Eu);
  for (std::size_t i = 0; i < 32; ++i) v[i] = std::byte(31 - i);
  CHECK(cluster::crc32c(v) == 0x113FDB5Cu);
}

TEST_CASE("crc32c: the tables and the instruction equal the bitwise definition, and continue") {
  std::vector<std::byte> data(300);
  std::uint32_t x = 12345;
  for (auto& b : data) {
    x = x * 1103515245u + 12345u;
    b = std::byte(x >> 24);
  }
  int mismatches = 0;
  for (std::size_t start = 0; start < 9; ++start)
    for (std::size_t len = 0; start + len <= data.size(); ++len) {
      const std::span<const std::byte> s(data.data() + start, len);
      const std::uint32_t expected = crc32c_bitwise(s);
      const std::size_t third = len / 3;
      if (cluster::crc32c(s) != expected) ++mismatches;
      if (cluster::crc32c_tables(s) != expected) ++mismatches;
      if (cluster::crc32c_tables(s.subspan(third), cluster::crc32c_tables(s.first(third))) !=
          expected)
        ++mismatches;
      if (cluster::crc32c_instruction_available()) {
        if (cluster::crc32c_instruction(s) != expected) ++mismatches;
        if (cluster::crc32c_instruction(s.subspan(third),
                                        cluster::crc32c_instruction(s.first(third))) != expected)
          ++mismatches;
      }
    }
  CHECK(mismatches == 0);
  if (!cluster::crc32c_instruction_available())
    testkit::skip("crc32c with the crc32 instruction", "the processor has no SSE 4.2");
}
