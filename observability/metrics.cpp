#include "observability/metrics.hpp"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <exception>
#include <mutex>
#include <vector>

namespace observability {

struct metrics_registry::refresher : prometheus::Collectable {
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::lock_guard lock(mutex);
    for (const auto& f : functions) f();
    return {};
  }
  mutable std::mutex mutex;
  std::vector<std::function<void()>> functions;
};

metrics_registry::metrics_registry()
    : registry_(std::make_shared<prometheus::Registry>()),
      refreshers_(std::make_shared<refresher>()) {}

metrics_registry::~metrics_registry() = default;

std::string metrics_registry::scrape_text() const {
  refreshers_->Collect();
  return prometheus::TextSerializer{}.Serialize(registry_->Collect());
}

void metrics_registry::before_scrape(std::function<void()> refresh) {
  std::lock_guard lock(refreshers_->mutex);
  refreshers_->functions.push_back(std::move(refresh));
}

prometheus::Registry& metrics_registry::native() {
  return *registry_;
}

struct metrics_exposer::impl {
  std::unique_ptr<prometheus::Exposer> exposer;
};

metrics_exposer::metrics_exposer(std::unique_ptr<impl> impl, std::uint16_t port)
    : impl_(std::move(impl)), port_(port) {}

metrics_exposer::~metrics_exposer() = default;

twin::expected<std::unique_ptr<metrics_exposer>, std::string> metrics_exposer::start(
    metrics_registry& registry, const std::string& address) {
  auto state = std::make_unique<impl>();
  // Civetweb reports a bind failure by throwing; this is the boundary where it becomes a value.
  try {
    state->exposer = std::make_unique<prometheus::Exposer>(address, 1);
  } catch (const std::exception& e) {
    return twin::unexpected{"cannot serve metrics on '" + address + "': " + e.what()};
  }
  auto ports = state->exposer->GetListeningPorts();
  if (ports.empty())
    return twin::unexpected{"cannot serve metrics on '" + address + "': no port was bound"};
  // The refresh functions first: the exposer collects in the order registered.
  state->exposer->RegisterCollectable(registry.refreshers());
  state->exposer->RegisterCollectable(registry.native_shared());
  auto port = static_cast<std::uint16_t>(ports.front());
  return std::unique_ptr<metrics_exposer>(new metrics_exposer(std::move(state), port));
}

}  // namespace observability
