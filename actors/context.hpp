#pragma once

#include <atomic>
#include <memory>
#include <optional>

#include "actors/options.hpp"
#include "observability/fwd.hpp"
#include "twin/base/time.hpp"
#include "twin/city/city.hpp"
#include "twin/live/district_state.hpp"

namespace actors {

// What every actor of one runtime shares: immutable, except the probes, which are thread-safe.
struct node_context {
  twin::city_ptr city;
  const twin::clock* clock = nullptr;
  observability::probes* probes = nullptr;  // nullptr: no metrics
  runtime_options options;
  // Built once from `city` and options.ingest_limits.
  std::optional<twin::reading_validator> validator;
  // Readings of sensors the city does not know: no district owns them, so the city view adds
  // them here. Written by the ingest router only.
  mutable std::atomic<std::uint64_t> unknown_sensor_readings{0};
};
using node_context_ptr = std::shared_ptr<const node_context>;

}  // namespace actors
