#pragma once

// A plain reading of the validation rules, sensor record by sensor record: the reference the
// ingest path's table-driven twin::reading_validator is tested against.

#include <optional>

#include "twin/live/district_state.hpp"

namespace twin::testing {

struct validation {
  const twin::sensor* sensor = nullptr;  // set when valid
  std::optional<reject_reason> reason;   // set when invalid
};

validation validate_reading(const city& c, const reading& r, time_ms now,
                            const ingest_limits& limits);

}  // namespace twin::testing
