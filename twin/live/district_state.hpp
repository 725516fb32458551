#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "twin/base/expected.hpp"
#include "twin/city/city.hpp"
#include "twin/live/district_image.hpp"
#include "twin/live/reading.hpp"
#include "twin/live/views.hpp"

namespace twin {

struct district_options {
  // One staleness bound for every sensor (the node's --stale-after). Empty: each sensor's own,
  // city::stale_after_of (2 x its cadence). A sensor is stale when now - its latest time > bound.
  std::optional<time_ms> stale_after_ms;
  // A reading older than its sensor's latest by more than this is refused `too_late`; a later one
  // is applied to the windows (and the links, when newest there) though not as the latest value.
  time_ms lateness_ms = ms_per_hour;
  // Times remembered per sensor for deduplication by (sensor, time) over the lateness bound; a
  // sensor reporting more often than this per lateness_ms has its late readings refused
  // `too_late` beyond the last times_per_sensor_max (4096: one reading a second for over an hour).
  std::uint32_t times_per_sensor_max = 4096;
  // Batches remembered per (gateway, session) for the whole-batch fast path of deduplication.
  std::uint32_t dedup_window_batches_max = 4096;
  // Gateway sessions remembered for deduplication; the least recently seen is forgotten.
  std::uint32_t dedup_sessions_max = 256;
  // The rolling windows keep room for readings this far ahead of `now` (the ingest bound
  // max_future_ms), so that such readings do not push buckets still in the windows out.
  time_ms window_future_ms_max = 5 * ms_per_minute;
  // apply() evaluates the alert rules of the kinds it touched at most this often (in the `now`
  // it is given); tick() always evaluates every rule. Scanning the 15 min and 1 h windows on
  // every part would cost more than applying the readings. 0: on every apply.
  time_ms alert_eval_interval_ms = 250;
};

struct apply_result {
  std::uint32_t accepted = 0;
  reject_counts rejected;
  bool duplicate_batch = false;  // the whole part had been applied before
};

// The live state of one district: what a district actor owns. Plain C++, deterministic:
// time comes in as a parameter.
class district_state {
 public:
  district_state(city_ptr city, district_id id, district_options options = {});
  ~district_state();
  district_state(district_state&&) noexcept;
  district_state& operator=(district_state&&) noexcept;

  // A state from an image of one (image()) of the same city's district, with options of the same
  // window and deduplication sizes. An error names what does not fit: a district, sensor, link,
  // kind or rule the city does not have there, a ring or bitmap of another size, an image whose
  // parts contradict each other.
  static expected<district_state, std::string> restore(city_ptr city, const district_image& image,
                                                       district_options options = {});

  district_id id() const { return id_; }

  // Everything any later answer depends on (district_image.hpp). Restoring it and applying the
  // same readings and ticks to both gives the same answers, bit for bit.
  district_image image() const;

  // Applies this district's part of a batch. The readings have passed validate_reading() and
  // belong to sensors of this district (others are refused as unknown_sensor). A part whose batch
  // key was recorded as applied is a duplicate whole (every reading counted duplicate); otherwise
  // each reading is deduplicated by (sensor, time) (reading_times): a time applied before is a
  // duplicate, a time older than the sensor's latest by more than lateness_ms is too_late, any
  // other time is applied — to the windows and the link states always, to the latest value when
  // it is the newest. Alerts are evaluated as alert_eval_interval_ms allows.
  apply_result apply(const batch_key& key, std::span<const reading> readings, time_ms now);

  // Counts readings of this district's sensors that were rejected before they reached it (by
  // validation), so that view().rejected tells every rejection of the district's readings.
  void count_rejected(const reject_counts& rejected);

  // Re-evaluates time-dependent things (windows sliding, staleness, alerts) at `now`.
  void tick(time_ms now);

  district_view view(time_ms now, bool with_links = true) const;
  // nullopt when the sensor does not belong to this district.
  std::optional<sensor_view> sensor(sensor_id id) const;
  district_indicators indicators(time_ms now) const;
  const std::vector<alert>& active_alerts() const;
  // Changes whenever active_alerts() may have changed, so that callers can skip comparing them.
  std::uint64_t alerts_version() const;
  std::uint64_t readings_applied() const;
  // Sensors of the district that have sent at least one reading.
  std::uint32_t sensors_reporting() const;
  // Readings applied to the latest values but too old for the rolling windows' rings.
  std::uint64_t window_readings_dropped() const;
  // Gateway sessions forgotten by deduplication because dedup_sessions_max was reached.
  std::uint64_t dedup_sessions_evicted() const;
  // Readings applied although older than their sensor's latest (late, within lateness_ms).
  std::uint64_t late_readings_applied() const;

 private:
  struct impl;
  district_id id_;
  std::unique_ptr<impl> impl_;
};

// Checks what can be checked without district state: known sensor, finite value, plausible
// range, time bounds, over a table built once per city: the ingest path reads one byte per
// sensor instead of the sensor's record.
class reading_validator {
 public:
  reading_validator(const city& c, const ingest_limits& limits);
  // nullopt when the reading is valid.
  std::optional<reject_reason> check(const reading& r, time_ms now) const {
    if (r.sensor.value >= kind_by_id_.size()) return reject_reason::unknown_sensor;
    auto kind = kind_by_id_[r.sensor.value];
    if (kind == no_kind) return reject_reason::unknown_sensor;
    if (!std::isfinite(r.value)) return reject_reason::non_finite;
    const auto& range = range_by_kind_[kind];
    if (r.value < range.min || r.value > range.max) return reject_reason::out_of_range;
    if (r.time < now - limits_.max_age_ms) return reject_reason::too_old;
    if (r.time > now + limits_.max_future_ms) return reject_reason::too_new;
    return std::nullopt;
  }

 private:
  static constexpr std::uint8_t no_kind = 0xff;
  std::vector<std::uint8_t> kind_by_id_;  // sensor_kind by sensor id, no_kind for none
  std::array<value_range, sensor_kind_count> range_by_kind_{};
  ingest_limits limits_;
};

}  // namespace twin
