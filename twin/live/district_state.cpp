#include "twin/live/district_state.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>

#include "twin/base/check.hpp"
#include "twin/live/dedup.hpp"
#include "twin/live/window.hpp"

namespace twin {

namespace {

constexpr std::uint32_t no_slot = std::numeric_limits<std::uint32_t>::max();
constexpr double bin_full_pct = 80;
constexpr double speed_kmh_floor = 1;  // keeps travel time finite on a stopped link
constexpr time_ms no_time = std::numeric_limits<time_ms>::min();
// A direct id -> slot table is used while it stays this small relative to the sensors it maps.
constexpr std::size_t direct_table_slack = 4096;

std::uint32_t bit_of(sensor_kind k) {
  return std::uint32_t{1} << static_cast<unsigned>(k);
}
constexpr std::uint32_t all_kinds = (std::uint32_t{1} << sensor_kind_count) - 1;

struct sensor_slot {
  const twin::sensor* info = nullptr;
  double value = no_value;
  time_ms time = 0;
  time_ms stale_after_ms = 0;  // older latest readings are stale
  std::uint64_t readings = 0;
  std::uint32_t kind_slot = no_slot;
  std::uint32_t link_slot = no_slot;
  sensor_kind kind = sensor_kind::pm25;
  bool has_value = false;
  reading_times times;  // the applied times over the lateness bound
};

// Per metric, the newest reading of any sensor on the link wins.
struct link_slot {
  link_id link;
  double speed_kmh = no_value;
  double flow_veh_h = no_value;
  double occupancy_pct = no_value;
  time_ms speed_time = no_time;
  time_ms flow_time = no_time;
  time_ms occupancy_time = no_time;
  // The speed is stale beyond the largest bound of the link's speed sensors.
  time_ms speed_stale_after_ms = 0;

  bool has_reading() const {
    return speed_time != no_time || flow_time != no_time || occupancy_time != no_time;
  }
  void update(sensor_kind k, time_ms t, double v) {
    switch (k) {
      case sensor_kind::traffic_speed:
        if (t >= speed_time) speed_kmh = v, speed_time = t;
        break;
      case sensor_kind::traffic_flow:
        if (t >= flow_time) flow_veh_h = v, flow_time = t;
        break;
      case sensor_kind::traffic_occupancy:
        if (t >= occupancy_time) occupancy_pct = v, occupancy_time = t;
        break;
      default:
        break;
    }
  }
};

struct kind_slot {
  sensor_kind kind;
  std::vector<std::uint32_t> sensors;  // sensor slots of this kind
  kind_windows windows;
};

struct rule_slot {
  const threshold_rule* rule = nullptr;
  bool firing = false;
  time_ms since = 0;
  double value = no_value;
  std::size_t active_index = 0;  // position in the active alerts while firing
};

}  // namespace

struct district_state::impl {
  city_ptr city;
  const district* info = nullptr;
  district_options options;

  // id -> slot: either directly by id - id_base, or by the sensor's index in city::sensors when
  // this district's ids are too sparse for a direct table.
  bool direct = true;
  std::uint32_t id_base = 0;
  std::vector<std::uint32_t> slot_table;

  std::vector<sensor_slot> sensors;
  std::vector<link_slot> links;  // sorted by link id
  std::array<std::uint32_t, sensor_kind_count> kind_index;
  std::vector<kind_slot> kinds;  // sorted by kind
  std::vector<rule_slot> rules;  // in city::rules order
  std::array<std::vector<std::uint32_t>, sensor_kind_count> rules_by_kind;
  std::vector<alert> active;

  batch_dedup dedup;
  // Kinds touched by apply() since their rules were last evaluated, and when that was.
  std::uint32_t kinds_to_evaluate = 0;
  time_ms evaluated_at = no_time;
  std::uint64_t alerts_version = 0;
  std::uint64_t readings_applied = 0;
  std::uint64_t late_applied = 0;
  reject_counts rejected;
  std::uint32_t sensors_reporting = 0;

  impl(city_ptr c, district_id id, district_options o)
      : city(std::move(c)), options(o), dedup(o.dedup_window_batches_max, o.dedup_sessions_max) {
    TWIN_REQUIRE(city != nullptr);
    TWIN_REQUIRE_OP(o.alert_eval_interval_ms, >=, 0);
    TWIN_REQUIRE_OP(o.lateness_ms, >=, 0);
    TWIN_REQUIRE_OP(o.lateness_ms, <=, 30 * ms_per_day);
    TWIN_REQUIRE_OP(o.times_per_sensor_max, >, 0u);
    TWIN_REQUIRE_OP(id.value, <, city->districts.size());
    info = &city->districts[id.value];
    build_sensors(id);
    build_rules(id);
  }

  void build_sensors(district_id id) {
    const auto& of = city->sensors_of(id);
    kind_index.fill(no_slot);
    for (std::size_t k = 0; k < sensor_kind_count; ++k) {
      auto kind = static_cast<sensor_kind>(k);
      bool present = std::any_of(of.begin(), of.end(), [&](auto* s) { return s->kind == kind; });
      if (!present) continue;
      kind_index[k] = static_cast<std::uint32_t>(kinds.size());
      kinds.push_back(
          kind_slot{kind, {}, kind_windows(options.window_future_ms_max, is_circular(kind))});
    }

    std::vector<link_id> link_ids;
    for (auto* s : of)
      if (s->link && is_traffic(s->kind)) link_ids.push_back(*s->link);
    std::sort(link_ids.begin(), link_ids.end());
    link_ids.erase(std::unique(link_ids.begin(), link_ids.end()), link_ids.end());
    for (auto l : link_ids) {
      TWIN_REQUIRE_OP(l.value, <, city->links.size());
      links.push_back(link_slot{l});
    }

    sensors.reserve(of.size());
    for (auto* s : of) {
      sensor_slot slot;
      slot.info = s;
      slot.kind = s->kind;
      slot.kind_slot = kind_index[static_cast<std::size_t>(s->kind)];
      slot.stale_after_ms = options.stale_after_ms.value_or(city->stale_after_of(*s));
      if (s->link && is_traffic(s->kind)) {
        auto it = std::lower_bound(link_ids.begin(), link_ids.end(), *s->link);
        slot.link_slot = static_cast<std::uint32_t>(it - link_ids.begin());
        if (s->kind == sensor_kind::traffic_speed) {
          auto& bound = links[slot.link_slot].speed_stale_after_ms;
          bound = std::max(bound, slot.stale_after_ms);
        }
      }
      kinds[slot.kind_slot].sensors.push_back(static_cast<std::uint32_t>(sensors.size()));
      sensors.push_back(slot);
    }

    if (of.empty()) return;
    auto [lo, hi] =
        std::minmax_element(of.begin(), of.end(), [](auto* a, auto* b) { return a->id < b->id; });
    std::size_t span = std::size_t{(*hi)->id.value} - (*lo)->id.value + 1;
    direct = span <= 4 * of.size() + direct_table_slack;
    if (direct) {
      id_base = (*lo)->id.value;
      slot_table.assign(span, no_slot);
      for (std::size_t i = 0; i < of.size(); ++i)
        slot_table[of[i]->id.value - id_base] = static_cast<std::uint32_t>(i);
    } else {
      slot_table.assign(city->sensors.size(), no_slot);
      for (std::size_t i = 0; i < of.size(); ++i)
        slot_table[static_cast<std::size_t>(of[i] - city->sensors.data())] =
            static_cast<std::uint32_t>(i);
    }
  }

  void build_rules(district_id id) {
    for (const auto& r : city->rules) {
      if (r.district && *r.district != id) continue;
      rules_by_kind[static_cast<std::size_t>(r.kind)].push_back(
          static_cast<std::uint32_t>(rules.size()));
      rules.push_back(rule_slot{&r});
    }
  }

  static bool is_traffic(sensor_kind k) {
    return k == sensor_kind::traffic_speed || k == sensor_kind::traffic_flow ||
           k == sensor_kind::traffic_occupancy;
  }

  std::uint32_t slot_of(sensor_id id) const {
    if (direct) {
      auto i = static_cast<std::size_t>(id.value) - id_base;
      return id.value >= id_base && i < slot_table.size() ? slot_table[i] : no_slot;
    }
    const twin::sensor* s = city->find_sensor(id);
    return s == nullptr ? no_slot : slot_table[static_cast<std::size_t>(s - city->sensors.data())];
  }

  static bool fresh(time_ms t, time_ms now, time_ms stale_after_ms) {
    return now - t <= stale_after_ms;
  }
  static bool fresh(const sensor_slot& s, time_ms now) {
    return s.has_value && fresh(s.time, now, s.stale_after_ms);
  }

  const kind_slot* kind_of(sensor_kind k) const {
    auto i = kind_index[static_cast<std::size_t>(k)];
    return i == no_slot ? nullptr : &kinds[i];
  }

  // A kind's window of width W at now: every reading in the window (window.hpp), and for each
  // sensor with none in it whose latest reading is still fresh, that latest value once (held).
  // A sensor has a reading in the window exactly when its latest one is after the window's
  // start, so a punctual or late hourly station is never missing from a 1 h window while fresh.
  window_stats kind_window(const kind_slot& ks, time_ms now, time_ms window_ms) const {
    const auto& ring = ks.windows.ring_of(window_ms);
    window_sum sum(ks.windows.circular());
    ring.sum_into(sum, now, window_ms);
    const time_ms start = ring.window_start(now, window_ms);
    for (auto i : ks.sensors) {
      const auto& s = sensors[i];
      if (s.has_value && s.time <= start && fresh(s, now)) sum.add(s.value);
    }
    return sum.stats();
  }

  double window_mean(sensor_kind k, time_ms now, time_ms window_ms) const {
    const auto* ks = kind_of(k);
    if (ks == nullptr) return no_value;
    return kind_window(*ks, now, window_ms).mean;
  }

  static double pick(const window_stats& w, rule_aggregate a) {
    switch (a) {
      case rule_aggregate::mean:
        return w.mean;
      case rule_aggregate::max:
        return w.max;
      case rule_aggregate::min:
        return w.min;
    }
    return no_value;
  }

  double rule_value(const threshold_rule& r, time_ms now) const {
    const auto* ks = kind_of(r.kind);
    if (ks == nullptr) return no_value;
    switch (r.window) {
      case rule_window::one_minute:
        return pick(kind_window(*ks, now, ms_per_minute), r.aggregate);
      case rule_window::fifteen_minutes:
        return pick(kind_window(*ks, now, 15 * ms_per_minute), r.aggregate);
      case rule_window::one_hour:
        return pick(kind_window(*ks, now, ms_per_hour), r.aggregate);
      case rule_window::latest:
        break;
    }
    window_sum sum(ks->windows.circular());
    for (auto i : ks->sensors)
      if (fresh(sensors[i], now)) sum.add(sensors[i].value);
    return pick(sum.stats(), r.aggregate);
  }

  void evaluate(std::uint32_t kinds_mask, time_ms now) {
    bool changed = false;
    for (std::size_t k = 0; k < sensor_kind_count; ++k) {
      if ((kinds_mask & (std::uint32_t{1} << k)) == 0) continue;
      for (auto i : rules_by_kind[k]) {
        auto& rs = rules[i];
        const auto& r = *rs.rule;
        double v = rule_value(r, now);
        // NaN compares false both ways: no data never fires (and a firing alert clears).
        // Once firing, the alert holds until the value passes back beyond clear_at.
        double level = rs.firing ? r.clear_at.value_or(r.threshold) : r.threshold;
        bool fire = r.above ? v > level : v < level;
        rs.value = v;
        if (fire != rs.firing) {
          rs.firing = fire;
          if (fire) rs.since = now;
          changed = true;
        } else if (fire && !changed) {
          active[rs.active_index].value = v;
        }
      }
    }
    if (changed) rebuild_active();
    // Values of firing alerts change too, so any evaluation with one firing is a change.
    if (changed || !active.empty()) ++alerts_version;
  }

  void evaluate_touched(std::uint32_t touched, time_ms now) {
    kinds_to_evaluate |= touched;
    if (kinds_to_evaluate == 0) return;
    // A clock that went back also evaluates, so a stale evaluated_at cannot stall alerts.
    if (evaluated_at != no_time && now >= evaluated_at &&
        now - evaluated_at < options.alert_eval_interval_ms)
      return;
    evaluate(kinds_to_evaluate, now);
    kinds_to_evaluate = 0;
    evaluated_at = now;
  }

  void rebuild_active() {
    active.clear();
    for (auto& rs : rules) {
      if (!rs.firing) continue;
      rs.active_index = active.size();
      const auto& r = *rs.rule;
      active.push_back(
          alert{r.key, info->id, r.kind, r.level, rs.value, r.threshold, rs.since, r.message});
    }
  }

  district_indicators indicators(time_ms now) const {
    district_indicators out;

    double length_m = 0, time_h_m = 0, free_time_h_m = 0;  // sums of L, L/v and L/vff
    for (const auto& l : links) {
      if (std::isnan(l.speed_kmh) || !fresh(l.speed_time, now, l.speed_stale_after_ms)) continue;
      const auto& info = city->links[l.link.value];
      if (info.length_m <= 0 || info.free_speed_kmh <= 0) continue;
      length_m += info.length_m;
      time_h_m += info.length_m / std::max(l.speed_kmh, speed_kmh_floor);
      free_time_h_m += info.length_m / info.free_speed_kmh;
    }
    if (free_time_h_m > 0) {
      out.congestion_index = (time_h_m - free_time_h_m) / free_time_h_m;
      out.mean_speed_kmh = length_m / time_h_m;
    }

    out.pm25_ug_m3 = window_mean(sensor_kind::pm25, now, ms_per_hour);
    out.no2_ug_m3 = window_mean(sensor_kind::no2, now, ms_per_hour);
    out.co2_ppm = window_mean(sensor_kind::co2, now, 15 * ms_per_minute);

    if (const auto* ks = kind_of(sensor_kind::noise)) {
      double energy = 0;
      std::uint32_t n = 0;
      for (auto i : ks->sensors) {
        if (!fresh(sensors[i], now)) continue;
        energy += std::pow(10.0, sensors[i].value / 10.0);
        ++n;
      }
      if (n > 0) out.noise_db = 10.0 * std::log10(energy / n);
    }

    if (const auto* ks = kind_of(sensor_kind::visitors)) {
      double persons = 0, capacity = 0;
      bool any = false;
      for (auto i : ks->sensors) {
        const auto& s = sensors[i];
        if (!s.has_value) continue;
        any = true;
        persons += s.value;
        capacity += s.info->capacity;
      }
      if (any) {
        out.visitors = persons;
        if (capacity > 0) out.crowding = persons / capacity;
      }
    }

    if (const auto* ks = kind_of(sensor_kind::waste_fill)) {
      double fill = 0;
      std::uint32_t n = 0;
      for (auto i : ks->sensors) {
        const auto& s = sensors[i];
        if (!s.has_value) continue;
        fill += s.value;
        ++n;
        if (s.value >= bin_full_pct) ++out.bins_full;
      }
      if (n > 0) out.waste_fill_pct = fill / n;
    }

    for (const auto& s : sensors)
      if (!fresh(s, now)) ++out.stale_sensors;
    out.active_alerts = static_cast<std::uint32_t>(active.size());
    return out;
  }
};

district_state::district_state(city_ptr city, district_id id, district_options options)
    : id_(id), impl_(std::make_unique<impl>(std::move(city), id, options)) {}

district_state::~district_state() = default;
district_state::district_state(district_state&&) noexcept = default;
district_state& district_state::operator=(district_state&&) noexcept = default;

void district_state::count_rejected(const reject_counts& rejected) {
  impl_->rejected += rejected;
}

apply_result district_state::apply(const batch_key& key, std::span<const reading> readings,
                                   time_ms now) {
  auto& im = *impl_;
  apply_result out;
  // `unknown` (a forgotten sequence) is not a duplicate: the readings tell, one by one.
  if (im.dedup.check_and_record(key) == batch_seen::applied) {
    out.duplicate_batch = true;
    out.rejected[reject_reason::duplicate] = static_cast<std::uint32_t>(readings.size());
    im.rejected += out.rejected;
    return out;
  }
  std::uint32_t touched = 0;
  for (const auto& r : readings) {
    auto slot = im.slot_of(r.sensor);
    // The router sends only this district's sensors; refusing beats corrupting another's state.
    if (slot == no_slot) [[unlikely]] {
      ++out.rejected[reject_reason::unknown_sensor];
      continue;
    }
    auto& s = im.sensors[slot];
    switch (s.times.record(r.time, im.options.lateness_ms, im.options.times_per_sensor_max)) {
      case reading_times::verdict::duplicate:
        ++out.rejected[reject_reason::duplicate];
        continue;
      case reading_times::verdict::too_late:
        ++out.rejected[reject_reason::too_late];
        continue;
      case reading_times::verdict::late:
        ++im.late_applied;
        break;
      case reading_times::verdict::newest:
        if (!s.has_value) {
          s.has_value = true;
          ++im.sensors_reporting;
        }
        s.value = r.value;
        s.time = r.time;
        break;
    }
    ++s.readings;
    im.kinds[s.kind_slot].windows.add(r.time, r.value);
    if (s.link_slot != no_slot) im.links[s.link_slot].update(s.kind, r.time, r.value);
    touched |= bit_of(s.kind);
    ++out.accepted;
  }
  im.readings_applied += out.accepted;
  im.rejected += out.rejected;
  if (!im.rules.empty()) im.evaluate_touched(touched, now);
  return out;
}

void district_state::tick(time_ms now) {
  // Windows slide lazily when read; staleness is judged when read; only alerts hold state.
  auto& im = *impl_;
  if (im.rules.empty()) return;
  im.evaluate(all_kinds, now);
  im.kinds_to_evaluate = 0;
  im.evaluated_at = now;
}

district_view district_state::view(time_ms now, bool with_links) const {
  const auto& im = *impl_;
  district_view v;
  v.id = id_;
  v.key = im.info->key;
  v.name = im.info->name;
  v.as_of = now;
  v.population = im.info->population;
  v.area_km2 = im.info->area_km2;
  v.readings_applied = im.readings_applied;
  v.rejected = im.rejected;
  v.sensors = static_cast<std::uint32_t>(im.sensors.size());
  v.sensors_reporting = im.sensors_reporting;
  v.indicators = im.indicators(now);
  v.kinds.reserve(im.kinds.size());
  for (const auto& ks : im.kinds) {
    kind_stats k;
    k.kind = ks.kind;
    k.sensors = static_cast<std::uint32_t>(ks.sensors.size());
    k.last_1m = im.kind_window(ks, now, ms_per_minute);
    k.last_15m = im.kind_window(ks, now, 15 * ms_per_minute);
    k.last_1h = im.kind_window(ks, now, ms_per_hour);
    v.kinds.push_back(k);
  }
  if (with_links) {
    for (const auto& l : im.links) {
      if (!l.has_reading()) continue;
      link_state ls;
      ls.link = l.link;
      ls.key = im.city->links[l.link.value].key;
      ls.speed_kmh = l.speed_kmh;
      ls.flow_veh_h = l.flow_veh_h;
      ls.occupancy_pct = l.occupancy_pct;
      ls.time = std::max({l.speed_time, l.flow_time, l.occupancy_time});
      v.links.push_back(std::move(ls));
    }
  }
  v.alerts = im.active;
  return v;
}

std::optional<sensor_view> district_state::sensor(sensor_id id) const {
  const auto& im = *impl_;
  auto slot = im.slot_of(id);
  if (slot == no_slot) return std::nullopt;
  const auto& s = im.sensors[slot];
  sensor_view v;
  v.id = s.info->id;
  v.key = s.info->key;
  v.kind = s.kind;
  v.district = id_;
  v.district_key = im.info->key;
  v.has_value = s.has_value;
  v.value = s.value;
  v.time = s.time;
  v.readings = s.readings;
  return v;
}

district_indicators district_state::indicators(time_ms now) const {
  return impl_->indicators(now);
}

const std::vector<alert>& district_state::active_alerts() const {
  return impl_->active;
}

std::uint64_t district_state::alerts_version() const {
  return impl_->alerts_version;
}

std::uint64_t district_state::readings_applied() const {
  return impl_->readings_applied;
}

std::uint32_t district_state::sensors_reporting() const {
  return impl_->sensors_reporting;
}

std::uint64_t district_state::window_readings_dropped() const {
  std::uint64_t n = 0;
  for (const auto& ks : impl_->kinds) n += ks.windows.dropped();
  return n;
}

std::uint64_t district_state::dedup_sessions_evicted() const {
  return impl_->dedup.sessions_evicted();
}

std::uint64_t district_state::late_readings_applied() const {
  return impl_->late_applied;
}

district_image district_state::image() const {
  const auto& im = *impl_;
  district_image out;
  out.id = id_;
  out.key = im.info->key;
  for (const auto& s : im.sensors) {
    if (s.readings == 0 && s.times.empty() &&
        s.times.complete_from() == reading_times::no_time_before)
      continue;
    out.sensors.push_back(sensor_image{s.info->id, s.has_value, s.value, s.time, s.readings,
                                       s.times.times(), s.times.complete_from()});
  }
  std::sort(out.sensors.begin(), out.sensors.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  for (const auto& l : im.links) {
    if (!l.has_reading()) continue;
    out.links.push_back(link_image{l.link, l.speed_kmh, l.flow_veh_h, l.occupancy_pct, l.speed_time,
                                   l.flow_time, l.occupancy_time});
  }
  for (const auto& ks : im.kinds)
    out.kinds.push_back(
        kind_image{ks.kind, ks.windows.fine().image(), ks.windows.coarse().image()});
  for (const auto& rs : im.rules)
    out.rules.push_back(rule_image{rs.rule->key, rs.firing, rs.since, rs.value});
  out.dedup = im.dedup.image();
  out.kinds_to_evaluate = im.kinds_to_evaluate;
  out.evaluated_at = im.evaluated_at;
  out.alerts_version = im.alerts_version;
  out.readings_applied = im.readings_applied;
  out.late_readings_applied = im.late_applied;
  out.rejected = im.rejected;
  return out;
}

expected<district_state, std::string> district_state::restore(city_ptr city,
                                                              const district_image& image,
                                                              district_options options) {
  TWIN_REQUIRE(city != nullptr);
  using failure = unexpected<std::string>;
  if (image.id.value >= city->districts.size())
    return failure{"district id " + std::to_string(image.id.value) + ": the city has " +
                   std::to_string(city->districts.size()) + " districts"};
  const auto& info = city->districts[image.id.value];
  if (image.key != info.key)
    return failure{"district id " + std::to_string(image.id.value) + ": key '" + image.key +
                   "' where the city has '" + info.key + "'"};
  const std::string where = "district '" + info.key + "': ";

  district_state out(std::move(city), image.id, options);
  auto& im = *out.impl_;

  std::uint64_t readings = 0;
  for (std::size_t i = 0; i < image.sensors.size(); ++i) {
    const auto& x = image.sensors[i];
    const auto at =
        where + "sensors[" + std::to_string(i) + "] (id " + std::to_string(x.id.value) + "): ";
    if (i > 0 && !(image.sensors[i - 1].id < x.id)) return failure{at + "ids not ascending"};
    auto slot = im.slot_of(x.id);
    if (slot == no_slot) return failure{at + "not a sensor of the district"};
    const auto& times = x.times;
    for (std::size_t t = 1; t < times.size(); ++t)
      if (times[t - 1] >= times[t]) return failure{at + "times not ascending"};
    if (times.size() > im.options.times_per_sensor_max)
      return failure{at + std::to_string(times.size()) + " times where at most " +
                     std::to_string(im.options.times_per_sensor_max) + " are remembered"};
    if (!times.empty() &&
        static_cast<std::uint64_t>(times.back()) - static_cast<std::uint64_t>(times.front()) >
            std::numeric_limits<std::uint32_t>::max())
      return failure{at + "times spread over more than 2^32 ms"};
    if (x.has_value != !times.empty() || (x.has_value && times.back() != x.time))
      return failure{at + "the latest time is not the newest of the times remembered"};
    if (x.readings < times.size()) return failure{at + "fewer readings than times remembered"};
    auto& s = im.sensors[slot];
    s.has_value = x.has_value;
    s.value = x.value;
    s.time = x.time;
    s.readings = x.readings;
    s.times.restore(times, x.complete_from);
    readings += x.readings;
    if (x.has_value) ++im.sensors_reporting;
  }
  if (readings != image.readings_applied)
    return failure{where + "readings_applied " + std::to_string(image.readings_applied) +
                   " where the sensors' readings add up to " + std::to_string(readings)};

  for (std::size_t i = 0; i < image.links.size(); ++i) {
    const auto& x = image.links[i];
    const auto at =
        where + "links[" + std::to_string(i) + "] (id " + std::to_string(x.link.value) + "): ";
    if (i > 0 && !(image.links[i - 1].link < x.link)) return failure{at + "ids not ascending"};
    auto it = std::lower_bound(im.links.begin(), im.links.end(), x.link,
                               [](const link_slot& l, link_id id) { return l.link < id; });
    if (it == im.links.end() || it->link != x.link)
      return failure{at + "not a sensed link of the district"};
    it->speed_kmh = x.speed_kmh;
    it->flow_veh_h = x.flow_veh_h;
    it->occupancy_pct = x.occupancy_pct;
    it->speed_time = x.speed_time;
    it->flow_time = x.flow_time;
    it->occupancy_time = x.occupancy_time;
  }

  if (image.kinds.size() != im.kinds.size())
    return failure{where + std::to_string(image.kinds.size()) + " sensor kinds where it has " +
                   std::to_string(im.kinds.size())};
  for (std::size_t i = 0; i < image.kinds.size(); ++i) {
    const auto& x = image.kinds[i];
    auto& ks = im.kinds[i];
    const auto at = where + "kinds[" + std::to_string(i) + "]: ";
    if (x.kind != ks.kind)
      return failure{at + "kind " + std::string(to_string(x.kind)) + " where it has " +
                     std::string(to_string(ks.kind))};
    if (auto e = ks.windows.fine().restore(x.fine)) return failure{at + "fine window: " + *e};
    if (auto e = ks.windows.coarse().restore(x.coarse)) return failure{at + "coarse window: " + *e};
  }

  if (image.rules.size() != im.rules.size())
    return failure{where + std::to_string(image.rules.size()) + " alert rules where it has " +
                   std::to_string(im.rules.size())};
  for (std::size_t i = 0; i < image.rules.size(); ++i) {
    const auto& x = image.rules[i];
    auto& rs = im.rules[i];
    if (x.key != rs.rule->key)
      return failure{where + "rules[" + std::to_string(i) + "]: rule '" + x.key +
                     "' where it has '" + rs.rule->key + "'"};
    rs.firing = x.firing;
    rs.since = x.since;
    rs.value = x.value;
  }
  im.rebuild_active();

  if (auto e = im.dedup.restore(image.dedup)) return failure{where + "dedup: " + *e};
  if ((image.kinds_to_evaluate & ~all_kinds) != 0)
    return failure{where + "kinds_to_evaluate has bits of no sensor kind"};
  im.kinds_to_evaluate = image.kinds_to_evaluate;
  im.evaluated_at = image.evaluated_at;
  im.alerts_version = image.alerts_version;
  im.readings_applied = image.readings_applied;
  im.late_applied = image.late_readings_applied;
  im.rejected = image.rejected;
  return out;
}

}  // namespace twin
