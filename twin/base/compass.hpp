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

// Directions are circular: the mean of 350 and 10 degrees is 0, not 180. The mean direction of a
// set of directions d_i is that of the sum of their unit vectors, atan2(sum sin d_i, sum cos d_i),
// in degrees [0, 360). `east` and `north` are those two sums (of sin and cos of the directions in
// radians). When they cancel (0 and 180), atan2(0, -0) etc. decides; callers that care test the
// resultant's length.
double mean_direction_deg(double east, double north);
// sin and cos of a direction in degrees: its unit vector's east and north parts.
double direction_east(double deg);
double direction_north(double deg);

}  // namespace twin
