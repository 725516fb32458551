#include "twin/district_state.hpp"

#include <algorithm>
#include <cmath>

#include "twin/check.hpp"

namespace twin {

validation validate_reading(const city& c, const reading& r, time_ms now,
                            const ingest_limits& limits) {
  validation out;
  const sensor* s = c.find_sensor(r.sensor);
  if (s == nullptr) {
    out.reason = reject_reason::unknown_sensor;
    return out;
  }
  if (!std::isfinite(r.value)) {
    out.reason = reject_reason::non_finite;
    return out;
  }
  auto range = plausible_range(s->kind);
  if (r.value < range.min || r.value > range.max) {
    out.reason = reject_reason::out_of_range;
    return out;
  }
  if (r.time < now - limits.max_age_ms) {
    out.reason = reject_reason::too_old;
    return out;
  }
  if (r.time > now + limits.max_future_ms) {
    out.reason = reject_reason::too_new;
    return out;
  }
  out.sensor = s;
  return out;
}

reading_validator::reading_validator(const city& c, const ingest_limits& limits) : limits_(limits) {
  static_assert(sensor_kind_count < no_kind);
  std::uint32_t ids = 0;
  for (const auto& s : c.sensors) ids = std::max(ids, s.id.value + 1);
  kind_by_id_.assign(ids, no_kind);
  for (const auto& s : c.sensors) {
    // Through find_sensor, so that a duplicate id resolves as validate_reading() resolves it.
    const auto* found = c.find_sensor(s.id);
    TWIN_CHECK(found != nullptr);
    kind_by_id_[s.id.value] = static_cast<std::uint8_t>(found->kind);
  }
  for (std::size_t k = 0; k < sensor_kind_count; ++k)
    range_by_kind_[k] = plausible_range(static_cast<sensor_kind>(k));
}

}  // namespace twin
