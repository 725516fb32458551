#include "node/snapshot_base.hpp"

#include <chrono>
#include <future>
#include <memory>
#include <utility>

#include "actors/own_system.hpp"
#include "actors/runtime.hpp"
#include "cluster/snapshot_file.hpp"
#include "twin/base/time.hpp"
#include "twin/city/fingerprint.hpp"

namespace node {

namespace {

// Enough for the district actors to answer while the read runs; the solves come later, on the
// scenario's own system.
constexpr std::size_t snapshot_base_threads = 2;

// One query to the runtime, waited for: the runtime answers on an actor's thread, possibly after
// the wait gave up, so the promise is shared with the callback.
twin::expected<twin::query_reply, std::string> ask_runtime(actors::runtime& rt,
                                                           const std::string& name,
                                                           const twin::query_request& request,
                                                           int timeout_ms) {
  auto promise = std::make_shared<std::promise<twin::query_reply>>();
  auto reply = promise->get_future();
  rt.query(request, [promise](twin::query_reply r) { promise->set_value(std::move(r)); });
  if (reply.wait_for(std::chrono::milliseconds(timeout_ms)) != std::future_status::ready)
    return twin::unexpected{"no reply from the runtime started from " + name + " within " +
                            std::to_string(timeout_ms) + " ms"};
  return reply.get();
}

}  // namespace

twin::expected<twin::live_snapshot, std::string> live_snapshot_from_file(
    const std::filesystem::path& path, const twin::city& bundle, int timeout_ms) {
  const auto name = path.string();
  auto loaded = cluster::load_snapshot_file(path);
  if (!loaded) return twin::unexpected{loaded.error().to_string()};
  auto& snapshot = loaded->snapshot;
  if (snapshot.city.name != bundle.name)
    return twin::unexpected{name + " is a snapshot of city '" + snapshot.city.name +
                            "' but the scenario's bundle is '" + bundle.name + "'"};
  actors::runtime_options options;
  if (auto e = cluster::check_snapshot_fits(snapshot, name, bundle, options.district_options))
    return twin::unexpected{e->to_string()};

  // Declared before the actor system: the clock must outlive it.
  twin::manual_clock clock(snapshot.taken_ms);
  auto city = std::make_shared<const twin::city>(bundle);
  twin::expected<twin::live_snapshot, std::string> out = twin::unexpected{std::string()};
  {
    actors::own_system system(snapshot_base_threads);
    auto rt = actors::runtime::start_from(system.get(), city, clock, nullptr, options, snapshot);
    if (!rt) return twin::unexpected{name + ": " + rt.error()};
    cluster::live_source source;
    source.name = name;
    source.ask = [&rt = **rt, &name](const twin::query_request& request, int timeout) {
      return ask_runtime(rt, name, request, timeout);
    };
    out = cluster::fetch_live_snapshot(source, bundle, timeout_ms);
    (*rt)->stop();
    rt->reset();
  }
  if (out) out->snapshot = twin::live_snapshot_file{name, snapshot.lsn, snapshot.taken_ms};
  return out;
}

}  // namespace node
