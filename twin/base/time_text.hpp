#pragma once

// Times as text: ISO 8601 in, UTC out.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "twin/base/expected.hpp"
#include "twin/base/time.hpp"

namespace twin {

// Parses an ISO 8601 date-time to UTC milliseconds: "2013-03-01T08:00:00+08:00",
// "2024-08-15T06:00Z", "2013-03-01 00:00:00", "2013-03-01T00:00:00.250Z", "2013-03-01". The date
// must exist in the calendar (no 2023-02-29); fractions of a second beyond milliseconds are
// dropped; the zone is "Z", "+hh:mm", "+hhmm" or "+hh". A time written without a zone is local
// time at `zone_default_minutes` (local minus UTC); when that is nullopt, the zone is required.
std::optional<time_ms> parse_iso8601_ms(std::string_view text,
                                        std::optional<std::int32_t> zone_default_minutes);

// "2026-11-21T07:52:31.123Z": a time in UTC with milliseconds.
std::string iso8601_utc(time_ms t);

// A duration in the largest unit that writes it exactly, as the command line takes it: "1h",
// "90s", "15m", "2d", "1500ms", "0s".
std::string duration_text(time_ms d);

// Milliseconds since 1970 of a UTC calendar date and time of day, or nullopt when the date does
// not exist or a field is out of range (years 1 to 9999).
std::optional<time_ms> utc_ms_of(int year, int month, int day, int hour, int minute, int second);

// Parses a duration: a non-negative number and a unit, "250ms", "90s", "15m", "2h", "7d", "1y"
// (365.25 days); a bare number is seconds. The error says what is wrong with the text.
expected<time_ms, std::string> parse_duration_ms(std::string_view text);

// The shortest exact text of a duration in the largest unit that divides it: "1h", "5m", "90s",
// "250ms" (so that parse_duration_ms(duration_text(d)) == d).
std::string duration_text(time_ms d);

}  // namespace twin
