#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace cluster {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as iSCSI, ext4 and most logs use it:
// crc32c("123456789") == 0xE3069283. `crc` continues an earlier call, so
// crc32c(a + b) == crc32c(b, crc32c(a)). Uses the processor's crc32 instruction (SSE 4.2) where
// it has one, else slicing-by-8 tables; both give the same values (tested).
std::uint32_t crc32c(std::span<const std::byte> bytes, std::uint32_t crc = 0);

// The two implementations, for the tests and the benchmark.
std::uint32_t crc32c_tables(std::span<const std::byte> bytes, std::uint32_t crc = 0);
// Only where crc32c_instruction_available().
std::uint32_t crc32c_instruction(std::span<const std::byte> bytes, std::uint32_t crc = 0);
bool crc32c_instruction_available();

}  // namespace cluster
