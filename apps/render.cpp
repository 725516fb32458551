#include "apps/render.hpp"

#include <cmath>
#include <iomanip>
#include <sstream>

#include "twin/base/time_text.hpp"

namespace apps {

namespace {

nlohmann::json number(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}

nlohmann::json to_json(const twin::window_stats& w) {
  return {
      {"count", w.count}, {"mean", number(w.mean)}, {"min", number(w.min)}, {"max", number(w.max)}};
}

nlohmann::json to_json(const twin::reject_counts& r) {
  nlohmann::json j = nlohmann::json::object();
  for (std::size_t i = 0; i < twin::reject_reason_count; ++i)
    if (r.by_reason[i] != 0)
      j[std::string(twin::to_string(static_cast<twin::reject_reason>(i)))] = r.by_reason[i];
  return j;
}

nlohmann::json to_json(const twin::district_indicators& i) {
  return {{"congestion_index", number(i.congestion_index)},
          {"mean_speed_kmh", number(i.mean_speed_kmh)},
          {"pm25_ug_m3", number(i.pm25_ug_m3)},
          {"no2_ug_m3", number(i.no2_ug_m3)},
          {"co2_ppm", number(i.co2_ppm)},
          {"noise_db", number(i.noise_db)},
          {"crowding", number(i.crowding)},
          {"visitors", number(i.visitors)},
          {"waste_fill_pct", number(i.waste_fill_pct)},
          {"bins_full", i.bins_full},
          {"stale_sensors", i.stale_sensors},
          {"active_alerts", i.active_alerts}};
}

nlohmann::json to_json(const twin::alert& a) {
  return {{"rule", a.rule},
          {"kind", std::string(twin::to_string(a.kind))},
          {"severity", std::string(twin::to_string(a.level))},
          {"value", number(a.value)},
          {"threshold", number(a.threshold)},
          {"since", twin::iso8601_utc(a.since)},
          {"since_ms", a.since},
          {"message", a.message}};
}

std::string fixed(double v, int digits, int width = 0) {
  std::ostringstream os;
  if (width > 0) os << std::setw(width);
  if (!std::isfinite(v))
    os << "-";
  else
    os << std::fixed << std::setprecision(digits) << v;
  return os.str();
}

std::string pad(const std::string& s, std::size_t width) {
  // Pads by displayed characters, counting UTF-8 continuation bytes as nothing.
  std::size_t shown = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++shown;
  return shown >= width ? s : s + std::string(width - shown, ' ');
}

}  // namespace

nlohmann::json to_json(const twin::district_view& v) {
  nlohmann::json kinds = nlohmann::json::array();
  for (const auto& k : v.kinds)
    kinds.push_back({{"kind", std::string(twin::to_string(k.kind))},
                     {"unit", std::string(twin::unit_of(k.kind))},
                     {"sensors", k.sensors},
                     {"last_1m", to_json(k.last_1m)},
                     {"last_15m", to_json(k.last_15m)},
                     {"last_1h", to_json(k.last_1h)}});
  nlohmann::json links = nlohmann::json::array();
  for (const auto& l : v.links)
    links.push_back({{"link", l.key},
                     {"speed_kmh", number(l.speed_kmh)},
                     {"flow_veh_h", number(l.flow_veh_h)},
                     {"occupancy_pct", number(l.occupancy_pct)},
                     {"time_ms", l.time}});
  nlohmann::json alerts = nlohmann::json::array();
  for (const auto& a : v.alerts) alerts.push_back(to_json(a));
  return {{"district", v.key},
          {"name", v.name},
          {"as_of", twin::iso8601_utc(v.as_of)},
          {"as_of_ms", v.as_of},
          {"population", v.population},
          {"area_km2", v.area_km2},
          {"readings_applied", v.readings_applied},
          {"rejected", to_json(v.rejected)},
          {"sensors", v.sensors},
          {"sensors_reporting", v.sensors_reporting},
          {"indicators", to_json(v.indicators)},
          {"kinds", kinds},
          {"links", links},
          {"alerts", alerts}};
}

nlohmann::json to_json(const twin::city_view& v) {
  nlohmann::json districts = nlohmann::json::array();
  for (const auto& d : v.districts) {
    auto j = to_json(d);
    j.erase("links");
    districts.push_back(std::move(j));
  }
  return {{"city", v.name},
          {"as_of", twin::iso8601_utc(v.as_of)},
          {"as_of_ms", v.as_of},
          {"readings_applied", v.readings_applied},
          {"rejected", to_json(v.rejected)},
          {"districts", districts}};
}

nlohmann::json to_json(const twin::sensor_view& v) {
  return {{"sensor", v.key},
          {"id", v.id.value},
          {"kind", std::string(twin::to_string(v.kind))},
          {"unit", std::string(twin::unit_of(v.kind))},
          {"district", v.district_key},
          {"has_value", v.has_value},
          {"value", v.has_value ? number(v.value) : nlohmann::json()},
          {"time", v.has_value ? nlohmann::json(twin::iso8601_utc(v.time)) : nlohmann::json()},
          {"time_ms", v.has_value ? nlohmann::json(v.time) : nlohmann::json()},
          {"readings", v.readings}};
}

nlohmann::json to_json(const twin::cluster_status_view& v) {
  if (v.alone) return {{"alone", true}, {"node", v.node}};
  nlohmann::json members = nlohmann::json::array();
  for (const auto& m : v.members) {
    if (m.state == "down") {
      members.push_back(
          {{"id", m.id}, {"state", "down"}, {"owns", m.owns}, {"replicates", m.replicates}});
      continue;
    }
    members.push_back({{"id", m.id},
                       {"incarnation", m.incarnation},
                       {"state", m.state},
                       {"zone", m.zone},
                       {"ingest", m.ingest},
                       {"query", m.query},
                       {"metrics", m.metrics},
                       {"city", m.city},
                       {"fingerprint", m.fingerprint},
                       {"started_ms", m.started_ms},
                       {"owns", m.owns},
                       {"replicates", m.replicates}});
  }
  nlohmann::json districts = nlohmann::json::array();
  for (const auto& d : v.districts)
    districts.push_back({{"district", d.district},
                         {"index", d.index},
                         {"owner", d.owner},
                         {"replicas", d.replicas}});
  nlohmann::json out{{"cluster", v.cluster},
                     {"store", v.store},
                     {"revision", v.revision},
                     {"epoch", v.epoch},
                     {"coordinator", v.coordinator},
                     {"term", v.term},
                     {"replication_factor", v.replication_factor},
                     {"members", members},
                     {"districts", districts}};
  if (!v.node.empty()) {
    out["node"] = v.node;
    out["store_reachable"] = v.store_reachable;
  }
  return out;
}

nlohmann::json to_json(const twin::query_reply& r) {
  return std::visit(
      [](const auto& v) -> nlohmann::json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, twin::query_error>)
          return {{"error", v.message}};
        else
          return to_json(v);
      },
      r);
}

std::string render_text(const twin::city_view& v) {
  std::ostringstream os;
  os << v.name << " at " << twin::iso8601_utc(v.as_of) << ": " << v.readings_applied
     << " readings applied, " << v.rejected.total() << " rejected\n";
  os << pad("district", 32) << " sensors  speed  congest   PM2.5     NO2  noise  visitors  waste"
     << "  stale alerts\n";
  os << pad("", 32) << "  rep/all   km/h    index   ug/m3   ug/m3  dB(A)   persons      %\n";
  for (const auto& d : v.districts) {
    const auto& i = d.indicators;
    os << pad(d.name, 32) << ' ' << std::setw(4) << d.sensors_reporting << '/' << std::left
       << std::setw(4) << d.sensors << std::right << fixed(i.mean_speed_kmh, 1, 6)
       << fixed(i.congestion_index, 2, 9) << fixed(i.pm25_ug_m3, 1, 8) << fixed(i.no2_ug_m3, 1, 8)
       << fixed(i.noise_db, 1, 7) << fixed(i.visitors, 0, 10) << fixed(i.waste_fill_pct, 0, 7)
       << std::setw(7) << i.stale_sensors << std::setw(7) << i.active_alerts << '\n';
  }
  return os.str();
}

std::string render_text(const twin::district_view& v) {
  std::ostringstream os;
  const auto& i = v.indicators;
  os << v.name << " (" << v.key << ") at " << twin::iso8601_utc(v.as_of) << "\n";
  os << "  population " << fixed(v.population, 0) << ", area " << fixed(v.area_km2, 1)
     << " km2, sensors " << v.sensors_reporting << "/" << v.sensors << " reporting, "
     << v.readings_applied << " readings applied, " << v.rejected.total() << " rejected\n";
  os << "  congestion index " << fixed(i.congestion_index, 3) << ", mean speed "
     << fixed(i.mean_speed_kmh, 1) << " km/h\n";
  os << "  PM2.5 " << fixed(i.pm25_ug_m3, 1) << " ug/m3, NO2 " << fixed(i.no2_ug_m3, 1)
     << " ug/m3, CO2 " << fixed(i.co2_ppm, 0) << " ppm, noise " << fixed(i.noise_db, 1)
     << " dB(A)\n";
  os << "  visitors " << fixed(i.visitors, 0) << " (crowding " << fixed(i.crowding, 2)
     << "), waste fill " << fixed(i.waste_fill_pct, 0) << " % (" << i.bins_full
     << " bins full), stale sensors " << i.stale_sensors << "\n";
  if (!v.kinds.empty()) {
    os << "  " << pad("kind", 18) << pad("unit", 9) << "    n(1h)   mean 1m  mean 15m   mean 1h"
       << "    max 1h\n";
    for (const auto& k : v.kinds)
      os << "  " << pad(std::string(twin::to_string(k.kind)), 18)
         << pad(std::string(twin::unit_of(k.kind)), 9) << std::setw(9) << k.last_1h.count
         << fixed(k.last_1m.mean, 1, 10) << fixed(k.last_15m.mean, 1, 10)
         << fixed(k.last_1h.mean, 1, 10) << fixed(k.last_1h.max, 1, 10) << '\n';
  }
  if (!v.alerts.empty()) {
    os << "  active alerts:\n";
    for (const auto& a : v.alerts)
      os << "    [" << twin::to_string(a.level) << "] " << a.rule << ": " << twin::to_string(a.kind)
         << " " << fixed(a.value, 1) << " vs " << fixed(a.threshold, 1) << " since "
         << twin::iso8601_utc(a.since) << (a.message.empty() ? "" : " — " + a.message) << '\n';
  }
  if (!v.links.empty()) {
    os << "  links with traffic readings: " << v.links.size() << "\n";
    std::size_t shown = 0;
    for (const auto& l : v.links) {
      if (++shown > 12) {
        os << "    ... (" << v.links.size() - 12 << " more; use --json for all)\n";
        break;
      }
      os << "    " << pad(l.key, 28) << fixed(l.speed_kmh, 1, 7) << " km/h"
         << fixed(l.flow_veh_h, 0, 7) << " veh/h" << fixed(l.occupancy_pct, 1, 6) << " %\n";
    }
  }
  return os.str();
}

std::string render_text(const twin::sensor_view& v) {
  std::ostringstream os;
  os << v.key << " (id " << v.id.value << "), " << twin::to_string(v.kind) << " in "
     << v.district_key << ": ";
  if (v.has_value)
    os << fixed(v.value, 2) << ' ' << twin::unit_of(v.kind) << " at " << twin::iso8601_utc(v.time);
  else
    os << "no reading yet";
  os << ", " << v.readings << " readings applied\n";
  return os.str();
}

std::string render_text(const twin::cluster_status_view& v) {
  std::ostringstream os;
  if (v.alone) {
    os << "node '" << v.node << "' runs alone (no --cluster): it holds the whole city\n";
    return os.str();
  }
  os << "cluster '" << v.cluster << "' on " << v.store;
  if (!v.node.empty())
    os << ", as node '" << v.node << "' sees it"
       << (v.store_reachable ? "" : " (etcd unreachable: its last view)");
  os << "\n";
  if (v.members.empty() && v.epoch == 0) {
    os << "  no members and no placement: no node has joined this cluster\n";
    return os.str();
  }
  os << "  epoch " << v.epoch << ", coordinator "
     << (v.coordinator.empty() ? std::string("none") : "'" + v.coordinator + "'")
     << (v.coordinator.empty() ? "" : " (term " + std::to_string(v.term) + ")")
     << ", replication factor " << v.replication_factor << "\n";
  std::size_t down = 0;
  for (const auto& m : v.members) down += m.state == "down";
  os << "  members: " << v.members.size() - down
     << (down == 0 ? "" : ", " + std::to_string(down) + " down") << "\n";
  os << "    " << std::left << std::setw(20) << "id" << std::setw(9) << "state" << std::setw(10)
     << "zone" << std::setw(6) << "owns" << std::setw(11) << "replicates"
     << "ingest / query\n";
  for (const auto& m : v.members) {
    os << "    " << std::setw(20) << m.id << std::setw(9) << m.state << std::setw(10)
       << (m.zone.empty() ? "-" : m.zone) << std::setw(6) << m.owns << std::setw(11)
       << m.replicates;
    if (m.state == "down")
      os << "(no member key: its lease ended)\n";
    else
      os << m.ingest << " / " << m.query << "\n";
  }
  if (!v.districts.empty()) {
    os << "  districts:\n";
    for (const auto& d : v.districts) {
      std::string replicas;
      for (const auto& r : d.replicas) replicas += (replicas.empty() ? "" : ", ") + r;
      os << "    " << std::setw(30) << d.district << "owner " << std::setw(20)
         << (d.owner.empty() ? "-" : d.owner) << "replicas " << (replicas.empty() ? "-" : replicas)
         << "\n";
    }
  }
  return os.str();
}

std::string render_text(const twin::query_reply& r) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, twin::query_error>)
          return "error: " + v.message + "\n";
        else
          return render_text(v);
      },
      r);
}

}  // namespace apps
