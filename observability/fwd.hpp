#pragma once

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace observability {

class metrics_registry;
class metrics_exposer;
class ingest_probe;
class city_probe;
class node_probe;
struct probes;

}  // namespace observability
