#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "twin/city/city.hpp"

namespace twin {

// Bounds on what generate_city accepts; a city beyond them would not fit the lookup tables or
// the memory of the machines we test on.
inline constexpr std::uint32_t generate_districts_max = 100'000;
inline constexpr std::uint32_t generate_links_max = 10'000'000;
inline constexpr std::uint32_t generate_sensors_max = sensor_id_max - 1;

struct generate_options {
  std::uint32_t districts = 9;
  std::uint32_t links = 100;
  std::uint32_t sensors = 140;
  std::uint64_t seed = 1;
};

// Why these options cannot make a city (for the command line to print), or nothing when they can.
std::optional<std::string> check_options(const generate_options& options);

// A synthetic city with exactly the requested counts, the same for the same options on every
// platform. Districts are square grid cells ("d1", "d2", ...), each with a population and one zone;
// a grid road network with exactly options.links directed links, strongly connected whenever the
// count allows it (any even count >= 6 or odd count >= 7, and 2); a gravity-model demand between
// nearby zones; sensors of every kind (traffic kinds on links, when there are links); a few
// threshold rules. Requires check_options(options) to be empty.
city generate_city(const generate_options& options);

}  // namespace twin
