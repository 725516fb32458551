#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace cluster {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as iSCSI, ext4 and most logs use it:
// crc32c("123456789") == 0xE3069283. Slicing-by-8 in portable C++; `crc` continues an earlier
// call, so crc32c(a + b) == crc32c(b, crc32c(a)).
std::uint32_t crc32c(std::span<const std::byte> bytes, std::uint32_t crc = 0);

}  // namespace cluster
