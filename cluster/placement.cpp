#include "cluster/placement.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_map>

namespace cluster {

namespace {

constexpr std::size_t no_node = std::numeric_limits<std::size_t>::max();

// The eligible nodes, sorted by id: every choice below works on indices into this order, which is
// what makes the result independent of the order of `members`.
struct node_set {
  std::vector<std::string> ids;
  std::vector<std::size_t> zone_of;  // dense zone index per node
  std::size_t zone_count = 0;
  bool zones_active = false;
  std::unordered_map<std::string, std::size_t> index;

  std::size_t size() const { return ids.size(); }
  std::size_t find(const std::string& id) const {
    auto it = index.find(id);
    return it == index.end() ? no_node : it->second;
  }
};

node_set eligible_nodes(std::span<const member> members) {
  std::vector<const member*> sorted;
  sorted.reserve(members.size());
  for (const auto& m : members) {
    if (!m.id.empty()) sorted.push_back(&m);
  }
  std::sort(sorted.begin(), sorted.end(), [](const member* a, const member* b) {
    return std::tie(a->id, a->zone, a->state) < std::tie(b->id, b->zone, b->state);
  });
  node_set ns;
  std::map<std::string, std::size_t> zones;  // ordered, so zone indices follow zone names
  const std::string* previous_id = nullptr;
  std::vector<const member*> chosen;
  for (const member* m : sorted) {
    // A duplicated id keeps the entry that sorts first, whatever its state.
    if (previous_id != nullptr && *previous_id == m->id) continue;
    previous_id = &m->id;
    if (m->state != member_state::up && m->state != member_state::joining) continue;
    chosen.push_back(m);
    zones.emplace(m->zone, 0);
  }
  std::size_t z = 0;
  for (auto& [name, index] : zones) index = z++;
  std::size_t named_zones = zones.size() - (zones.contains("") ? 1 : 0);
  ns.zones_active = named_zones >= 2;
  ns.zone_count = zones.size();
  for (const member* m : chosen) {
    ns.index.emplace(m->id, ns.ids.size());
    ns.ids.push_back(m->id);
    ns.zone_of.push_back(zones.at(m->zone));
  }
  return ns;
}

std::size_t replica_count(std::size_t replication_factor, std::size_t eligible) {
  if (eligible == 0) return 0;
  return std::min(std::max<std::size_t>(replication_factor, 1) - 1, eligible - 1);
}

// How many distinct zones a district's owner and replicas must span (0: the zone rule is off).
std::size_t zones_needed(const node_set& ns, std::size_t replicas) {
  return ns.zones_active ? std::min(replicas + 1, ns.zone_count) : 0;
}

std::size_t distinct_zones(const node_set& ns, std::size_t owner,
                           const std::vector<std::size_t>& replicas) {
  std::vector<std::size_t> z{ns.zone_of[owner]};
  for (auto r : replicas) z.push_back(ns.zone_of[r]);
  std::sort(z.begin(), z.end());
  return static_cast<std::size_t>(std::unique(z.begin(), z.end()) - z.begin());
}

bool contains(const std::vector<std::size_t>& v, std::size_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Whether `candidate` can join a replica list that will end with `target` entries without making
// the zone rule unreachable: a zone already used is fine only while the slots left after it can
// still each bring a new zone.
bool zone_fits(const node_set& ns, std::size_t owner, const std::vector<std::size_t>& replicas,
               std::size_t candidate, std::size_t target, std::size_t needed) {
  if (needed == 0) return true;
  std::size_t have = distinct_zones(ns, owner, replicas);
  bool new_zone = ns.zone_of[candidate] != ns.zone_of[owner];
  for (auto r : replicas) new_zone = new_zone && ns.zone_of[candidate] != ns.zone_of[r];
  if (new_zone) return true;
  std::size_t slots_after = target - replicas.size() - 1;
  return have >= needed || slots_after >= needed - have;
}

// Per district, what the previous placement says about who holds its state, in eligible indices.
struct history {
  std::size_t owner = no_node;        // the previous owner, if still eligible
  std::vector<std::size_t> replicas;  // eligible previous replicas, in order, without the owner
};

std::vector<history> read_history(std::size_t district_count, const node_set& ns,
                                  const placement& previous) {
  std::vector<history> h(district_count);
  for (std::size_t d = 0; d < district_count && d < previous.districts.size(); ++d) {
    const auto& roles = previous.districts[d];
    h[d].owner = roles.owner.empty() ? no_node : ns.find(roles.owner);
    for (const auto& r : roles.replicas) {
      std::size_t i = ns.find(r);
      if (i != no_node && i != h[d].owner && !contains(h[d].replicas, i))
        h[d].replicas.push_back(i);
    }
  }
  return h;
}

// Nodes in balancing order: most loaded first (ties by id), and least loaded first (ties by id).
std::pair<std::vector<std::size_t>, std::vector<std::size_t>> by_load(
    const std::vector<std::size_t>& load) {
  std::vector<std::size_t> desc(load.size());
  for (std::size_t i = 0; i < desc.size(); ++i) desc[i] = i;
  std::vector<std::size_t> asc = desc;
  std::stable_sort(desc.begin(), desc.end(),
                   [&](std::size_t a, std::size_t b) { return load[a] > load[b]; });
  std::stable_sort(asc.begin(), asc.end(),
                   [&](std::size_t a, std::size_t b) { return load[a] < load[b]; });
  return {desc, asc};
}

// One balancing move: hand one role from `from` to `to` for district `district`.
struct move {
  std::size_t district;
  std::size_t from;
  std::size_t to;
};

// Moves roles from the most loaded nodes to the least loaded ones until no two nodes differ by 2
// or more, or no allowed move remains. `allowed(d, u, v)` says whether v may take u's role in d;
// `preferred(d, v)` marks moves that cost no state transfer. Each move lowers the sum of squared
// loads, so the loop ends; when it ends no allowed move between nodes 2 apart exists, so running
// it again on its own result does nothing (stability). Moves between the extreme loads come first:
// unconstrained, they are the fewest that reach balance (no node both gives and receives).
template <class Allowed, class Preferred, class Apply>
void balance(std::vector<std::size_t>& load, std::size_t district_count, Allowed allowed,
             Preferred preferred, Apply apply) {
  for (;;) {
    auto [desc, asc] = by_load(load);
    if (desc.empty() || load[desc.front()] < load[asc.front()] + 2) return;
    std::size_t max_load = load[desc.front()];
    std::size_t min_load = load[asc.front()];
    std::optional<move> found;
    auto search = [&](bool extreme_only, bool preferred_only) {
      for (auto u : desc) {
        if (extreme_only && load[u] != max_load) break;
        for (auto v : asc) {
          if (extreme_only && load[v] != min_load) break;
          if (load[u] < load[v] + 2) break;
          for (std::size_t d = 0; d < district_count; ++d) {
            if (!allowed(d, u, v)) continue;
            if (preferred_only && !preferred(d, v)) continue;
            found = move{d, u, v};
            return;
          }
        }
      }
    };
    search(true, true);
    if (!found) search(true, false);
    if (!found) search(false, true);
    if (!found) search(false, false);
    if (found) {
      apply(*found);
      --load[found->from];
      ++load[found->to];
      continue;
    }
    // No direct move: pass one role through a node w whose load stays the same (u gives a
    // district to w, w gives another one to v), e.g. when u holds only promoted districts that
    // w replicates and only w has a district v may take.
    std::optional<std::pair<move, move>> chain;
    auto first_allowed = [&](std::size_t u, std::size_t v,
                             std::size_t skip) -> std::optional<move> {
      for (bool preferred_only : {true, false}) {
        for (std::size_t d = 0; d < district_count; ++d) {
          if (d == skip || !allowed(d, u, v)) continue;
          if (preferred_only && !preferred(d, v)) continue;
          return move{d, u, v};
        }
      }
      return std::nullopt;
    };
    for (auto u : desc) {
      for (auto v : asc) {
        if (load[u] < load[v] + 2) break;
        for (std::size_t w = 0; w < load.size() && !chain; ++w) {
          if (w == u || w == v) continue;
          auto first_hop = first_allowed(u, w, district_count);
          if (!first_hop) continue;
          auto second_hop = first_allowed(w, v, first_hop->district);
          if (second_hop) chain.emplace(*first_hop, *second_hop);
        }
        if (chain) break;
      }
      if (chain) break;
    }
    if (!chain) return;
    apply(chain->first);
    apply(chain->second);
    --load[chain->first.from];
    ++load[chain->second.to];
  }
}

}  // namespace

placement compute_placement(std::size_t district_count, std::span<const member> members,
                            std::size_t replication_factor, const placement& previous) {
  placement result;
  result.districts.resize(district_count);
  const node_set ns = eligible_nodes(members);
  const std::size_t e = ns.size();
  if (e == 0) return result;
  const std::vector<history> h = read_history(district_count, ns, previous);

  // Owners. Keep an eligible owner; else promote the first eligible replica (it holds the state);
  // else the district is an orphan, placed below by load.
  std::vector<std::size_t> owner(district_count, no_node);
  std::vector<bool> promoted(district_count, false);
  std::vector<std::size_t> owner_load(e, 0);
  for (std::size_t d = 0; d < district_count; ++d) {
    if (h[d].owner != no_node) {
      owner[d] = h[d].owner;
    } else if (!h[d].replicas.empty()) {
      owner[d] = h[d].replicas.front();
      promoted[d] = true;
    } else {
      continue;
    }
    ++owner_load[owner[d]];
  }
  for (std::size_t d = 0; d < district_count; ++d) {
    if (owner[d] != no_node) continue;
    std::size_t best = 0;
    for (std::size_t i = 1; i < e; ++i) {
      if (owner_load[i] < owner_load[best]) best = i;
    }
    owner[d] = best;
    ++owner_load[best];
  }
  balance(
      owner_load, district_count,
      [&](std::size_t d, std::size_t u, std::size_t v) {
        // A promoted district may only go to another node that holds its state (rule 2).
        return owner[d] == u && (!promoted[d] || contains(h[d].replicas, v));
      },
      [&](std::size_t d, std::size_t v) { return contains(h[d].replicas, v); },
      [&](const move& m) { owner[m.district] = m.to; });

  // Replicas. Start from the previous replicas; where ownership passed to a replica, the old owner
  // (if still eligible) takes the new owner's slot: a role swap moves no state.
  const std::size_t r = replica_count(replication_factor, e);
  const std::size_t needed = zones_needed(ns, r);
  std::vector<std::vector<std::size_t>> replicas(district_count);
  std::vector<std::size_t> replica_load(e, 0);
  for (std::size_t d = 0; d < district_count; ++d) {
    std::vector<std::size_t> candidates = h[d].replicas;
    if (h[d].owner != no_node && h[d].owner != owner[d]) {
      auto it = std::find(candidates.begin(), candidates.end(), owner[d]);
      if (it != candidates.end()) {
        *it = h[d].owner;
      } else {
        candidates.push_back(h[d].owner);
      }
    }
    auto& kept = replicas[d];
    for (auto c : candidates) {
      if (kept.size() == r) break;
      if (c == owner[d] || contains(kept, c)) continue;
      if (!zone_fits(ns, owner[d], kept, c, r, needed)) continue;
      kept.push_back(c);
      ++replica_load[c];
    }
  }
  for (std::size_t d = 0; d < district_count; ++d) {
    auto& list = replicas[d];
    while (list.size() < r) {
      // Least loaded first; ties go to the first node after the owner in id order.
      std::size_t best = no_node;
      for (std::size_t step = 1; step < e; ++step) {
        std::size_t c = (owner[d] + step) % e;
        if (contains(list, c) || !zone_fits(ns, owner[d], list, c, r, needed)) continue;
        if (best == no_node || replica_load[c] < replica_load[best]) best = c;
      }
      if (best == no_node) break;  // unreachable: r < e and every zone has a node
      list.push_back(best);
      ++replica_load[best];
    }
  }
  balance(
      replica_load, district_count,
      [&](std::size_t d, std::size_t u, std::size_t v) {
        const auto& list = replicas[d];
        if (v == owner[d] || contains(list, v) || !contains(list, u)) return false;
        if (needed == 0) return true;
        auto changed = list;
        *std::find(changed.begin(), changed.end(), u) = v;
        return distinct_zones(ns, owner[d], changed) >= needed;
      },
      [](std::size_t, std::size_t) { return true; },
      [&](const move& m) {
        auto& list = replicas[m.district];
        *std::find(list.begin(), list.end(), m.from) = m.to;
      });

  for (std::size_t d = 0; d < district_count; ++d) {
    auto& roles = result.districts[d];
    roles.owner = ns.ids[owner[d]];
    for (auto i : replicas[d]) roles.replicas.push_back(ns.ids[i]);
  }
  return result;
}

std::vector<placement_change> diff(const placement& before, const placement& after) {
  std::vector<placement_change> changes;
  const district_roles unplaced;
  std::size_t n = std::max(before.districts.size(), after.districts.size());
  for (std::size_t d = 0; d < n; ++d) {
    const auto& b = d < before.districts.size() ? before.districts[d] : unplaced;
    const auto& a = d < after.districts.size() ? after.districts[d] : unplaced;
    if (a == b) continue;
    placement_change c;
    c.district = twin::district_id(static_cast<std::uint32_t>(d));
    c.from_owner = b.owner;
    c.to_owner = a.owner;
    c.by_promotion = c.owner_moved() && !a.owner.empty() &&
                     std::find(b.replicas.begin(), b.replicas.end(), a.owner) != b.replicas.end();
    // A role swap (the old owner becomes a replica, a replica becomes owner) adds and removes no
    // copy of the state, so only nodes new to the district, or gone from it, are listed.
    auto held = [](const district_roles& roles, const std::string& node) {
      return roles.owner == node ||
             std::find(roles.replicas.begin(), roles.replicas.end(), node) != roles.replicas.end();
    };
    for (const auto& x : a.replicas) {
      if (!held(b, x)) c.replicas_added.push_back(x);
    }
    for (const auto& x : b.replicas) {
      if (!held(a, x)) c.replicas_removed.push_back(x);
    }
    changes.push_back(std::move(c));
  }
  return changes;
}

movement_summary summarize(std::span<const placement_change> changes) {
  movement_summary s;
  for (const auto& c : changes) {
    if (c.owner_moved()) {
      if (c.to_owner.empty()) {
        ++s.unplaced;
      } else {
        ++s.ownership_moves;
        ++(c.by_promotion ? s.promotions : s.fresh_owners);
      }
    }
    s.replicas_added += c.replicas_added.size();
    s.replicas_removed += c.replicas_removed.size();
  }
  return s;
}

std::vector<std::string> validate(const placement& p, std::span<const member> members,
                                  std::size_t replication_factor) {
  std::vector<std::string> violations;
  const node_set ns = eligible_nodes(members);
  const std::size_t e = ns.size();
  const std::size_t r = replica_count(replication_factor, e);
  const std::size_t needed = zones_needed(ns, r);
  std::vector<std::size_t> owner_load(e, 0);
  std::vector<std::size_t> replica_load(e, 0);
  auto quoted = [](const std::string& s) { return "\"" + s + "\""; };
  for (std::size_t d = 0; d < p.districts.size(); ++d) {
    const auto& roles = p.districts[d];
    const std::string name = "district " + std::to_string(d);
    if (e == 0) {
      if (!roles.owner.empty() || !roles.replicas.empty()) {
        violations.push_back(name + " has roles although no node is eligible");
      }
      continue;
    }
    std::size_t o = ns.find(roles.owner);
    if (roles.owner.empty()) {
      violations.push_back(name + " has no owner");
    } else if (o == no_node) {
      violations.push_back(name + " is owned by " + quoted(roles.owner) +
                           ", which is not an eligible member");
    } else {
      ++owner_load[o];
    }
    if (roles.replicas.size() != r) {
      violations.push_back(name + " has " + std::to_string(roles.replicas.size()) +
                           " replicas, expected " + std::to_string(r));
    }
    std::vector<std::size_t> valid;
    for (const auto& rep : roles.replicas) {
      std::size_t i = ns.find(rep);
      if (i == no_node) {
        violations.push_back(name + " is replicated on " + quoted(rep) +
                             ", which is not an eligible member");
      } else if (i == o) {
        violations.push_back(name + " lists its owner " + quoted(rep) + " as a replica");
      } else if (contains(valid, i)) {
        violations.push_back(name + " lists replica " + quoted(rep) + " twice");
      } else {
        valid.push_back(i);
        ++replica_load[i];
      }
    }
    if (o != no_node && needed > 0) {
      std::size_t spanned = distinct_zones(ns, o, valid);
      if (spanned < needed) {
        violations.push_back(name + " spans " + std::to_string(spanned) + " zones, expected " +
                             std::to_string(needed));
      }
    }
  }
  auto check_balance = [&](const std::vector<std::size_t>& load, const char* what) {
    if (e == 0) return;
    auto [lo, hi] = std::minmax_element(load.begin(), load.end());
    if (*hi > *lo + 1) {
      violations.push_back(
          std::string(what) + " are unbalanced: " + quoted(ns.ids[std::size_t(hi - load.begin())]) +
          " has " + std::to_string(*hi) + ", " + quoted(ns.ids[std::size_t(lo - load.begin())]) +
          " has " + std::to_string(*lo));
    }
  };
  check_balance(owner_load, "owners");
  if (!ns.zones_active) check_balance(replica_load, "replicas");
  return violations;
}

}  // namespace cluster
