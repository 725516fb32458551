#pragma once

#include "observability/city_probe.hpp"
#include "observability/ingest_probe.hpp"
#include "observability/metrics.hpp"
#include "observability/node_probe.hpp"

namespace observability {

// Every probe of a node, created in main() over one registry and passed down.
struct probes {
  probes(metrics_registry& registry, const twin::city& city)
      : registry(registry), ingest(registry), city(registry, city), node(registry) {}

  metrics_registry& registry;
  ingest_probe ingest;
  city_probe city;
  node_probe node;
};

}  // namespace observability
