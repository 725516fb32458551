#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "observability/fwd.hpp"
#include "twin/base/expected.hpp"

namespace observability {

// Owns the metric families of one node. Created in main() and passed to the probes.
class metrics_registry {
 public:
  metrics_registry();
  ~metrics_registry();
  metrics_registry(const metrics_registry&) = delete;
  metrics_registry& operator=(const metrics_registry&) = delete;

  // Every series in the Prometheus text exposition format, as a scrape would return it.
  std::string scrape_text() const;

  // `refresh` runs before every scrape (the endpoint's and scrape_text()), on the scraping
  // thread: for probes that read their values from elsewhere when asked. It must outlive the
  // registry's exposer.
  void before_scrape(std::function<void()> refresh);

  // For probes and the exposer only: the other layers never see prometheus-cpp.
  prometheus::Registry& native();
  const std::shared_ptr<prometheus::Registry>& native_shared() const { return registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;

 public:
  // For the exposer: runs the refresh functions when collected (before the registry).
  struct refresher;
  const std::shared_ptr<refresher>& refreshers() const { return refreshers_; }

 private:
  std::shared_ptr<refresher> refreshers_;
};

// Serves GET /metrics over HTTP for one registry. Stops serving when destroyed.
class metrics_exposer {
 public:
  // `address` is "HOST:PORT"; port 0 picks a free port (see port()). Fails with a message naming
  // the address when it cannot be bound.
  static twin::expected<std::unique_ptr<metrics_exposer>, std::string> start(
      metrics_registry& registry, const std::string& address);
  ~metrics_exposer();
  metrics_exposer(const metrics_exposer&) = delete;
  metrics_exposer& operator=(const metrics_exposer&) = delete;

  // The port actually bound.
  std::uint16_t port() const { return port_; }

 private:
  struct impl;
  explicit metrics_exposer(std::unique_ptr<impl> impl, std::uint16_t port);
  std::unique_ptr<impl> impl_;
  std::uint16_t port_ = 0;
};

}  // namespace observability
