#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "twin/city/ids.hpp"

// Placement: which node owns each district and which nodes replicate it. The elected coordinator
// computes it from the membership and the previous placement and publishes it in one
// compare-and-swap, so the computation is pure (no I/O, no clock, no randomness) and every
// coordinator that sees the same inputs publishes the same table.
namespace cluster {

enum class member_state : std::uint8_t { joining, up, leaving, down };

struct member {
  std::string id;    // unique and non-empty; a member with an empty id is ignored
  std::string zone;  // failure domain; may be empty
  member_state state = member_state::up;

  friend bool operator==(const member&, const member&) = default;
};

struct district_roles {
  std::string owner;                  // empty: unplaced
  std::vector<std::string> replicas;  // ordered: the first is the first choice for promotion

  friend bool operator==(const district_roles&, const district_roles&) = default;
};

struct placement {
  std::vector<district_roles> districts;  // index = twin::district_id::value

  friend bool operator==(const placement&, const placement&) = default;
};

// The contract of compute_placement, rules in priority order (an earlier rule wins a conflict):
//
// Eligible nodes are the members in state `up` or `joining`. `leaving` and `down` members, and
// ids the previous placement names but `members` does not, own and replicate nothing in the
// result. A replication factor of 0 is read as 1 (an owner and no replicas).
//
// 1. Completeness. With at least one eligible node every district has exactly one eligible owner
//    and r = min(rf - 1, eligible - 1) replicas, distinct eligible nodes other than the owner.
//    With none every district is unplaced (empty owner, no replicas).
// 2. Safety. When a district's previous owner is not eligible and one of its previous replicas
//    is, the owner is the first eligible previous replica (a promotion: it already holds the
//    state). Balancing (rule 4) may afterwards hand the district to another previous replica
//    (still no state transfer) but never to a node that did not replicate it. Only when neither
//    the owner nor any replica survives is a node picked by balance (the caller restores the
//    district from its last snapshot).
// 3. Zones. The zone rule is active when the eligible nodes have at least two distinct non-empty
//    zones; an empty zone then counts as one more zone. While active, the owner and replicas of a
//    district span min(r + 1, Z) distinct zones, Z being the number of zones among eligible nodes:
//    all distinct when there are enough zones, every zone represented otherwise.
// 4. Balance. Owners per eligible node differ by at most 1; so do replicas per eligible node while
//    the zone rule is inactive. Conflicts: the zone rule beats replica balance (with zones of
//    unequal size the nodes of a small zone must carry more replicas; the spread is then evened
//    out only by moves that keep every district's zones valid), and safety beats owner balance
//    (when several nodes fail at once, districts whose only surviving copy is on one node all go
//    to it even if that exceeds its share; a single removal from a balanced placement never does).
// 5. Minimal movement. An eligible owner and eligible replicas are kept unless rules 1-4 force a
//    change. Balancing moves one district at a time from a most-loaded node to a least-loaded one,
//    and only while their loads differ by at least 2, so the number of ownership moves is the
//    least that reaches balance; a move goes to a node that already replicates the district (a
//    role swap: the old owner becomes a replica in the new owner's slot) whenever one qualifies.
//    When constraints leave no direct move, one role passes through a third node (two moves).
//    Guarantee: when the previous placement is complete and balanced over the eligible nodes and
//    one node joins, at most ceil(districts / eligible) districts change owner (eligible counted
//    after the join), all of them to the new node; no other district changes owner. When one node
//    is removed, its districts move (by promotion where a replica survives), and other districts
//    change owner only to undo overload caused by promotions: at most twice the removed node's
//    district count in all.
// 6. Determinism. Members are sorted by id before use (a duplicated id keeps the entry that sorts
//    first by id, zone, state), districts are visited by index, and every choice breaks ties by
//    load, then member id (for replicas: the id order starting after the owner, which spreads a
//    first placement like a ring), then district index. The same inputs give the same output, in
//    whatever order `members` is given.
//
// `previous` may be empty (first placement), shorter or longer than district_count (missing
// districts are unplaced; extra ones are ignored) and may name unknown nodes.
placement compute_placement(std::size_t district_count, std::span<const member> members,
                            std::size_t replication_factor, const placement& previous);

// What changed for one district between two placements; only districts with a change are listed.
struct placement_change {
  twin::district_id district;
  std::string from_owner;  // empty: was unplaced
  std::string to_owner;    // empty: is unplaced; equal to from_owner when ownership stayed
  // The new owner replicated the district before (a failover promotion or a balancing role swap):
  // it already holds the state.
  bool by_promotion = false;
  // Copies of the state made or dropped: replicas that held no role in the district before (in
  // the order of the new list), and old replicas that hold no role after (in the order of the old
  // list). A role swap between owner and replica appears in neither.
  std::vector<std::string> replicas_added;
  std::vector<std::string> replicas_removed;

  bool owner_moved() const { return from_owner != to_owner; }
  friend bool operator==(const placement_change&, const placement_change&) = default;
};

// The changes from `before` to `after`, by district index; a district missing from one side counts
// as unplaced there.
std::vector<placement_change> diff(const placement& before, const placement& after);

// Totals over a diff, the figures an operator (and the tests) reason about.
struct movement_summary {
  std::size_t ownership_moves = 0;  // districts whose owner changed to a non-empty owner
  std::size_t promotions = 0;       // ... of which the new owner held a replica
  std::size_t fresh_owners = 0;     // ... of which the new owner held nothing (state transfer)
  std::size_t unplaced = 0;         // districts that lost their owner and got none
  std::size_t replicas_added = 0;
  std::size_t replicas_removed = 0;

  friend bool operator==(const movement_summary&, const movement_summary&) = default;
};
movement_summary summarize(std::span<const placement_change> changes);

// Checks rules 1, 3 and 4 (not 2 and 5, which need the previous placement) for `p` against the
// membership. Returns one human-readable sentence per violation; empty means valid. Replica
// balance is checked only while the zone rule is inactive (rule 4).
std::vector<std::string> validate(const placement& p, std::span<const member> members,
                                  std::size_t replication_factor);

}  // namespace cluster
