#include "cluster/membership.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

namespace cluster {

namespace {

using json = nlohmann::json;

const char* const member_states[] = {"joining", "up", "leaving", "down"};

// 64-bit ids travel as decimal strings (as etcd writes them), so that a JSON reader with
// double-precision numbers keeps them exact; numbers are accepted too.
std::int64_t id_field(const json& o, const char* name) {
  auto it = o.find(name);
  if (it == o.end()) throw std::runtime_error(std::string("field '") + name + "': missing");
  if (it->is_string()) return std::stoll(it->get<std::string>());
  if (it->is_number_integer()) return it->get<std::int64_t>();
  throw std::runtime_error(std::string("field '") + name + "': not an integer");
}

std::string text_field(const json& o, const char* name, bool required = true) {
  auto it = o.find(name);
  if (it == o.end()) {
    if (required) throw std::runtime_error(std::string("field '") + name + "': missing");
    return {};
  }
  if (!it->is_string()) throw std::runtime_error(std::string("field '") + name + "': not a string");
  return it->get<std::string>();
}

member_state state_field(const json& o) {
  std::string s = text_field(o, "state");
  for (std::size_t i = 0; i < std::size(member_states); ++i)
    if (s == member_states[i]) return static_cast<member_state>(i);
  throw std::runtime_error("field 'state': '" + s + "' is not joining, up, leaving or down");
}

}  // namespace

std::string to_json(const coordinator_record& c) {
  return json{{"id", c.id}, {"incarnation", std::to_string(c.incarnation)}}.dump();
}

twin::expected<coordinator_record, std::string> coordinator_from_json(const std::string& text) {
  try {
    json o = json::parse(text);
    return coordinator_record{text_field(o, "id"), id_field(o, "incarnation")};
  } catch (const std::exception& e) {
    return twin::unexpected(std::string("coordinator record: ") + e.what());
  }
}

std::string drain_request_json(std::int64_t incarnation) {
  return json{{"incarnation", std::to_string(incarnation)}}.dump();
}

const char* to_string(member_state s) {
  return member_states[static_cast<std::size_t>(s)];
}

std::string to_json(const member_record& m) {
  return json{{"id", m.id},
              {"incarnation", std::to_string(m.incarnation)},
              {"zone", m.zone},
              {"state", to_string(m.state)},
              {"peer", m.peer},
              {"ingest", m.ingest},
              {"query", m.query},
              {"metrics", m.metrics},
              {"city", m.city},
              {"fingerprint", m.fingerprint},
              {"started_ms", m.started_ms}}
      .dump();
}

twin::expected<member_record, std::string> member_from_json(const std::string& text) {
  try {
    json o = json::parse(text);
    member_record m;
    m.id = text_field(o, "id");
    m.incarnation = id_field(o, "incarnation");
    m.zone = text_field(o, "zone", false);
    m.state = state_field(o);
    m.peer = text_field(o, "peer", false);
    m.ingest = text_field(o, "ingest", false);
    m.query = text_field(o, "query", false);
    m.metrics = text_field(o, "metrics", false);
    m.city = text_field(o, "city", false);
    m.fingerprint = text_field(o, "fingerprint", false);
    m.started_ms = o.value("started_ms", std::int64_t{0});
    return m;
  } catch (const std::exception& e) {
    return twin::unexpected(std::string("member record: ") + e.what());
  }
}

std::string to_json(const placement_record& p) {
  json members = json::array();
  for (const auto& m : p.members)
    members.push_back(json{{"id", m.id}, {"incarnation", std::to_string(m.incarnation)}});
  json districts = json::array();
  for (const auto& d : p.table.districts)
    districts.push_back(json{{"owner", d.owner}, {"replicas", d.replicas}});
  return json{{"coordinator", p.coordinator},
              {"term", p.term},
              {"replication_factor", p.replication_factor},
              {"members", members},
              {"districts", districts}}
      .dump();
}

twin::expected<placement_record, std::string> placement_from_json(const std::string& text) {
  try {
    json o = json::parse(text);
    placement_record p;
    p.coordinator = text_field(o, "coordinator");
    p.term = id_field(o, "term");
    p.replication_factor = static_cast<std::size_t>(id_field(o, "replication_factor"));
    for (const auto& m : o.at("members"))
      p.members.push_back({text_field(m, "id"), id_field(m, "incarnation")});
    for (const auto& d : o.at("districts")) {
      district_roles roles;
      roles.owner = text_field(d, "owner");
      for (const auto& r : d.at("replicas")) roles.replicas.push_back(r.get<std::string>());
      p.table.districts.push_back(std::move(roles));
    }
    return p;
  } catch (const std::exception& e) {
    return twin::unexpected(std::string("placement record: ") + e.what());
  }
}

district_role cluster_view::role(std::size_t district, const std::string& node) const {
  if (district >= placement.table.districts.size()) return district_role::none;
  const auto& d = placement.table.districts[district];
  if (d.owner == node) return district_role::owner;
  if (std::find(d.replicas.begin(), d.replicas.end(), node) != d.replicas.end())
    return district_role::replica;
  return district_role::none;
}

std::size_t cluster_view::owned_by(const std::string& node) const {
  return static_cast<std::size_t>(
      std::count_if(placement.table.districts.begin(), placement.table.districts.end(),
                    [&](const district_roles& d) { return d.owner == node; }));
}

std::size_t cluster_view::replicated_by(const std::string& node) const {
  return static_cast<std::size_t>(std::count_if(
      placement.table.districts.begin(), placement.table.districts.end(),
      [&](const district_roles& d) {
        return std::find(d.replicas.begin(), d.replicas.end(), node) != d.replicas.end();
      }));
}

std::vector<std::string> cluster_view::down() const {
  std::vector<std::string> out;
  for (const auto& ref : placement.members)
    if (find_member(ref.id) == nullptr && (owned_by(ref.id) > 0 || replicated_by(ref.id) > 0))
      out.push_back(ref.id);
  return out;
}

const member_record* cluster_view::find_member(const std::string& id) const {
  for (const auto& m : members)
    if (m.id == id) return &m;
  return nullptr;
}

void read_into(cluster_view& view, const coord::range_result& r, const std::string& prefix) {
  view.read_revision = r.header_revision;
  view.members.clear();
  view.coordinator.clear();
  view.coordinator_incarnation = 0;
  view.term = 0;
  bool placement_seen = false;
  const std::string members_prefix = prefix + "members/";
  for (const auto& kv : r.kvs) {
    if (kv.key.rfind(members_prefix, 0) == 0) {
      if (auto m = member_from_json(kv.value)) view.members.push_back(std::move(*m));
    } else if (kv.key == prefix + "coordinator") {
      if (auto c = coordinator_from_json(kv.value)) {
        view.coordinator = c->id;
        view.coordinator_incarnation = c->incarnation;
        view.term = kv.create_revision;
      }
    } else if (kv.key == prefix + "placement") {
      if (auto p = placement_from_json(kv.value)) {
        view.placement = std::move(*p);
        view.epoch = kv.mod_revision;
        placement_seen = true;
      }
    }
  }
  if (!placement_seen) {
    view.placement = {};
    view.epoch = 0;
  }
  std::sort(view.members.begin(), view.members.end(),
            [](const member_record& a, const member_record& b) { return a.id < b.id; });
}

twin::expected<cluster_view, coord::error> read_cluster(coord::store& store,
                                                        const std::string& cluster_name) {
  const std::string prefix = "/citytwin/" + cluster_name + "/";
  auto r = store.range(prefix, coord::prefix_end(prefix));
  if (!r) return twin::unexpected(r.error());
  cluster_view view;
  view.store_reachable = true;
  read_into(view, *r, prefix);
  return view;
}

twin::cluster_status_view to_status(const cluster_view& v, const std::string& cluster_name,
                                    const std::string& store,
                                    const std::vector<std::string>& district_keys) {
  twin::cluster_status_view out;
  out.alone = false;
  out.cluster = cluster_name;
  out.store = store;
  out.store_reachable = v.store_reachable;
  out.revision = v.read_revision;
  out.epoch = v.epoch;
  out.coordinator = v.coordinator;
  out.term = v.term;
  out.replication_factor = static_cast<std::uint32_t>(v.placement.replication_factor);
  for (const auto& m : v.members)
    out.members.push_back(
        {m.id, std::to_string(m.incarnation), to_string(m.state), m.zone, m.ingest, m.query,
         m.metrics, static_cast<std::uint32_t>(v.owned_by(m.id)),
         static_cast<std::uint32_t>(v.replicated_by(m.id)), m.city, m.fingerprint, m.started_ms});
  for (const auto& id : v.down()) {
    twin::cluster_member_view down;
    down.id = id;
    down.state = "down";
    down.owns = static_cast<std::uint32_t>(v.owned_by(id));
    down.replicates = static_cast<std::uint32_t>(v.replicated_by(id));
    out.members.push_back(std::move(down));
  }
  for (std::size_t d = 0; d < v.placement.table.districts.size(); ++d) {
    const auto& roles = v.placement.table.districts[d];
    out.districts.push_back({d < district_keys.size() ? district_keys[d] : std::to_string(d),
                             roles.owner, roles.replicas, static_cast<std::uint32_t>(d)});
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

member_agent::member_agent(coord::store& store, agent_options options)
    : store_(store), options_(std::move(options)) {
  TWIN_REQUIRE(!options_.self.id.empty());
}

member_agent::~member_agent() = default;

std::string member_agent::prefix() const {
  return "/citytwin/" + options_.cluster + "/";
}

std::vector<agent_event> member_agent::take_events() {
  return std::exchange(events_, {});
}

std::vector<publication> member_agent::take_publications() {
  return std::exchange(publications_, {});
}

void member_agent::say(std::string text) {
  events_.push_back(agent_event{std::move(text)});
}

void member_agent::begin_leave() {
  if (!leaving_) say("leaving the cluster: handing every district to the other members");
  leaving_ = true;
}

void member_agent::unreachable(const coord::error& e) {
  view_.store_reachable = false;
  view_.store_problem = e.message;
  if (!reported_unreachable_)
    say("coordination store unreachable (" + e.message + "): serving epoch " +
        std::to_string(view_.epoch) + " as it is; placement changes wait");
  reported_unreachable_ = true;
}

void member_agent::lost_membership(const std::string& why) {
  say("no longer a member (" + why + "): this node owns nothing now and rejoins as a new " +
      "incarnation");
  view_.member = false;
  view_.incarnation = 0;
  lease_ = 0;
}

bool member_agent::join(std::chrono::steady_clock::time_point now) {
  auto lease = store_.lease_grant(options_.lease_ttl);
  if (!lease) {
    unreachable(lease.error());
    return false;
  }
  member_record self = options_.self;
  self.incarnation = *lease;
  self.state = leaving_ ? member_state::leaving : member_state::joining;
  const std::string key = prefix() + "members/" + self.id;
  auto created =
      store_.txn({{key, coord::compare_target::create_revision, coord::compare_op::equal, 0, {}}},
                 {coord::put_op{key, to_json(self), *lease}}, {coord::range_op{key, {}}});
  if (!created) {
    store_.lease_revoke(*lease);
    unreachable(created.error());
    return false;
  }
  view_.store_reachable = true;
  if (!created->succeeded) {
    store_.lease_revoke(*lease);
    if (!reported_waiting_for_id_) {
      std::string holder = "another process";
      if (!created->ranges.empty() && !created->ranges[0].kvs.empty())
        if (auto m = member_from_json(created->ranges[0].kvs[0].value))
          holder = "incarnation " + std::to_string(m->incarnation);
      say("node id '" + self.id + "' is held by " + holder +
          " (an earlier run whose lease has not ended yet, or another node with the same id): "
          "waiting for it to go");
    }
    reported_waiting_for_id_ = true;
    return false;
  }
  reported_waiting_for_id_ = false;
  lease_ = *lease;
  last_keepalive_ = now;
  view_.member = true;
  view_.incarnation = *lease;
  wanted_state_ = self.state;
  say("joined cluster '" + options_.cluster + "' on " + store_.describe() + " as '" + self.id +
      "' (incarnation " + std::to_string(*lease) + ")");
  return true;
}

bool member_agent::keep_alive(std::chrono::steady_clock::time_point now) {
  if (now - last_keepalive_ < options_.keepalive_every) return true;
  auto ttl = store_.lease_keepalive(lease_);
  if (!ttl) {
    if (ttl.error().code == coord::errc::lease_not_found)
      lost_membership("its lease ended");
    else
      unreachable(ttl.error());
    return false;
  }
  last_keepalive_ = now;
  return true;
}

bool member_agent::read_cluster() {
  auto r = store_.range(prefix(), coord::prefix_end(prefix()));
  if (!r) {
    unreachable(r.error());
    return false;
  }
  if (reported_unreachable_) say("coordination store reachable again");
  reported_unreachable_ = false;
  view_.store_reachable = true;
  view_.store_problem.clear();
  read_into(view_, *r, prefix());
  // A drain request for this incarnation: leave as on SIGTERM.
  const std::string drain_key = prefix() + "drain/" + options_.self.id;
  for (const auto& kv : r->kvs) {
    if (kv.key != drain_key || leaving_) continue;
    try {
      if (id_field(json::parse(kv.value), "incarnation") == lease_) {
        drained_ = true;
        say("drain requested (citytwin cluster drain)");
        begin_leave();
      }
    } catch (const std::exception&) {
    }
  }
  bool self_seen = false;
  for (const auto& m : view_.members)
    if (m.id == options_.self.id && m.incarnation == lease_) self_seen = true;
  if (view_.member && !self_seen) {
    lost_membership("its member key is gone");
    return false;
  }
  return true;
}

void member_agent::campaign() {
  if (!view_.coordinator.empty() || !view_.member || leaving_) return;
  const std::string key = prefix() + "coordinator";
  auto won = store_.txn(
      {{key, coord::compare_target::create_revision, coord::compare_op::equal, 0, {}}},
      {coord::put_op{key, to_json(coordinator_record{options_.self.id, lease_}), lease_}});
  if (!won) {
    if (won.error().code == coord::errc::lease_not_found)
      lost_membership("its lease ended");
    else
      unreachable(won.error());
    return;
  }
  if (!won->succeeded) return;  // another node won; the next read shows it
  view_.coordinator = options_.self.id;
  view_.coordinator_incarnation = lease_;
  view_.term = won->header_revision;
  say("elected coordinator (term " + std::to_string(view_.term) + ")");
}

void member_agent::coordinate() {
  if (!view_.member || view_.coordinator != options_.self.id ||
      view_.coordinator_incarnation != lease_)
    return;
  std::vector<member> members;
  std::vector<placement_record::member_ref> refs;
  for (const auto& m : view_.members) {
    members.push_back(member{m.id, m.zone, m.state});
    refs.push_back({m.id, m.incarnation});
  }
  placement previous = view_.placement.table;
  // Roles held by an earlier incarnation of a member are not carried over to the new one: it has
  // not kept up with the districts while it was away, so their replicas take over and the new
  // incarnation starts as a fresh node.
  placement carried = previous;
  for (const auto& old : view_.placement.members) {
    const member_record* now = view_.find_member(old.id);
    if (now == nullptr || now->incarnation == old.incarnation) continue;
    for (auto& d : carried.districts) {
      if (d.owner == old.id) d.owner.clear();
      std::erase(d.replicas, old.id);
    }
  }
  placement next =
      compute_placement(options_.district_count, members, options_.replication_factor, carried);
  placement_record record;
  record.coordinator = options_.self.id;
  record.term = view_.term;
  record.replication_factor = options_.replication_factor;
  record.members = refs;
  record.table = next;
  if (view_.epoch != 0 && next == previous && refs == view_.placement.members &&
      view_.placement.replication_factor == options_.replication_factor)
    return;
  const std::string coordinator_key = prefix() + "coordinator";
  const std::string placement_key = prefix() + "placement";
  auto written = store_.txn({{coordinator_key,
                              coord::compare_target::create_revision,
                              coord::compare_op::equal,
                              view_.term,
                              {}},
                             {placement_key,
                              coord::compare_target::mod_revision,
                              coord::compare_op::equal,
                              view_.epoch,
                              {}}},
                            {coord::put_op{placement_key, to_json(record), 0}});
  if (!written) {
    unreachable(written.error());
    return;
  }
  if (!written->succeeded) {
    ++placement_conflicts_;
    return;  // deposed, or the placement changed since the read: the next step reads again
  }
  ++placements_written_;
  auto changes = diff(previous, next);
  auto summary = summarize(changes);
  publication pub;
  pub.epoch = written->header_revision;
  pub.promotions = summary.promotions;
  for (const auto& c : changes) {
    if (!c.owner_moved() || c.from_owner.empty()) continue;
    const member_record* was = view_.find_member(c.from_owner);
    // The old owner's member key is gone, or it is a new incarnation: it died.
    bool died = was == nullptr;
    for (const auto& ref : view_.placement.members)
      if (ref.id == c.from_owner && was != nullptr && was->incarnation != ref.incarnation)
        died = true;
    ++(died ? pub.failovers : pub.handoffs);
  }
  publications_.push_back(pub);
  view_.placement = std::move(record);
  view_.epoch = written->header_revision;
  say("published placement epoch " + std::to_string(view_.epoch) + " for " +
      std::to_string(members.size()) + " member" + (members.size() == 1 ? "" : "s") + ": " +
      std::to_string(summary.ownership_moves) + " ownership move" +
      (summary.ownership_moves == 1 ? "" : "s") + " (" + std::to_string(summary.promotions) +
      " by promotion), " + std::to_string(summary.replicas_added) + " replica" +
      (summary.replicas_added == 1 ? "" : "s") + " added, " +
      std::to_string(summary.replicas_removed) + " removed");
}

void member_agent::update_own_state() {
  if (!view_.member) return;
  const member_record* self = view_.find_member(options_.self.id);
  if (self == nullptr) return;
  member_state wanted = self->state;
  if (leaving_) {
    wanted = member_state::leaving;
  } else if (self->state == member_state::joining && view_.epoch != 0) {
    // Up once a published placement has taken this incarnation into account.
    for (const auto& m : view_.placement.members)
      if (m.id == self->id && m.incarnation == lease_) wanted = member_state::up;
  }
  if (wanted != self->state) {
    member_record updated = *self;
    updated.state = wanted;
    const std::string key = prefix() + "members/" + self->id;
    auto put =
        store_.txn({{key, coord::compare_target::lease, coord::compare_op::equal, lease_, {}}},
                   {coord::put_op{key, to_json(updated), lease_}});
    if (!put) {
      if (put.error().code == coord::errc::lease_not_found)
        lost_membership("its lease ended");
      else
        unreachable(put.error());
      return;
    }
    if (put->succeeded && wanted == member_state::up)
      say("up: placement epoch " + std::to_string(view_.epoch) + " gives this node " +
          std::to_string(view_.owned_by(self->id)) + " district" +
          (view_.owned_by(self->id) == 1 ? "" : "s") + " to own and " +
          std::to_string(view_.replicated_by(self->id)) + " to replicate");
    return;
  }
  if (leaving_ && view_.epoch != 0 && view_.owned_by(self->id) == 0 &&
      view_.replicated_by(self->id) == 0) {
    // Nothing is placed here any more: go. Revoking the lease deletes the member key (and the
    // coordinator key when this node held it) in one revision; a drain request goes first.
    if (drained_) {
      auto erased = store_.erase(prefix() + "drain/" + options_.self.id);
      if (!erased) {
        unreachable(erased.error());
        return;
      }
    }
    if (auto revoked = store_.lease_revoke(lease_);
        !revoked && revoked.error().code != coord::errc::lease_not_found) {
      unreachable(revoked.error());
      return;
    }
    lease_ = 0;
    view_.member = false;
    left_ = true;
    say("left the cluster at epoch " + std::to_string(view_.epoch));
  }
}

void member_agent::step(std::chrono::steady_clock::time_point now) {
  if (left_) return;
  if (lease_ == 0) {
    if (!join(now)) return;
  } else if (!keep_alive(now)) {
    return;
  }
  if (!read_cluster()) return;
  campaign();
  coordinate();
  update_own_state();
}

}  // namespace cluster
