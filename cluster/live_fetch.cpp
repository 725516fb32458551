#include "cluster/live_fetch.hpp"

#include <chrono>
#include <variant>

#include "cluster/query_client.hpp"

namespace cluster {

namespace {

using steady = std::chrono::steady_clock;

// One query within what is left of the read's time; a refusal or a reply of the wrong shape is
// an error naming what was asked.
template <class View>
twin::expected<View, std::string> ask(const live_source& source, const twin::query_request& request,
                                      const std::string& what, steady::time_point deadline,
                                      int timeout_ms) {
  const auto& address = source.name;
  // Rounded up, so that the query's own time runs out no earlier than the read's: a query that
  // times out is then always reported as the read's timeout.
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - steady::now()).count();
  if (left <= 0)
    return twin::unexpected{"reading the live state of " + address + " took longer than " +
                            std::to_string(timeout_ms) + " ms (at " + what + ")"};
  auto reply = source.ask(request, static_cast<int>(left));
  if (!reply && steady::now() >= deadline)
    return twin::unexpected{"no reply from " + address + " within " + std::to_string(timeout_ms) +
                            " ms (at " + what + ")" +
                            (source.timeout_hint ? source.timeout_hint() : std::string())};
  if (!reply) return twin::unexpected{reply.error()};
  if (auto* e = std::get_if<twin::query_error>(&*reply))
    return twin::unexpected{address + " refused the query for " + what + ": " + e->message};
  if (auto* v = std::get_if<View>(&*reply)) return std::move(*v);
  return twin::unexpected{address + " answered the query for " + what + " with another view"};
}

twin::expected<twin::live_snapshot, std::string> read_live_state(const live_source& source,
                                                                 const twin::city& bundle,
                                                                 steady::time_point deadline,
                                                                 int timeout_ms) {
  const auto& address = source.name;
  auto city = ask<twin::city_view>(source, twin::query_city{}, "the city", deadline, timeout_ms);
  if (!city) return twin::unexpected{city.error()};
  twin::live_snapshot s;
  s.node = address;
  s.city_name = city->name;
  s.as_of = city->as_of;
  if (city->name != bundle.name) return s;

  std::size_t environment_sensors = 0;
  for (const auto& x : bundle.sensors)
    environment_sensors += twin::is_live_environment_kind(x.kind);
  const std::size_t queries = 1 + city->districts.size() + environment_sensors;
  if (queries > live_fetch_queries_max)
    return twin::unexpected{"reading the live state of " + address + " would take " +
                            std::to_string(queries) + " queries, more than " +
                            std::to_string(live_fetch_queries_max)};

  for (const auto& d : city->districts) {
    s.districts.push_back({d.key, d.indicators});
    // The city view leaves the links out: each district gives its own.
    auto view = ask<twin::district_view>(source, twin::query_district{d.key},
                                         "district '" + d.key + "'", deadline, timeout_ms);
    if (!view) return twin::unexpected{view.error()};
    for (const auto& l : view->links) s.links.push_back({l.key, l.speed_kmh, l.flow_veh_h, l.time});
  }
  for (const auto& x : bundle.sensors) {
    if (!twin::is_live_environment_kind(x.kind)) continue;
    auto view = ask<twin::sensor_view>(source, twin::query_sensor{x.key}, "sensor '" + x.key + "'",
                                       deadline, timeout_ms);
    if (!view) return twin::unexpected{view.error()};
    twin::live_sensor ls;
    ls.key = view->key;
    ls.kind = view->kind;
    ls.district = view->district_key;
    ls.reported = view->has_value;
    if (view->has_value) {
      ls.value = view->value;
      ls.time = view->time;
    }
    s.sensors.push_back(std::move(ls));
  }
  return s;
}

}  // namespace

twin::expected<twin::live_snapshot, std::string> fetch_live_snapshot(
    const std::string& address, const twin::city& bundle, int timeout_ms,
    std::optional<curve_client_keys> curve) {
  const auto deadline = steady::now() + std::chrono::milliseconds(timeout_ms);
  cluster::query_client client;
  if (auto c = client.connect(address, std::move(curve)); !c) return twin::unexpected{c.error()};
  live_source source;
  source.name = address;
  source.ask = [&client](const twin::query_request& request, int timeout) {
    return client.ask(request, timeout);
  };
  source.timeout_hint = [&client] { return client.timeout_hint(); };
  return read_live_state(source, bundle, deadline, timeout_ms);
}

twin::expected<twin::live_snapshot, std::string> fetch_live_snapshot(const live_source& source,
                                                                     const twin::city& bundle,
                                                                     int timeout_ms) {
  return read_live_state(source, bundle, steady::now() + std::chrono::milliseconds(timeout_ms),
                         timeout_ms);
}

}  // namespace cluster
