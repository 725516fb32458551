#include "validate_reading.hpp"

#include <cmath>

namespace twin::testing {

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

}  // namespace twin::testing
