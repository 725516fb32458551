#include "observability/city_probe.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "observability/metrics.hpp"
#include "twin/base/check.hpp"

namespace observability {

struct city_probe::district_series {
  prometheus::Gauge* speed_kmh = nullptr;
  prometheus::Gauge* congestion_index = nullptr;
  prometheus::Gauge* pm25_ug_m3 = nullptr;
  prometheus::Gauge* no2_ug_m3 = nullptr;
  prometheus::Gauge* co2_ppm = nullptr;
  prometheus::Gauge* noise_db = nullptr;
  prometheus::Gauge* crowding_ratio = nullptr;
  prometheus::Gauge* visitors = nullptr;
  prometheus::Gauge* waste_fill_ratio = nullptr;
  prometheus::Gauge* stale_sensors = nullptr;
  prometheus::Gauge* alerts_active = nullptr;
  prometheus::Gauge* sensors_reporting = nullptr;
  prometheus::Counter* readings = nullptr;
  // The district's running total when `readings` was last advanced.
  std::uint64_t readings_published = 0;
};

namespace {

prometheus::Family<prometheus::Gauge>& gauge_family(prometheus::Registry& reg, const char* name,
                                                    const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(reg);
}

}  // namespace

city_probe::city_probe(metrics_registry& registry, const twin::city& city) {
  auto& reg = registry.native();
  auto& speed = gauge_family(reg, "citytwin_district_speed_kmh",
                             "Mean speed on the district's sensed links (harmonic, "
                             "length-weighted), km/h.");
  auto& congestion = gauge_family(reg, "citytwin_district_congestion_index",
                                  "Extra travel time over free flow on sensed links: 0 = free "
                                  "flow, 1 = twice the free-flow time.");
  auto& pm25 = gauge_family(reg, "citytwin_district_pm25_ug_m3", "PM2.5, mean over the last hour.");
  auto& no2 = gauge_family(reg, "citytwin_district_no2_ug_m3", "NO2, mean over the last hour.");
  auto& co2 = gauge_family(reg, "citytwin_district_co2_ppm", "CO2, mean over the last 15 minutes.");
  auto& noise = gauge_family(reg, "citytwin_district_noise_db",
                             "Energetic mean of the latest noise levels, dB(A).");
  auto& crowding = gauge_family(reg, "citytwin_district_crowding_ratio",
                                "Persons present over the capacity of the visitor sites.");
  auto& visitors =
      gauge_family(reg, "citytwin_district_visitors", "Persons present at the visitor sites.");
  auto& waste = gauge_family(reg, "citytwin_district_waste_fill_ratio",
                             "Mean latest fill of the district's bins, 0..1.");
  auto& stale =
      gauge_family(reg, "citytwin_district_stale_sensors", "Sensors without a recent reading.");
  auto& alerts = gauge_family(reg, "citytwin_district_alerts_active", "Alerts currently active.");
  auto& reporting = gauge_family(reg, "citytwin_district_sensors_reporting",
                                 "Sensors that have sent at least one reading.");
  auto& readings = prometheus::BuildCounter()
                       .Name("citytwin_district_readings_total")
                       .Help("Readings applied to the district's state.")
                       .Register(reg);
  districts_.reserve(city.districts.size());
  for (const auto& d : city.districts) {
    TWIN_CHECK_OP(d.id.value, ==, districts_.size());
    const prometheus::Labels labels{{"district", d.key}};
    auto s = std::make_unique<district_series>();
    s->speed_kmh = &speed.Add(labels);
    s->congestion_index = &congestion.Add(labels);
    s->pm25_ug_m3 = &pm25.Add(labels);
    s->no2_ug_m3 = &no2.Add(labels);
    s->co2_ppm = &co2.Add(labels);
    s->noise_db = &noise.Add(labels);
    s->crowding_ratio = &crowding.Add(labels);
    s->visitors = &visitors.Add(labels);
    s->waste_fill_ratio = &waste.Add(labels);
    s->stale_sensors = &stale.Add(labels);
    s->alerts_active = &alerts.Add(labels);
    s->sensors_reporting = &reporting.Add(labels);
    s->readings = &readings.Add(labels);
    for (auto* g : {s->speed_kmh, s->congestion_index, s->pm25_ug_m3, s->no2_ug_m3, s->co2_ppm,
                    s->noise_db, s->crowding_ratio, s->visitors, s->waste_fill_ratio})
      g->Set(twin::no_value);
    districts_.push_back(std::move(s));
  }
}

city_probe::~city_probe() = default;

void city_probe::update(twin::district_id id, const twin::district_indicators& x,
                        std::uint64_t readings_applied, std::uint32_t sensors_reporting) {
  TWIN_CHECK_OP(id.value, <, districts_.size());
  auto& s = *districts_[id.value];
  s.speed_kmh->Set(x.mean_speed_kmh);
  s.congestion_index->Set(x.congestion_index);
  s.pm25_ug_m3->Set(x.pm25_ug_m3);
  s.no2_ug_m3->Set(x.no2_ug_m3);
  s.co2_ppm->Set(x.co2_ppm);
  s.noise_db->Set(x.noise_db);
  s.crowding_ratio->Set(x.crowding);
  s.visitors->Set(x.visitors);
  s.waste_fill_ratio->Set(x.waste_fill_pct / 100.0);
  s.stale_sensors->Set(x.stale_sensors);
  s.alerts_active->Set(x.active_alerts);
  s.sensors_reporting->Set(sensors_reporting);
  // The state reports a running total and a counter takes increments. A total that goes back
  // (a district restored from an older snapshot) restarts the baseline rather than the counter.
  if (readings_applied > s.readings_published)
    s.readings->Increment(static_cast<double>(readings_applied - s.readings_published));
  s.readings_published = readings_applied;
}

}  // namespace observability
