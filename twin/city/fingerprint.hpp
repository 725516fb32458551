#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace twin {

class city;

// Which city a batch is meant for, or which city a node runs: the city's name and fingerprint.
// A fingerprint of 0 means "not known" (an older gateway, or one that has not learnt it yet).
struct city_identity {
  std::string name;
  std::uint64_t fingerprint = 0;
  friend bool operator==(const city_identity&, const city_identity&) = default;
};

// 64-bit FNV-1a (offset basis 0xcbf29ce484222325, prime 0x100000001b3) over these bytes:
//   the city's name (UTF-8), then one 0x00 byte;
//   then for each sensor in ascending id order: the id as 4 bytes, little-endian; the key
//   (UTF-8), 0x00; the kind's name as in city.yaml ("pm25", "traffic_speed"), 0x00.
// A hash of 0 is replaced by 1, so that 0 keeps meaning "not known". Two cities whose sensors
// differ in any id, key or kind, or whose names differ, have different fingerprints (up to hash
// collisions); positions, links and districts do not enter it.
std::uint64_t city_fingerprint(const city& c);
city_identity identity_of(const city& c);

// "0x" and 16 lower-case hex digits, as the fingerprint is written in messages and output.
std::string fingerprint_text(std::uint64_t fingerprint);

}  // namespace twin
