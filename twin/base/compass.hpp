#pragma once

// The 16 points of the compass, as weather files and scenario specs write wind directions.

#include <optional>
#include <string_view>

namespace twin {

// "N, NNE, NE, ENE, E, ESE, SE, SSE, S, SSW, SW, WSW, W, WNW, NW, NNW": for messages.
inline constexpr std::string_view compass_points_text =
    "N, NNE, NE, ENE, E, ESE, SE, SSE, S, SSW, SW, WSW, W, WNW, NW, NNW";

// Degrees clockwise from north of a compass point ("N" 0, "SSW" 202.5), case-insensitive and
// trimmed; nullopt for anything else.
std::optional<double> compass_deg(std::string_view point);

}  // namespace twin
