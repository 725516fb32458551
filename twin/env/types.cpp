#include "twin/env/types.hpp"

namespace twin::env {

std::string_view to_string(pollutant p) {
  switch (p) {
    case pollutant::nox:
      return "nox";
    case pollutant::pm25:
      return "pm25";
    case pollutant::co2:
      return "co2";
  }
  return "?";
}

std::optional<pollutant> parse_pollutant(std::string_view text) {
  for (std::size_t i = 0; i < pollutant_count; ++i) {
    auto p = static_cast<pollutant>(i);
    if (text == to_string(p)) return p;
  }
  return std::nullopt;
}

char to_char(stability s) {
  return static_cast<char>('A' + static_cast<int>(s));
}

std::optional<stability> parse_stability(std::string_view text) {
  if (text.size() != 1) return std::nullopt;
  char c = text[0];
  if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  if (c < 'A' || c > 'F') return std::nullopt;
  return static_cast<stability>(c - 'A');
}

}  // namespace twin::env
