#include "twin/live/district_state.hpp"

#include <algorithm>
#include <cmath>

#include "twin/base/check.hpp"

namespace twin {

reading_validator::reading_validator(const city& c, const ingest_limits& limits) : limits_(limits) {
  static_assert(sensor_kind_count < no_kind);
  std::uint32_t ids = 0;
  for (const auto& s : c.sensors) ids = std::max(ids, s.id.value + 1);
  kind_by_id_.assign(ids, no_kind);
  for (const auto& s : c.sensors) {
    // Through find_sensor, so that a duplicate id resolves as the city resolves it.
    const auto* found = c.find_sensor(s.id);
    TWIN_CHECK(found != nullptr);
    kind_by_id_[s.id.value] = static_cast<std::uint8_t>(found->kind);
  }
  for (std::size_t k = 0; k < sensor_kind_count; ++k)
    range_by_kind_[k] = plausible_range(static_cast<sensor_kind>(k));
}

}  // namespace twin
