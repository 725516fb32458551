#include "twin/city/fingerprint.hpp"

#include <algorithm>
#include <vector>

#include "twin/city/city.hpp"

namespace twin {

namespace {

constexpr std::uint64_t fnv_offset_basis = 0xcbf29ce484222325ULL;
constexpr std::uint64_t fnv_prime = 0x100000001b3ULL;

struct fnv1a {
  std::uint64_t hash = fnv_offset_basis;
  void byte(std::uint8_t b) {
    hash ^= b;
    hash *= fnv_prime;
  }
  void text(std::string_view s) {
    for (char c : s) byte(static_cast<std::uint8_t>(c));
    byte(0);
  }
  void u32_le(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) byte(static_cast<std::uint8_t>(v >> (8 * i)));
  }
};

}  // namespace

std::uint64_t city_fingerprint(const city& c) {
  std::vector<const sensor*> by_id;
  by_id.reserve(c.sensors.size());
  for (const auto& s : c.sensors) by_id.push_back(&s);
  std::sort(by_id.begin(), by_id.end(),
            [](const sensor* a, const sensor* b) { return a->id.value < b->id.value; });
  fnv1a h;
  h.text(c.name);
  for (const sensor* s : by_id) {
    h.u32_le(s->id.value);
    h.text(s->key);
    h.text(to_string(s->kind));
  }
  return h.hash == 0 ? 1 : h.hash;
}

city_identity identity_of(const city& c) {
  return {c.name, city_fingerprint(c)};
}

std::string fingerprint_text(std::uint64_t fingerprint) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s = "0x";
  for (int shift = 60; shift >= 0; shift -= 4) s += digits[(fingerprint >> shift) & 0xf];
  return s;
}

}  // namespace twin
