#include "node/node_host.hpp"

#include <unistd.h>

#include <caf/all.hpp>
#include <charconv>
#include <condition_variable>
#include <fstream>
#include <future>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "actors/runtime.hpp"
#include "cluster/agent_runner.hpp"
#include "cluster/curve.hpp"
#include "cluster/etcd_store.hpp"
#include "cluster/ingest_server.hpp"
#include "cluster/query_server.hpp"
#include "cluster/snapshot_file.hpp"
#include "observability/probes.hpp"
#include "observability/security_probe.hpp"
#include "observability/storage_probe.hpp"
#include "twin/base/time_text.hpp"
#include "twin/city/fingerprint.hpp"

namespace node {

namespace {

// The transport's refusals, counted by the security probe under the socket's label.
class refusal_counter final : public cluster::curve_observer {
 public:
  refusal_counter(observability::security_probe& probe, observability::secured_socket socket)
      : probe_(probe), socket_(socket) {}
  void refused(cluster::curve_refusal reason) override {
    static_assert(cluster::curve_refusal_count == observability::security_refusal_count);
    probe_.refused(socket_, static_cast<observability::security_refusal>(reason));
  }

 private:
  observability::security_probe& probe_;
  observability::secured_socket socket_;
};

static_assert(static_cast<int>(cluster::curve_refusal::unknown_key) ==
              static_cast<int>(observability::security_refusal::unknown_key));
static_assert(static_cast<int>(cluster::curve_refusal::dropped) ==
              static_cast<int>(observability::security_refusal::dropped));
static_assert(static_cast<int>(cluster::curve_refusal::protocol) ==
              static_cast<int>(observability::security_refusal::protocol));

twin::expected<cluster::curve_server_keys, std::string> load_curve_keys(const node_config& c) {
  if (c.curve_allow.empty())
    return twin::unexpected{
        std::string("--curve-secret needs --curve-allow (the client keys to let in)")};
  if (c.curve_secret_file.empty())
    return twin::unexpected{std::string("--curve-allow needs --curve-secret (the node's key)")};
  auto secret = cluster::read_curve_key(c.curve_secret_file);
  if (!secret) return twin::unexpected{secret.error()};
  if (auto pub = cluster::curve_public_of(*secret); !pub)
    return twin::unexpected{c.curve_secret_file + ": " + pub.error()};
  auto allowed = cluster::curve_allow_list::read(c.curve_allow);
  if (!allowed) return twin::unexpected{allowed.error()};
  return cluster::curve_server_keys{
      *secret, std::make_shared<cluster::curve_allow_list>(std::move(*allowed))};
}

// Snapshots in DIR/snapshots/ are named by the LSN they cover: 20 digits and ".snap".
std::filesystem::path snapshot_path(const std::filesystem::path& dir, std::uint64_t lsn) {
  char name[32];
  std::snprintf(name, sizeof name, "%020llu.snap", static_cast<unsigned long long>(lsn));
  return dir / name;
}

// The snapshots of `dir` by LSN, oldest first (a left-over .tmp is not one).
std::vector<std::pair<std::uint64_t, std::filesystem::path>> snapshots_in(
    const std::filesystem::path& dir) {
  std::vector<std::pair<std::uint64_t, std::filesystem::path>> found;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const auto name = e.path().filename().string();
    if (name.size() != 25 || name.substr(20) != ".snap") continue;
    std::uint64_t lsn = 0;
    auto [end, err] = std::from_chars(name.data(), name.data() + 20, lsn);
    if (err != std::errc() || end != name.data() + 20) continue;
    found.emplace_back(lsn, e.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

// The settings a replay of the log depends on: the same batch judged under others could be
// applied differently (too_old, too_new, too_late, what the dedup memory holds). One per line,
// as written to DIR/SETTINGS.
std::vector<std::string> replay_settings(const twin::city& city, const node_config& c) {
  const auto id = twin::identity_of(city);
  const auto& d = c.district;
  return {"city: " + id.name + " " + twin::fingerprint_text(id.fingerprint),
          "max_age: " + twin::duration_text(c.limits.max_age_ms),
          "max_future: " + twin::duration_text(c.limits.max_future_ms),
          "lateness: " + twin::duration_text(d.lateness_ms),
          "times_per_sensor_max: " + std::to_string(d.times_per_sensor_max),
          "dedup_window_batches_max: " + std::to_string(d.dedup_window_batches_max),
          "dedup_sessions_max: " + std::to_string(d.dedup_sessions_max),
          "window_future_max: " + twin::duration_text(d.window_future_ms_max)};
}

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  return lines;
}

twin::expected<std::monostate, std::string> write_settings(const std::filesystem::path& path,
                                                           const std::vector<std::string>& lines) {
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "# The settings this data directory's log was written with (a replay depends on "
           "them).\n";
    for (const auto& l : lines) out << l << '\n';
    if (!out) return twin::unexpected{"cannot write " + tmp.string()};
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return twin::unexpected{"cannot rename " + tmp.string() + ": " + ec.message()};
  return std::monostate{};
}

// Changed settings are only safe when nothing is left to replay: then the new ones are recorded.
// Otherwise the start is refused, naming what changed.
twin::expected<std::monostate, std::string> check_replay_settings(
    const cluster::data_dir& dir, std::uint64_t snapshot_lsn,
    const std::vector<std::string>& wanted) {
  const auto path = dir.path() / "SETTINGS";
  if (!std::filesystem::exists(path)) return std::monostate{};
  const auto recorded = read_lines(path);
  if (recorded == wanted) return std::monostate{};
  std::uint64_t to_replay = 0;
  auto scanned = cluster::wal::scan(dir.log_dir(), snapshot_lsn + 1,
                                    [&](const cluster::wal::record_view&) { ++to_replay; });
  if (!scanned) return twin::unexpected{scanned.error().message};
  if (to_replay == 0) return std::monostate{};
  std::string changed;
  for (std::size_t i = 0; i < std::max(recorded.size(), wanted.size()); ++i) {
    const auto was = i < recorded.size() ? recorded[i] : "(none)";
    const auto now = i < wanted.size() ? wanted[i] : "(none)";
    if (was != now) changed += "\n  was '" + was + "', now '" + now + "'";
  }
  return twin::unexpected{
      "data directory " + dir.path().string() + ": its log holds " + std::to_string(to_replay) +
      " batch" + (to_replay == 1 ? "" : "es") +
      " after its snapshot, written under other settings; replayed under these they could be "
      "judged differently:" +
      changed +
      "\n  start the node with the settings it had, stop it with SIGTERM (which writes a "
      "snapshot of everything), then change them"};
}

// Applies the batches of the log to the runtime at start, in log order, at most `window` at a
// time, and waits for the last.
class log_replay {
 public:
  explicit log_replay(twin::batch_sink& sink, std::uint32_t window = 256)
      : sink_(sink), window_(window) {}
  ~log_replay() { wait(); }

  void submit(twin::reading_batch batch) {
    {
      std::unique_lock lock(mutex_);
      space_.wait(lock, [&] { return inflight_ < window_; });
      ++inflight_;
    }
    sink_.submit(std::make_shared<const twin::reading_batch>(std::move(batch)),
                 [this](twin::batch_ack ack) {
                   std::lock_guard lock(mutex_);
                   ++report_.acks[static_cast<std::size_t>(ack.status)];
                   report_.readings_accepted += ack.accepted;
                   --inflight_;
                   space_.notify_all();
                 });
  }
  replay_report wait() {
    std::unique_lock lock(mutex_);
    space_.wait(lock, [&] { return inflight_ == 0; });
    return report_;
  }

 private:
  twin::batch_sink& sink_;
  const std::uint32_t window_;
  std::mutex mutex_;
  std::condition_variable space_;
  std::uint32_t inflight_ = 0;
  replay_report report_;
};

}  // namespace

struct node_host::impl {
  impl(twin::city_ptr c, const node_config& config)
      : city(std::move(c)),
        probes(registry, *city),
        security(registry),
        storage(registry),
        stop_drain_max(config.stop_drain_max),
        stop_refuse(config.stop_refuse),
        curve_allow(config.curve_allow) {
    cfg.set("scheduler.max-threads", static_cast<size_t>(config.threads));
    system = std::make_unique<caf::actor_system>(cfg);
  }

  ~impl() {
    // Order matters: no new work from the sockets, then the actors, then the actor system, then
    // the log (its writer syncs what it wrote and releases the data directory).
    cluster_agent.reset();
    exposer.reset();
    if (ingest) ingest->stop();
    if (query) query->stop();
    stop_periodic();
    ingest.reset();
    query.reset();
    if (runtime) runtime->stop();
    runtime.reset();
    system.reset();
    log.reset();
  }

  twin::city_ptr city;
  observability::metrics_registry registry;
  observability::probes probes;
  observability::security_probe security;
  observability::storage_probe storage;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> system;
  std::unique_ptr<actors::runtime> runtime;
  std::unique_ptr<cluster::ingest_server> ingest;
  std::unique_ptr<cluster::query_server> query;
  std::unique_ptr<observability::metrics_exposer> exposer;
  std::string metrics_host;
  std::string metrics_bind_host;  // as configured, before 0.0.0.0 is read as 127.0.0.1
  std::chrono::milliseconds stop_drain_max;
  std::chrono::milliseconds stop_refuse;
  std::optional<cluster::curve_server_keys> curve;
  std::string curve_public;
  std::string curve_allow;
  std::unique_ptr<refusal_counter> ingest_refusals;
  std::unique_ptr<refusal_counter> query_refusals;
  std::unique_ptr<cluster::batch_log> log;
  replay_report replayed;
  std::filesystem::path snapshot_loaded;  // empty: none
  std::uint64_t snapshot_lsn = 0;
  std::chrono::milliseconds snapshot_timeout{60000};

  // The node's queries: the cluster status from the node itself, the rest from the actors.
  struct node_queries final : twin::query_handler {
    impl* im = nullptr;
    void query(twin::query_request request, std::function<void(twin::query_reply)> done) override {
      if (std::holds_alternative<twin::query_cluster>(request)) {
        done(im->cluster_status());
        return;
      }
      im->runtime->query(std::move(request), std::move(done));
    }
  };
  node_queries queries;

  twin::cluster_status_view cluster_status() const {
    if (!cluster_agent) {
      twin::cluster_status_view alone;
      alone.node = ingest ? ingest->endpoint() : std::string();
      return alone;
    }
    std::vector<std::string> keys;
    for (const auto& d : city->districts) keys.push_back(d.key);
    auto out = cluster::to_status(cluster_agent->view(), cluster_config->name,
                                  cluster_agent->store_description(), keys);
    out.node = node_id;
    return out;
  }

  // The cluster (config.cluster): the member agent on its own thread, its lines to the log.
  std::unique_ptr<cluster::agent_runner> cluster_agent;
  std::optional<cluster_settings> cluster_config;
  std::string node_id;
  std::mutex log_mutex;
  std::ostream* log_out = nullptr;
  void say(const std::string& line) {
    if (log_out == nullptr) return;
    std::lock_guard lock(log_mutex);
    *log_out << line << std::endl;
  }
  twin::expected<std::monostate, std::string> join_cluster(const cluster_settings& c,
                                                           const twin::clock& clock) {
    auto endpoints = cluster::coord::parse_etcd_url(c.url);
    if (!endpoints) return twin::unexpected{"--cluster: " + endpoints.error()};
    if (c.replication_factor < 1 || c.replication_factor > 3)
      return twin::unexpected{"--replication-factor: " + std::to_string(c.replication_factor) +
                              " is not 1, 2 or 3"};
    cluster_config = c;
    node_id = c.node_id;
    if (node_id.empty()) {
      char host[256] = {};
      gethostname(host, sizeof host - 1);
      auto port = ingest->endpoint().substr(ingest->endpoint().rfind(':') + 1);
      node_id = std::string(host) + "-" + port;
    }
    cluster::agent_options o;
    o.cluster = c.name;
    o.self.id = node_id;
    o.self.zone = c.zone;
    char host_name[256] = {};
    gethostname(host_name, sizeof host_name - 1);
    // An endpoint as others reach it: the advertised host, or the machine's name in place of a
    // wildcard bind address.
    auto advertised = [&](const std::string& bound_host) {
      if (!c.advertise_host.empty()) return c.advertise_host;
      if (bound_host == "0.0.0.0" || bound_host == "*" || bound_host == "::")
        return std::string(host_name);
      return bound_host;
    };
    auto reachable = [&](const std::string& endpoint) {
      // tcp://HOST:PORT
      auto scheme = endpoint.find("://");
      auto colon = endpoint.rfind(':');
      if (scheme == std::string::npos || colon == std::string::npos || colon < scheme + 3)
        return endpoint;
      return endpoint.substr(0, scheme + 3) +
             advertised(endpoint.substr(scheme + 3, colon - scheme - 3)) + endpoint.substr(colon);
    };
    o.self.ingest = reachable(ingest->endpoint());
    o.self.query = reachable(query->endpoint());
    o.self.metrics = advertised(metrics_bind_host) + ":" + std::to_string(exposer->port());
    const auto identity = twin::identity_of(*city);
    o.self.city = identity.name;
    o.self.fingerprint = twin::fingerprint_text(identity.fingerprint);
    o.self.started_ms = clock.now_ms();
    o.district_count = city->districts.size();
    o.replication_factor = c.replication_factor;
    o.lease_ttl = c.lease_ttl;
    o.keepalive_every = c.lease_ttl / 4;
    cluster::coord::etcd_options eo{std::move(*endpoints)};
    eo.request_timeout = std::min(std::chrono::milliseconds(1000), c.lease_ttl / 2);
    cluster::agent_runner::hooks hooks;
    hooks.on_event = [this](const std::string& line) { say("cluster: " + line); };
    hooks.on_view = [this](const cluster::cluster_view& v) { cluster_view_changed(v); };
    hooks.on_published = [this](const cluster::publication& p) {
      probes.node.placement_published(static_cast<std::uint32_t>(p.failovers),
                                      static_cast<std::uint32_t>(p.handoffs));
    };
    cluster_agent = std::make_unique<cluster::agent_runner>(
        std::make_unique<cluster::coord::etcd_store>(std::move(eo)), std::move(o),
        std::move(hooks));
    cluster_agent->start();
    // A node whose etcd is down still starts (and serves its last placement when it had one);
    // it joins when etcd answers.
    cluster_agent->wait_joined(c.join_wait);
    return std::monostate{};
  }

  void cluster_view_changed(const cluster::cluster_view& v) {
    probes.node.placement_epoch(static_cast<std::uint64_t>(v.epoch));
    probes.node.districts_owned(static_cast<std::uint32_t>(v.owned_by(node_id)));
    probes.node.districts_replicated(static_cast<std::uint32_t>(v.replicated_by(node_id)));
    probes.node.coordinator(v.coordinator == node_id);
    probes.node.store_reachable(v.store_reachable);
    std::array<std::uint32_t, observability::member_state_count> by_state{};
    for (const auto& m : v.members) ++by_state[static_cast<std::size_t>(m.state)];
    // Down: nodes the placement still gives a role to that hold no member key any more (the
    // coordinator has not yet published a placement without them).
    by_state[static_cast<std::size_t>(cluster::member_state::down)] =
        static_cast<std::uint32_t>(v.down().size());
    for (std::size_t i = 0; i < by_state.size(); ++i)
      probes.node.members(static_cast<observability::member_state>(i), by_state[i]);
  }

  // Periodic snapshots (config.snapshot_every_bytes): asked for by the ingest server on its
  // thread, taken by the actors, written by this thread.
  std::mutex periodic_mutex;
  std::condition_variable periodic_cv;
  std::optional<std::pair<std::uint64_t, actors::runtime::snapshot_result>> periodic_taken;
  std::chrono::steady_clock::time_point periodic_start;
  bool periodic_pending = false;
  bool periodic_stop = false;
  std::thread periodic_writer;

  // I/O thread, right after the batch with `lsn` was submitted.
  void periodic_due(std::uint64_t lsn) {
    {
      std::lock_guard lock(periodic_mutex);
      periodic_pending = true;
      periodic_start = std::chrono::steady_clock::now();
    }
    runtime->snapshot(lsn, [this, lsn](actors::runtime::snapshot_result r) {
      std::lock_guard lock(periodic_mutex);
      periodic_taken.emplace(lsn, std::move(r));
      periodic_cv.notify_all();
    });
  }

  void periodic_loop() {
    std::unique_lock lock(periodic_mutex);
    for (;;) {
      periodic_cv.wait(lock, [&] { return periodic_stop || periodic_taken.has_value(); });
      if (!periodic_taken) return;
      auto [lsn, taken] = std::move(*periodic_taken);
      periodic_taken.reset();
      const auto start = periodic_start;
      lock.unlock();
      const auto r = store_snapshot(std::move(taken), lsn, start);
      if (!r.ok) std::cerr << "citytwin node: periodic " << r.value_or_error() << std::endl;
      lock.lock();
      periodic_pending = false;
      periodic_cv.notify_all();
      if (ingest) ingest->snapshot_finished();
    }
  }

  // Waits for a periodic snapshot in progress (before the stop's own).
  bool wait_periodic(std::chrono::milliseconds timeout) {
    std::unique_lock lock(periodic_mutex);
    return periodic_cv.wait_for(lock, timeout, [&] { return !periodic_pending; });
  }

  void stop_periodic() {
    {
      std::lock_guard lock(periodic_mutex);
      periodic_stop = true;
      periodic_cv.notify_all();
    }
    if (periodic_writer.joinable()) periodic_writer.join();
  }

  // The stop's hook for durable state: runs once every batch admitted before the stop is applied
  // and acked, and no other batch will be, while the actors still hold the final state. Nothing
  // is made durable yet; a snapshot written here holds exactly what the acks said was applied.
  std::pair<bool, std::string> after_ingest_drained() {
    if (!log) return {true, "nothing kept (no --data-dir)"};
    if (!wait_periodic(snapshot_timeout))
      return {false, "snapshot NOT written: a periodic snapshot did not finish within " +
                         std::to_string(snapshot_timeout.count() / 1000) + " s"};
    const auto r = write_snapshot();
    return {r.ok, r.value_or_error()};
  }

  // Takes a snapshot of the state after every batch logged so far (none may be submitted
  // meanwhile), writes it, removes the older ones and the log segments it covers.
  struct snapshot_outcome {
    bool ok = false;
    std::string text;
    std::string value_or_error() const { return ok ? text : "snapshot NOT written: " + text; }
  };
  // With `to`: an export there; the data directory stays as it is.
  snapshot_outcome write_snapshot(const std::optional<std::filesystem::path>& to = {}) {
    const auto start = std::chrono::steady_clock::now();
    const auto lsn = log->last_lsn();
    auto promise = std::make_shared<std::promise<actors::runtime::snapshot_result>>();
    auto future = promise->get_future();
    runtime->snapshot(
        lsn, [promise](actors::runtime::snapshot_result r) { promise->set_value(std::move(r)); });
    if (future.wait_for(snapshot_timeout) != std::future_status::ready) {
      storage.snapshot_failed();
      return {false, "the actors did not answer within " +
                         std::to_string(snapshot_timeout.count() / 1000) + " s"};
    }
    return store_snapshot(future.get(), lsn, start, to);
  }

  // Writes a snapshot taken at `lsn`; without `to`, into the data directory, then removes the
  // older snapshots and the log segments it covers. Any thread; one at a time.
  snapshot_outcome store_snapshot(actors::runtime::snapshot_result taken, std::uint64_t lsn,
                                  std::chrono::steady_clock::time_point start,
                                  const std::optional<std::filesystem::path>& to = {}) {
    if (!taken) {
      storage.snapshot_failed();
      return {false, taken.error()};
    }
    const auto dir = log->directory().snapshot_dir();
    const auto path = to ? *to : snapshot_path(dir, lsn);
    // A snapshot in the data directory must never cover a record the log could still lose (a
    // power loss would then leave a log behind its snapshot): the log is synced first.
    if (!to) {
      if (auto synced = log->sync_all(); !synced) {
        storage.snapshot_failed();
        return {false, synced.error().message};
      }
    }
    auto written = cluster::write_snapshot_file(path, *taken);
    if (!written) {
      storage.snapshot_failed();
      return {false, written.error().message};
    }
    if (!to)
      storage.snapshot_written(
          lsn, *written,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    std::ostringstream out;
    out << "snapshot " << path.string() << " (LSN " << lsn << ", " << *written << " bytes) in "
        << std::fixed << std::setprecision(2)
        << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s";
    if (to) return {true, out.str()};
    // The new snapshot is durable: what it covers can go.
    for (const auto& [old_lsn, old_path] : snapshots_in(dir)) {
      std::error_code ec;
      if (old_lsn < lsn) std::filesystem::remove(old_path, ec);
    }
    auto released = log->release_before(lsn + 1);
    if (released)
      out << ", " << *released << " log segment" << (*released == 1 ? "" : "s") << " released";
    else
      out << ", log segments kept: " << released.error().message;
    return {true, out.str()};
  }
};

node_host::node_host(std::unique_ptr<impl> impl) : impl_(std::move(impl)) {}
node_host::~node_host() = default;

twin::expected<std::unique_ptr<node_host>, std::string> node_host::start(twin::city_ptr city,
                                                                         const node_config& config,
                                                                         const twin::clock& clock,
                                                                         std::ostream* alert_log) {
  auto p = std::make_unique<impl>(std::move(city), config);
  actors::runtime_options ro;
  ro.ingest_limits = config.limits;
  ro.district_options = config.district;
  ro.tick_interval_ms = config.tick_interval_ms;
  ro.alert_log = alert_log;
  // With a data directory: the newest snapshot, then the log after it.
  std::optional<cluster::data_dir> locked;
  std::optional<twin::node_snapshot> snapshot;
  std::vector<std::string> settings;
  if (!config.data_dir.empty()) {
    auto opened = cluster::data_dir::open(config.data_dir);
    if (!opened) return twin::unexpected{opened.error().message};
    locked.emplace(std::move(*opened));
    settings = replay_settings(*p->city, config);
    // A snapshot cut short by a crash is only a .tmp: never read, removed.
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(locked->snapshot_dir(), ec))
      if (e.path().extension() == ".tmp") std::filesystem::remove(e.path(), ec);
    if (auto all = snapshots_in(locked->snapshot_dir()); !all.empty()) {
      auto read = cluster::read_snapshot_file(all.back().second, *p->city, config.district);
      if (!read) return twin::unexpected{read.error().message};
      snapshot = std::move(*read);
      p->snapshot_loaded = all.back().second;
      p->snapshot_lsn = snapshot->lsn;
    }
    if (auto ok = check_replay_settings(*locked, p->snapshot_lsn, settings); !ok)
      return twin::unexpected{ok.error()};
  }
  if (snapshot) {
    auto restored =
        actors::runtime::start_from(*p->system, p->city, clock, &p->probes, ro, *snapshot);
    if (!restored) return twin::unexpected{p->snapshot_loaded.string() + ": " + restored.error()};
    p->runtime = std::move(*restored);
    snapshot.reset();  // the images are in the actors now
  } else {
    p->runtime = std::make_unique<actors::runtime>(*p->system, p->city, clock, &p->probes, ro);
  }
  p->probes.node.placement_epoch(1);
  p->probes.node.members(observability::member_state::up, 1);

  if (!config.curve_secret_file.empty() || !config.curve_allow.empty()) {
    auto keys = load_curve_keys(config);
    if (!keys) return twin::unexpected{keys.error()};
    p->curve_public = cluster::curve_public_of(keys->secret_z85).value();
    p->curve = std::move(*keys);
  }
  p->security.mode(p->curve.has_value(), p->curve ? p->curve->allowed->size() : 0);
  p->ingest_refusals =
      std::make_unique<refusal_counter>(p->security, observability::secured_socket::ingest);
  p->query_refusals =
      std::make_unique<refusal_counter>(p->security, observability::secured_socket::query);

  if (locked) {
    // Recovery: every batch of the log after the snapshot applied again, in log order, before
    // ingest opens.
    const auto start = std::chrono::steady_clock::now();
    log_replay replay(*p->runtime);
    auto log = cluster::batch_log::open(
        std::move(*locked), config.durability, p->snapshot_lsn + 1,
        [&replay](std::uint64_t, twin::reading_batch b) { replay.submit(std::move(b)); },
        config.log_segment_bytes);
    p->replayed = replay.wait();
    if (!log) return twin::unexpected{log.error()};
    p->log = std::move(*log);
    if (auto w = write_settings(p->log->dir() / "SETTINGS", settings); !w)
      return twin::unexpected{w.error()};
    // Appends go on after the log's last record: it must not be behind what the snapshot covers.
    if (p->log->last_lsn() < p->snapshot_lsn)
      return twin::unexpected{"data directory " + config.data_dir.string() + ": the snapshot " +
                              p->snapshot_loaded.string() + " covers the log up to LSN " +
                              std::to_string(p->snapshot_lsn) + " but the log ends at LSN " +
                              std::to_string(p->log->last_lsn()) + ": log segments are missing"};
    p->replayed.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    p->storage.set_mode(config.durability == cluster::durability::power
                            ? observability::storage_probe::mode::power
                            : observability::storage_probe::mode::process);
    p->storage.recovered(p->replayed.seconds, p->log->recovery().batches, p->snapshot_lsn);
  }

  if (!config.serve) return std::unique_ptr<node_host>(new node_host(std::move(p)));

  cluster::ingest_server_options io;
  io.endpoint = config.ingest;
  io.clock = &clock;
  io.log = p->log.get();
  if (p->log && config.snapshot_every_bytes > 0) {
    io.snapshot_every_bytes = config.snapshot_every_bytes;
    io.snapshot_due = [im = p.get()](std::uint64_t lsn) { im->periodic_due(lsn); };
    p->periodic_writer = std::thread([im = p.get()] { im->periodic_loop(); });
  }
  io.inflight_per_gateway_max = config.inflight_per_gateway_max;
  io.inflight_total_max = config.inflight_total_max;
  io.city = twin::identity_of(*p->city);
  io.curve = p->curve;
  io.curve_refusals = p->ingest_refusals.get();
  p->ingest = std::make_unique<cluster::ingest_server>(*p->runtime, io, &p->probes.ingest);
  if (auto r = p->ingest->start(); !r) return twin::unexpected{"ingest: " + r.error()};

  cluster::query_server_options qo;
  qo.endpoint = config.query;
  qo.curve = p->curve;
  qo.curve_refusals = p->query_refusals.get();
  p->queries.im = p.get();
  p->query = std::make_unique<cluster::query_server>(p->queries, qo);
  if (auto r = p->query->start(); !r) return twin::unexpected{"query: " + r.error()};

  if (p->log) {
    p->registry.before_scrape([im = p.get()] {
      const auto s = im->log->stats();
      observability::storage_sample sample;
      sample.appends = s.records;
      sample.bytes = s.bytes;
      sample.append_errors = s.append_errors;
      sample.segments_rolled = s.segments_rolled;
      sample.commits = s.syncs;
      sample.commit_errors = s.sync_errors;
      sample.fdatasync_p50_s = double(s.sync_ns_p50) / 1e9;
      sample.fdatasync_p99_s = double(s.sync_ns_p99) / 1e9;
      sample.fdatasync_max_s = double(s.sync_ns_max) / 1e9;
      sample.written_lsn = s.written_lsn;
      sample.durable_lsn = s.durable_lsn;
      sample.acks_waiting = im->ingest ? im->ingest->stats().waiting_for_disk : 0;
      im->storage.update(sample);
    });
  }
  auto exposer = observability::metrics_exposer::start(p->registry, config.metrics);
  if (!exposer) return twin::unexpected{"metrics: " + exposer.error()};
  p->exposer = std::move(exposer.value());
  auto colon = config.metrics.rfind(':');
  p->metrics_host = colon == std::string::npos ? "127.0.0.1" : config.metrics.substr(0, colon);
  p->metrics_bind_host = p->metrics_host;
  if (p->metrics_host.empty() || p->metrics_host == "0.0.0.0") p->metrics_host = "127.0.0.1";
  p->log_out = alert_log;
  if (config.cluster) {
    if (auto joined = p->join_cluster(*config.cluster, clock); !joined)
      return twin::unexpected{joined.error()};
  }
  return std::unique_ptr<node_host>(new node_host(std::move(p)));
}

std::string node_host::cluster_summary() const {
  const auto& im = *impl_;
  if (!im.cluster_agent) return "none (no --cluster): this node runs the whole city alone";
  const auto v = im.cluster_agent->view();
  const auto& c = *im.cluster_config;
  std::string out = "'" + c.name + "' on " + im.cluster_agent->store_description() + " as '" +
                    im.node_id + "'" + (c.zone.empty() ? "" : " in zone '" + c.zone + "'") +
                    ", replication factor " + std::to_string(c.replication_factor) + ": ";
  if (!v.member)
    return out + "not a member yet (" +
           (v.store_reachable ? std::string("joining") : "etcd unreachable: " + v.store_problem) +
           "); it joins in the background";
  const auto districts = im.city->districts.size();
  return out + "incarnation " + std::to_string(v.incarnation) + ", coordinator '" + v.coordinator +
         "' (term " + std::to_string(v.term) + "), epoch " + std::to_string(v.epoch) + ", " +
         std::to_string(v.members.size()) + " member" + (v.members.size() == 1 ? "" : "s") +
         "; owns " + std::to_string(v.owned_by(im.node_id)) + " and replicates " +
         std::to_string(v.replicated_by(im.node_id)) + " of " + std::to_string(districts) +
         " districts";
}

bool node_host::drained() const {
  return impl_->cluster_agent && impl_->cluster_agent->drained() && impl_->cluster_agent->left();
}

std::optional<cluster::cluster_view> node_host::cluster_state() const {
  if (!impl_->cluster_agent) return std::nullopt;
  return impl_->cluster_agent->view();
}

const std::string& node_host::ingest_endpoint() const {
  return impl_->ingest->endpoint();
}
const std::string& node_host::query_endpoint() const {
  return impl_->query->endpoint();
}

std::string node_host::metrics_address() const {
  return impl_->metrics_host + ":" + std::to_string(impl_->exposer->port());
}

twin::query_handler& node_host::queries() {
  return impl_->queries;
}

std::string node_host::scrape_text() const {
  return impl_->registry.scrape_text();
}

std::string node_host::security_summary() const {
  const auto& im = *impl_;
  if (!im.curve)
    return "plain TCP (no --curve-secret): any client that reaches the ingest and query sockets "
           "can send and ask";
  const auto n = im.curve->allowed->size();
  return "CURVE, node public key " + im.curve_public + ", " + std::to_string(n) + " client key" +
         (n == 1 ? "" : "s") + " allowed (from " + im.curve_allow + ")";
}

std::optional<cluster::wal::writer_stats> node_host::log_stats() const {
  if (!impl_->log) return std::nullopt;
  return impl_->log->stats();
}

const replay_report& node_host::replayed() const {
  return impl_->replayed;
}

twin::expected<std::string, std::string> node_host::export_snapshot(
    const std::filesystem::path& path) {
  auto& im = *impl_;
  TWIN_REQUIRE(im.ingest == nullptr);  // nothing may be submitted meanwhile: a node not serving
  if (!im.log) return twin::unexpected{std::string("no data directory: nothing to export")};
  auto r = im.write_snapshot(path);
  if (!r.ok) return twin::unexpected{r.text};
  return r.text;
}

std::string node_host::storage_summary() const {
  const auto& im = *impl_;
  if (!im.log)
    return "none (no --data-dir): this node keeps nothing, a restart forgets every reading";
  std::ostringstream out;
  const auto& log = *im.log;
  const auto& rec = log.recovery();
  out << log.dir().string() << ", durability " << cluster::to_string(log.mode())
      << (log.mode() == cluster::durability::process
              ? " (acked once written to the log: survives kill -9, not a power loss)"
              : " (acked once fdatasync'ed by the group commit: survives a power loss)");
  out << "\n  recovered: ";
  if (!im.snapshot_loaded.empty())
    out << "snapshot " << im.snapshot_loaded.string() << " (LSN " << im.snapshot_lsn << "), then ";
  out << rec.batches << " batch" << (rec.batches == 1 ? "" : "es") << " ("
      << im.replayed.readings_accepted << " readings applied) from the log";
  if (rec.scan.last_lsn > 0)
    out << " (which holds LSN " << rec.scan.first_lsn << "-" << rec.scan.last_lsn << " in "
        << rec.scan.segments << " segment" << (rec.scan.segments == 1 ? "" : "s") << ")";
  out << " in " << std::fixed << std::setprecision(2) << im.replayed.seconds << " s";
  if (rec.scan.cut)
    out << "\n  torn tail cut: " << rec.scan.cut->bytes << " bytes at offset "
        << rec.scan.cut->offset << " of " << rec.scan.cut->file.string() << " ("
        << rec.scan.cut->why << ")";
  return out.str();
}

twin::expected<std::size_t, std::string> node_host::reload_allow_list() {
  auto& im = *impl_;
  if (!im.curve) return twin::unexpected{std::string("plain TCP: no allow-list to reload")};
  auto keys = cluster::curve_allow_list::read(im.curve_allow);
  if (!keys) return twin::unexpected{keys.error()};
  im.curve->allowed->replace(std::move(*keys));
  const auto n = im.curve->allowed->size();
  im.security.mode(true, n);
  return n;
}

stop_report node_host::stop_gracefully() {
  auto& im = *impl_;
  if (im.cluster_agent) {
    // Hand the districts to the other members first, then leave; the lease goes with the node.
    if (!im.cluster_agent->leave(im.cluster_config->leave_wait))
      im.say("cluster: the cluster did not take this node's districts within " +
             twin::duration_text(im.cluster_config->leave_wait.count()) +
             "; stopping anyway, its lease ends by itself");
    im.cluster_agent->stop();
  }
  const auto refuse_until = std::chrono::steady_clock::now() + im.stop_refuse;
  im.ingest->begin_stop();
  stop_report report;
  report.drained = im.ingest->wait_drained(im.stop_drain_max);
  if (report.drained) {
    std::tie(report.kept_ok, report.kept) = im.after_ingest_drained();
  } else {
    report.kept_ok = im.log == nullptr;
    report.kept = "no snapshot: batches were still in flight";
  }
  std::this_thread::sleep_until(refuse_until);
  im.ingest->stop();
  const auto stats = im.ingest->stats();
  report.batches_applied = stats.acks_of(twin::ack_status::applied);
  report.readings_accepted = stats.readings_accepted;
  report.in_flight_finished = im.ingest->finished_while_stopping();
  report.batches_stopping = stats.acks_of(twin::ack_status::stopping);
  report.readings_stopping = stats.readings_rejected[twin::reject_reason::stopping];
  return report;
}

twin::expected<std::monostate, std::string> node_host::write_ready_file(
    const std::filesystem::path& path) const {
  nlohmann::json j{{"ingest", ingest_endpoint()},
                   {"query", query_endpoint()},
                   {"metrics", metrics_address()},
                   {"pid", static_cast<long>(getpid())}};
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp);
    if (!out) return twin::unexpected{"cannot write " + tmp.string()};
    out << j.dump() << '\n';
    if (!out) return twin::unexpected{"cannot write " + tmp.string()};
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return twin::unexpected{"cannot rename " + tmp.string() + ": " + ec.message()};
  return std::monostate{};
}

}  // namespace node
