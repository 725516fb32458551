#include "cluster/placement.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using cluster::member;
using cluster::member_state;
using cluster::placement;

std::vector<member> up(std::initializer_list<std::string> ids) {
  std::vector<member> m;
  for (const auto& id : ids) m.push_back({id, "", member_state::up});
  return m;
}

// "owner>replica,replica" per district, in district order, so a whole table compares (and prints
// on failure) at once.
std::string table(const placement& p) {
  std::string rows;
  for (const auto& d : p.districts) {
    if (!rows.empty()) rows += " ";
    rows += d.owner + ">";
    for (std::size_t i = 0; i < d.replicas.size(); ++i) rows += (i ? "," : "") + d.replicas[i];
  }
  return rows;
}

std::vector<member> with_state(std::vector<member> m, const std::string& id, member_state s) {
  for (auto& x : m) {
    if (x.id == id) x.state = s;
  }
  return m;
}

const placement first;  // no previous placement

std::vector<std::size_t> owner_counts(const placement& p, const std::vector<std::string>& ids) {
  std::vector<std::size_t> n(ids.size(), 0);
  for (const auto& d : p.districts) {
    for (std::size_t i = 0; i < ids.size(); ++i) n[i] += d.owner == ids[i];
  }
  return n;
}

std::vector<std::size_t> replica_counts(const placement& p, const std::vector<std::string>& ids) {
  std::vector<std::size_t> n(ids.size(), 0);
  for (const auto& d : p.districts) {
    for (const auto& r : d.replicas) {
      for (std::size_t i = 0; i < ids.size(); ++i) n[i] += r == ids[i];
    }
  }
  return n;
}

}  // namespace

// Macau: seven parishes and Cotai, eight districts.
constexpr std::size_t macau = 8;

TEST_CASE("placement: first placement of 8 districts on 1, 2 and 3 nodes, rf 2") {
  auto one = cluster::compute_placement(macau, up({"a"}), 2, first);
  CHECK(table(one) == "a> a> a> a> a> a> a> a>");
  CHECK(cluster::validate(one, up({"a"}), 2).empty());

  auto two = cluster::compute_placement(macau, up({"a", "b"}), 2, first);
  CHECK(table(two) == "a>b b>a a>b b>a a>b b>a a>b b>a");
  CHECK(cluster::validate(two, up({"a", "b"}), 2).empty());

  auto three = cluster::compute_placement(macau, up({"a", "b", "c"}), 2, first);
  CHECK(table(three) == "a>b b>c c>a a>b b>c c>a a>b b>c");
  CHECK(cluster::validate(three, up({"a", "b", "c"}), 2).empty());
  CHECK(owner_counts(three, {"a", "b", "c"}) == std::vector<std::size_t>{3, 3, 2});
  CHECK(replica_counts(three, {"a", "b", "c"}) == std::vector<std::size_t>{2, 3, 3});

  auto s = cluster::summarize(cluster::diff(first, three));
  CHECK(s.ownership_moves == 8);
  CHECK(s.fresh_owners == 8);
  CHECK(s.replicas_added == 8);
}

TEST_CASE("placement: first placement of 8 districts on 1, 2 and 3 nodes, rf 3") {
  auto one = cluster::compute_placement(macau, up({"a"}), 3, first);
  CHECK(table(one) == "a> a> a> a> a> a> a> a>");

  auto two = cluster::compute_placement(macau, up({"a", "b"}), 3, first);
  CHECK(table(two) == "a>b b>a a>b b>a a>b b>a a>b b>a");

  auto three = cluster::compute_placement(macau, up({"a", "b", "c"}), 3, first);
  CHECK(table(three) == "a>b,c b>a,c c>a,b a>b,c b>a,c c>a,b a>b,c b>a,c");
  CHECK(cluster::validate(three, up({"a", "b", "c"}), 3).empty());
  CHECK(replica_counts(three, {"a", "b", "c"}) == std::vector<std::size_t>{5, 5, 6});
}

TEST_CASE("placement: a replication factor above the node count gives every other node a copy") {
  auto p = cluster::compute_placement(macau, up({"a", "b"}), 5, first);
  CHECK(table(p) == "a>b b>a a>b b>a a>b b>a a>b b>a");
  CHECK(cluster::validate(p, up({"a", "b"}), 5).empty());
  // rf 0 reads as 1: owners only.
  auto owners_only = cluster::compute_placement(macau, up({"a", "b"}), 0, first);
  CHECK(table(owners_only) == "a> b> a> b> a> b> a> b>");
}

TEST_CASE("placement: a joining node takes its share and nothing else changes owner") {
  auto three = cluster::compute_placement(macau, up({"a", "b", "c"}), 2, first);
  auto members = up({"a", "b", "c"});
  members.push_back({"d", "", member_state::joining});
  auto four = cluster::compute_placement(macau, members, 2, three);
  CHECK(table(four) == "d>b d>c c>a a>d b>d c>a a>b b>c");
  CHECK(cluster::validate(four, members, 2).empty());
  auto changes = cluster::diff(three, four);
  auto s = cluster::summarize(changes);
  CHECK(s.ownership_moves == 2);  // floor(8 / 4): d's share, all of it to d
  CHECK(s.fresh_owners == 2);
  CHECK(s.promotions == 0);
  CHECK(s.replicas_added == 2);  // d replicates two districts, taken from b and c
  CHECK(s.replicas_removed == 2);
  for (const auto& c : changes) {
    if (c.owner_moved()) CHECK(c.to_owner == "d");
  }
}

TEST_CASE("placement: a leaving node's districts go to their replicas") {
  auto three = cluster::compute_placement(macau, up({"a", "b", "c"}), 2, first);
  auto members = with_state(up({"a", "b", "c"}), "b", member_state::leaving);
  auto two = cluster::compute_placement(macau, members, 2, three);
  // b owned 1, 4 and 7, replicated on c: promoted. c then owned 5 to a's 3, so c hands district 2
  // back to a, which replicated it (a role swap).
  CHECK(table(two) == "a>c c>a a>c a>c c>a c>a a>c c>a");
  CHECK(cluster::validate(two, members, 2).empty());
  auto s = cluster::summarize(cluster::diff(three, two));
  CHECK(s.ownership_moves == 4);
  CHECK(s.promotions == 4);
  CHECK(s.fresh_owners == 0);
  CHECK(s.replicas_added == 6);    // b's copies and the copies of its promoted districts
  CHECK(s.replicas_removed == 3);  // b's replicas of 0, 3, 6
  for (const auto& d : two.districts) {
    CHECK(d.owner != "b");
    CHECK(std::find(d.replicas.begin(), d.replicas.end(), "b") == d.replicas.end());
  }
}

TEST_CASE("placement: a node dies with rf 2, each of its districts is promoted from its replica") {
  auto members = up({"a", "b", "c", "d"});
  auto four = cluster::compute_placement(macau, members, 2, first);
  CHECK(table(four) == "a>b b>c c>d d>a a>b b>c c>d d>a");
  members = with_state(members, "d", member_state::down);
  auto three = cluster::compute_placement(macau, members, 2, four);
  CHECK(table(three) == "b>a b>c c>a a>b a>b b>c c>a a>b");
  CHECK(cluster::validate(three, members, 2).empty());
  auto changes = cluster::diff(four, three);
  std::size_t failed_over = 0;
  for (const auto& c : changes) {
    if (c.from_owner != "d") continue;
    ++failed_over;
    CHECK(c.by_promotion);
    CHECK(c.to_owner == four.districts[c.district.value].replicas.front());
  }
  CHECK(failed_over == 2);
  auto s = cluster::summarize(changes);
  // d's districts 3 and 7 both went to a, which then owned 4 of 8: a hands district 0 to its
  // replica b, the one more role swap that balance needs.
  CHECK(s.fresh_owners == 0);
  CHECK(s.promotions == 3);
  CHECK(s.ownership_moves == 3);
}

TEST_CASE("placement: zones a and b with 4 nodes keep owner and replica apart") {
  std::vector<member> z{{"a1", "a", member_state::up},
                        {"a2", "a", member_state::up},
                        {"b1", "b", member_state::up},
                        {"b2", "b", member_state::up}};
  auto p = cluster::compute_placement(macau, z, 2, first);
  CHECK(table(p) == "a1>b1 a2>b2 b1>a1 b2>a2 a1>b1 a2>b2 b1>a1 b2>a2");
  CHECK(cluster::validate(p, z, 2).empty());
  // b1 dies: its districts go to its replica a1; the replicas must still be in zone b.
  auto after = cluster::compute_placement(macau, with_state(z, "b1", member_state::down), 2, p);
  CHECK(cluster::validate(after, with_state(z, "b1", member_state::down), 2).empty());
  for (const auto& d : after.districts) {
    CHECK(d.owner.front() != d.replicas.front().front());
  }
  // rf 3 with two zones: every district spans both zones.
  auto p3 = cluster::compute_placement(macau, z, 3, first);
  CHECK(cluster::validate(p3, z, 3).empty());
}

TEST_CASE("placement: with no eligible node every district is unplaced") {
  auto three = cluster::compute_placement(macau, up({"a", "b", "c"}), 2, first);
  std::vector<member> members{{"a", "", member_state::down},
                              {"b", "", member_state::leaving},
                              {"c", "", member_state::down}};
  auto none = cluster::compute_placement(macau, members, 2, three);
  CHECK(table(none) == "> > > > > > > >");
  CHECK(cluster::validate(none, members, 2).empty());
  CHECK(cluster::summarize(cluster::diff(three, none)).unplaced == 8);
  CHECK(table(cluster::compute_placement(macau, {}, 3, first)) == "> > > > > > > >");
  CHECK(cluster::compute_placement(0, up({"a"}), 2, three).districts.empty());
}

TEST_CASE("placement: a previous placement naming unknown nodes or of another size") {
  placement previous;
  previous.districts = {{"ghost", {"b"}},       // unknown owner, known replica: promoted
                        {"ghost", {"ghost2"}},  // nothing survives: placed by balance
                        {"a", {"ghost", "a"}},  // unknown and duplicate replicas dropped
                        {"", {}},               // unplaced
                        {"b", {}}};             // districts 5-7 are missing
  auto members = up({"a", "b"});
  auto p = cluster::compute_placement(macau, members, 2, previous);
  CHECK(table(p) == "b>a a>b a>b a>b b>a b>a a>b b>a");
  CHECK(cluster::validate(p, members, 2).empty());
  auto changes = cluster::diff(previous, p);
  CHECK(changes.front().by_promotion);
  // A previous placement longer than district_count: the extra districts are dropped.
  auto shorter = cluster::compute_placement(3, members, 2, p);
  CHECK(table(shorter) == "b>a a>b a>b");
  CHECK(cluster::validate(shorter, members, 2).empty());
}

TEST_CASE("placement: the same inputs in any member order give the same placement") {
  std::vector<member> members{{"n3", "b", member_state::up},      {"n1", "a", member_state::up},
                              {"n5", "c", member_state::joining}, {"n2", "b", member_state::down},
                              {"n4", "a", member_state::up},      {"n6", "", member_state::up},
                              {"n7", "c", member_state::up}};
  placement previous = cluster::compute_placement(23, up({"n1", "n2", "n3", "n6"}), 3, first);
  auto expected = cluster::compute_placement(23, members, 3, previous);
  CHECK(cluster::validate(expected, members, 3).empty());
  std::mt19937 rng(7);
  for (int i = 0; i < 50; ++i) {
    std::shuffle(members.begin(), members.end(), rng);
    CHECK(cluster::compute_placement(23, members, 3, previous) == expected);
  }
}

TEST_CASE("placement: zones beat replica balance, and replicas are even within each zone") {
  // Three nodes in zone a, one in zone b, rf 2: every district owned in zone a needs its replica
  // on b1, so b1 carries 6 replicas while the a nodes share b1's 2.
  std::vector<member> z{{"a1", "a", member_state::up},
                        {"a2", "a", member_state::up},
                        {"a3", "a", member_state::up},
                        {"b1", "b", member_state::up}};
  auto p = cluster::compute_placement(macau, z, 2, first);
  CHECK(cluster::validate(p, z, 2).empty());
  CHECK(owner_counts(p, {"a1", "a2", "a3", "b1"}) == std::vector<std::size_t>{2, 2, 2, 2});
  CHECK(replica_counts(p, {"a1", "a2", "a3", "b1"}) == std::vector<std::size_t>{1, 1, 0, 6});
  // Without zones the same nodes are balanced in replicas too.
  auto flat = cluster::compute_placement(macau, up({"a1", "a2", "a3", "b1"}), 2, first);
  CHECK(replica_counts(flat, {"a1", "a2", "a3", "b1"}) == std::vector<std::size_t>{2, 2, 2, 2});
}

TEST_CASE("placement: safety beats owner balance when the only copies are on one node") {
  // c and d fail together; districts 0-2 survive only on a, so a must own all three although
  // its share of 4 districts on 2 nodes is 2.
  placement previous;
  previous.districts = {{"c", {"a", "d"}}, {"d", {"c", "a"}}, {"c", {"d", "a"}}, {"b", {"c", "d"}}};
  std::vector<member> members{{"a", "", member_state::up},
                              {"b", "", member_state::up},
                              {"c", "", member_state::down},
                              {"d", "", member_state::down}};
  auto p = cluster::compute_placement(4, members, 3, previous);
  CHECK(table(p) == "a>b a>b a>b b>a");
  auto violations = cluster::validate(p, members, 3);
  // b cannot replicate what it owns, so replicas are out of balance by the same cause.
  CHECK(violations ==
        std::vector<std::string>{"owners are unbalanced: \"a\" has 3, \"b\" has 1",
                                 "replicas are unbalanced: \"b\" has 3, \"a\" has 1"});
  // The next computation, with nothing left to protect, restores balance by a role swap.
  auto next = cluster::compute_placement(4, members, 3, p);
  CHECK(cluster::validate(next, members, 3).empty());
  CHECK(cluster::summarize(cluster::diff(p, next)).promotions == 1);
}

TEST_CASE("placement: validate names each violation") {
  auto members = up({"a", "b", "c"});
  placement p;
  p.districts = {{"", {}}, {"x", {"a"}}, {"a", {"a"}}, {"b", {"c", "c"}}, {"c", {"a"}}};
  auto v = cluster::validate(p, members, 2);
  CHECK(v == std::vector<std::string>{
                 "district 0 has no owner",
                 "district 0 has 0 replicas, expected 1",
                 "district 1 is owned by \"x\", which is not an eligible member",
                 "district 2 lists its owner \"a\" as a replica",
                 "district 3 has 2 replicas, expected 1",
                 "district 3 lists replica \"c\" twice",
                 "replicas are unbalanced: \"a\" has 2, \"b\" has 0",
             });
  std::vector<member> z{{"a1", "a", member_state::up}, {"b1", "b", member_state::up}};
  placement same_zone;
  same_zone.districts = {{"a1", {"b1"}}, {"b1", {"a1"}}};
  CHECK(cluster::validate(same_zone, z, 2).empty());
  z.push_back({"a2", "a", member_state::up});
  same_zone.districts = {{"a1", {"a2"}}, {"b1", {"a1"}}, {"a2", {"b1"}}};
  CHECK(cluster::validate(same_zone, z, 2) ==
        std::vector<std::string>{"district 0 spans 1 zones, expected 2"});
}

namespace {

bool eligible(const member& m) {
  return m.state == member_state::up || m.state == member_state::joining;
}

std::set<std::string> eligible_ids(const std::vector<member>& members) {
  std::set<std::string> ids;
  for (const auto& m : members) {
    if (eligible(m)) ids.insert(m.id);
  }
  return ids;
}

// One random membership event; returns its description, or "" when it does not apply. `kind`
// says what the step was, for the checks that hold only after a single join or removal.
enum class step_kind { join, removal, other };

std::string random_event(std::mt19937& rng, std::vector<member>& members, step_kind& kind,
                         std::string& subject) {
  static const std::vector<std::string> zones{"", "a", "b", "c"};
  auto pick = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  std::vector<std::size_t> live, gone;
  for (std::size_t i = 0; i < members.size(); ++i)
    (eligible(members[i]) ? live : gone).push_back(i);
  kind = step_kind::other;
  switch (pick(8)) {
    case 0:
    case 1: {  // a join: a new id, or a member that is back
      std::string id = "n" + std::to_string(pick(12));
      auto it = std::find_if(members.begin(), members.end(), [&](auto& m) { return m.id == id; });
      if (it != members.end() && eligible(*it)) return "";
      auto state = pick(2) ? member_state::up : member_state::joining;
      if (it == members.end()) {
        members.push_back({id, zones[pick(zones.size())], state});
      } else {
        it->state = state;
      }
      kind = step_kind::join;
      subject = id;
      return "join " + id;
    }
    case 2:
    case 3: {  // a leave or a death
      if (live.empty()) return "";
      auto& m = members[live[pick(live.size())]];
      m.state = pick(2) ? member_state::leaving : member_state::down;
      kind = step_kind::removal;
      subject = m.id;
      return (m.state == member_state::down ? "death " : "leave ") + m.id;
    }
    case 4: {  // a joining member comes up: no change of eligibility
      for (auto i : live) {
        if (members[i].state == member_state::joining) {
          members[i].state = member_state::up;
          return "up " + members[i].id;
        }
      }
      return "";
    }
    case 5: {  // a departed member is forgotten
      if (gone.empty()) return "";
      std::string id = members[gone[pick(gone.size())]].id;
      std::erase_if(members, [&](auto& m) { return m.id == id; });
      return "forget " + id;
    }
    case 6: {  // a zone assignment
      if (members.empty()) return "";
      auto& m = members[pick(members.size())];
      m.zone = zones[pick(zones.size())];
      return "zone " + m.id + "=" + m.zone;
    }
    default: {  // two deaths at once
      if (live.size() < 2) return "";
      std::shuffle(live.begin(), live.end(), rng);
      members[live[0]].state = member_state::down;
      members[live[1]].state = member_state::down;
      return "deaths " + members[live[0]].id + " " + members[live[1]].id;
    }
  }
}

std::size_t ceil_div(std::size_t a, std::size_t b) {
  return (a + b - 1) / b;
}

// Runs one seeded sequence and returns the first broken property, "" when all held.
struct tally {
  std::size_t steps = 0, joins = 0, removals = 0, promotions = 0, conflicts = 0;
};

std::string run_sequence(std::uint32_t seed, tally& t) {
  std::mt19937 rng(seed);
  const std::size_t districts = std::uniform_int_distribution<std::size_t>(1, 40)(rng);
  const std::size_t rf = std::uniform_int_distribution<std::size_t>(0, 4)(rng);
  std::vector<member> members;
  placement previous;
  std::string history;
  for (int step = 0; step < 30; ++step) {
    step_kind kind;
    std::string subject;
    std::string event;
    while (event.empty()) event = random_event(rng, members, kind, subject);
    history += " | " + event;
    auto fail = [&](const std::string& what) {
      return "seed " + std::to_string(seed) + " (" + std::to_string(districts) + " districts, rf " +
             std::to_string(rf) + ") step " + std::to_string(step) + ": " + what +
             "\n  events:" + history + "\n  previous: " + table(previous);
    };
    const auto live = eligible_ids(members);
    const auto p = cluster::compute_placement(districts, members, rf, previous);
    auto violations = cluster::validate(p, members, rf);
    // Two simultaneous deaths may leave districts whose only copy is on one node: safety wins
    // over balance (rule 4), and the next computation restores it.
    bool conflict = false;
    if (event.starts_with("deaths") && !violations.empty()) {
      std::erase_if(violations, [](auto& v) { return v.find("unbalanced") != std::string::npos; });
      conflict = violations.empty();
      t.conflicts += conflict;
    }
    if (!violations.empty()) return fail(violations.front() + "\n  result: " + table(p));

    // Rule 2: where the owner is gone and a replica survives, a replica owns the district.
    for (std::size_t d = 0; d < districts && d < previous.districts.size(); ++d) {
      const auto& before = previous.districts[d];
      if (before.owner.empty() || live.contains(before.owner)) continue;
      bool survivor = false;
      for (const auto& r : before.replicas) survivor = survivor || live.contains(r);
      if (!survivor) continue;
      const auto& reps = before.replicas;
      if (std::find(reps.begin(), reps.end(), p.districts[d].owner) == reps.end()) {
        return fail("district " + std::to_string(d) + " got a fresh owner although a replica " +
                    "survived\n  result: " + table(p));
      }
    }

    // Stability: the result as previous changes nothing (after a conflict: it becomes valid).
    const auto again = cluster::compute_placement(districts, members, rf, p);
    if (conflict) {
      if (!cluster::validate(again, members, rf).empty()) return fail("no recovery after conflict");
    } else if (again != p) {
      return fail("not stable\n  result: " + table(p) + "\n  again:  " + table(again));
    }

    // Determinism: any member order.
    auto shuffled = members;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    if (cluster::compute_placement(districts, shuffled, rf, previous) != p) {
      return fail("depends on member order");
    }

    const auto changes = cluster::diff(previous, p);
    const auto s = cluster::summarize(changes);
    ++t.steps;
    t.promotions += s.promotions;
    if (step > 0 && kind == step_kind::join) {
      ++t.joins;
      // The bound of rule 5: at most ceil(districts / eligible), all to the joiner.
      if (s.ownership_moves > ceil_div(districts, live.size())) {
        return fail(std::to_string(s.ownership_moves) + " ownership moves after a join");
      }
      for (const auto& c : changes) {
        if (c.owner_moved() && c.to_owner != subject && !c.from_owner.empty()) {
          return fail("district " + std::to_string(c.district.value) + " moved to " + c.to_owner +
                      " on a join");
        }
      }
    }
    if (step > 0 && kind == step_kind::removal) {
      ++t.removals;
      std::size_t owned = 0;
      for (const auto& d : previous.districts) owned += d.owner == subject;
      if (s.ownership_moves > 2 * owned) {
        return fail(std::to_string(s.ownership_moves) + " ownership moves after removing a node " +
                    "that owned " + std::to_string(owned));
      }
    }
    previous = p;
  }
  return "";
}

}  // namespace

// Set CITYTWIN_PLACEMENT_SEED to run one seed alone (a failure prints its seed).
TEST_CASE("placement: properties over 600 seeded random membership sequences") {
  std::uint32_t from = 1;
  std::uint32_t to = 600;
  if (const char* one = std::getenv("CITYTWIN_PLACEMENT_SEED")) {
    from = to = static_cast<std::uint32_t>(std::strtoul(one, nullptr, 10));
  }
  tally t;
  std::size_t failures = 0;
  for (std::uint32_t seed = from; seed <= to; ++seed) {
    auto failure = run_sequence(seed, t);
    if (!failure.empty() && ++failures <= 5) FAIL_CHECK(failure);
  }
  CHECK(failures == 0);
  MESSAGE(t.steps << " steps, " << t.joins << " single joins, " << t.removals
                  << " single removals, " << t.promotions << " promotions, " << t.conflicts
                  << " steps where safety beat balance");
  CHECK(t.joins > 0);
  CHECK(t.removals > 0);
}
