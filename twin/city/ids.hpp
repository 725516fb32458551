#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <limits>

namespace twin {

// A strong id: a number that only compares with ids of its own kind.
template <class Tag>
struct strong_id {
  std::uint32_t value = std::numeric_limits<std::uint32_t>::max();

  constexpr strong_id() = default;
  constexpr explicit strong_id(std::uint32_t v) : value(v) {}
  constexpr bool valid() const { return value != std::numeric_limits<std::uint32_t>::max(); }
  friend constexpr auto operator<=>(strong_id, strong_id) = default;
};

// Dense index of a district in city::districts.
using district_id = strong_id<struct district_tag>;
// A sensor's number as it is written in the bundle and on the wire (not an index).
using sensor_id = strong_id<struct sensor_tag>;
// Dense index of a link in city::links.
using link_id = strong_id<struct link_tag>;
// Dense index of a road node in city::nodes.
using node_id = strong_id<struct node_tag>;
// Dense index of a zone in city::zones.
using zone_id = strong_id<struct zone_tag>;

}  // namespace twin

template <class Tag>
struct std::hash<twin::strong_id<Tag>> {
  std::size_t operator()(twin::strong_id<Tag> id) const noexcept {
    return std::hash<std::uint32_t>{}(id.value);
  }
};
