#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "observability/fwd.hpp"
#include "twin/city/city.hpp"
#include "twin/live/views.hpp"

namespace observability {

// Per-district gauges of the live city, label district=<key>. The series of every district of the
// city are created once, at construction; a district without data shows NaN.
class city_probe {
 public:
  city_probe(metrics_registry& registry, const twin::city& city);
  ~city_probe();
  city_probe(const city_probe&) = delete;
  city_probe& operator=(const city_probe&) = delete;

  // Publishes one district from the numbers its state keeps (no view is built for it). A district
  // is updated by one actor at a time: the per-district bookkeeping needs no lock.
  void update(twin::district_id id, const twin::district_indicators& indicators,
              std::uint64_t readings_applied, std::uint32_t sensors_reporting);

 private:
  struct district_series;
  std::vector<std::unique_ptr<district_series>> districts_;
};

}  // namespace observability
