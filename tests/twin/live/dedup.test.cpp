#include "twin/live/dedup.hpp"

#include <doctest/doctest.h>

using twin::batch_dedup;
using twin::batch_key;
using twin::batch_seen;
using twin::reading_times;
using twin::time_ms;
using verdict = twin::reading_times::verdict;

TEST_CASE("a batch is applied once per gateway session") {
  batch_dedup d(8, 4);
  CHECK(d.first_time({1, 1, 0}));
  CHECK_FALSE(d.first_time({1, 1, 0}));
  CHECK(d.first_time({1, 2, 0}));  // another session of the same gateway
  CHECK(d.first_time({2, 1, 0}));  // another gateway
  CHECK(d.first_time({1, 1, 1}));
  CHECK_FALSE(d.first_time({1, 1, 1}));
  CHECK(d.sessions() == 3);
}

TEST_CASE("the window slides and a sequence below it is unknown, never a duplicate") {
  batch_dedup d(8, 4);
  for (std::uint64_t s = 0; s < 8; ++s) CHECK(d.first_time({1, 1, s}));
  CHECK(d.first_time({1, 1, 8}));  // window is now 1..8
  CHECK(d.check_and_record({1, 1, 0}) == batch_seen::unknown);
  CHECK(d.below_window() == 1);
  for (std::uint64_t s = 1; s <= 8; ++s) CHECK_FALSE(d.first_time({1, 1, s}));
  CHECK(d.first_time({1, 1, 10}));  // out of order inside the window
  CHECK(d.first_time({1, 1, 9}));
  CHECK(d.below_window() == 1);
}

TEST_CASE("sliding clears the bits of the sequences that left") {
  batch_dedup d(8, 4);
  for (std::uint64_t s = 0; s < 8; ++s) CHECK(d.first_time({1, 1, s}));
  CHECK(d.first_time({1, 1, 12}));  // window 5..12: sequences 8..11 share the bits of 0..3
  for (std::uint64_t s = 8; s < 12; ++s) CHECK(d.first_time({1, 1, s}));
  for (std::uint64_t s = 5; s <= 12; ++s) CHECK_FALSE(d.first_time({1, 1, s}));
  CHECK(d.first_time({1, 1, 1000}));  // a jump past the whole window
  CHECK(d.first_time({1, 1, 999}));
  CHECK(d.first_time({1, 1, 993}));
  CHECK_FALSE(d.first_time({1, 1, 992}));
  CHECK_FALSE(d.first_time({1, 1, 1000}));
}

TEST_CASE("a session first seen mid-stream still accepts earlier sequences once") {
  batch_dedup d(8, 4);
  CHECK(d.first_time({1, 1, 100}));  // window 93..100
  CHECK(d.first_time({1, 1, 95}));
  CHECK_FALSE(d.first_time({1, 1, 95}));
  CHECK(d.first_time({1, 1, 93}));
  CHECK(d.check_and_record({1, 1, 93}) == batch_seen::applied);
  CHECK(d.check_and_record({1, 1, 92}) == batch_seen::unknown);
}

TEST_CASE("a sequence far below the first one seen is unknown, not a duplicate") {
  // A gateway that sent 10000 first and 0 next: 0 was never applied.
  batch_dedup d(4096, 4);
  CHECK(d.check_and_record({1, 1, 10000}) == batch_seen::first);
  CHECK(d.check_and_record({1, 1, 0}) == batch_seen::unknown);
  CHECK(d.check_and_record({1, 1, 0}) == batch_seen::unknown);  // not recorded either
  CHECK(d.check_and_record({1, 1, 10000}) == batch_seen::applied);
}

TEST_CASE("a window wider than one word of bits") {
  batch_dedup d(200, 1);
  for (std::uint64_t s = 0; s < 1000; ++s) CHECK(d.first_time({1, 1, s}));
  for (std::uint64_t s = 800; s < 1000; ++s) CHECK_FALSE(d.first_time({1, 1, s}));
  CHECK_FALSE(d.first_time({1, 1, 799}));
  CHECK(d.first_time({1, 1, 1000}));
}

TEST_CASE("the least recently seen session is forgotten") {
  batch_dedup d(8, 2);
  CHECK(d.first_time({1, 1, 1}));  // A
  CHECK(d.first_time({2, 1, 1}));  // B
  CHECK(d.first_time({1, 1, 2}));  // A again: B is now the least recent
  CHECK(d.first_time({3, 1, 1}));  // C evicts B
  CHECK(d.sessions() == 2);
  CHECK(d.sessions_evicted() == 1);
  CHECK_FALSE(d.first_time({1, 1, 1}));  // A is remembered
  CHECK(d.first_time({2, 1, 1}));        // B was forgotten: its resend is not recognised; evicts C
  CHECK(d.sessions_evicted() == 2);
  CHECK(d.first_time({3, 1, 1}));  // C was forgotten; evicts A
  CHECK(d.sessions_evicted() == 3);
  CHECK_FALSE(d.first_time({2, 1, 1}));
  CHECK(d.first_time({1, 1, 1}));
}

TEST_CASE("reading times: newest, late, duplicate and too late") {
  reading_times t;
  constexpr time_ms hour = 3'600'000;
  CHECK(t.record(10 * hour, hour, 16) == verdict::newest);
  CHECK(t.record(10 * hour, hour, 16) == verdict::duplicate);
  CHECK(t.record(10 * hour + 1000, hour, 16) == verdict::newest);
  CHECK(t.record(10 * hour - 5000, hour, 16) == verdict::late);  // older than any, not seen
  CHECK(t.record(10 * hour - 5000, hour, 16) == verdict::duplicate);
  CHECK(t.record(10 * hour + 500, hour, 16) == verdict::late);  // between two
  CHECK(t.record(10 * hour + 500, hour, 16) == verdict::duplicate);
  // The bound is measured from the latest (10 h + 1 s): 9 h + 1 s is just inside, 9 h + 999 ms
  // just outside.
  CHECK(t.record(9 * hour + 1000, hour, 16) == verdict::late);
  CHECK(t.record(9 * hour + 999, hour, 16) == verdict::too_late);
  CHECK(t.times() == std::vector<time_ms>{9 * hour + 1000, 10 * hour - 5000, 10 * hour,
                                          10 * hour + 500, 10 * hour + 1000});
  CHECK(t.latest() == 10 * hour + 1000);
  CHECK(t.complete_from() == reading_times::no_time_before);
  // A newer time moves the bound: what falls out is forgotten and then too late.
  CHECK(t.record(11 * hour, hour, 16) == verdict::newest);
  CHECK(t.times() == std::vector<time_ms>{10 * hour, 10 * hour + 500, 10 * hour + 1000, 11 * hour});
  CHECK(t.complete_from() == 10 * hour);
  CHECK(t.record(10 * hour - 5000, hour, 16) == verdict::too_late);
  CHECK(t.record(10 * hour, hour, 16) == verdict::duplicate);
}

TEST_CASE("reading times: the bound on remembered times is never a guess") {
  reading_times t;
  for (time_ms s = 1; s <= 6; ++s) CHECK(t.record(s * 1000, 3'600'000, 4) == verdict::newest);
  // Only 3000..6000 are remembered: 2000 could have been seen, so it is too late, not new.
  CHECK(t.times() == std::vector<time_ms>{3000, 4000, 5000, 6000});
  CHECK(t.complete_from() == 2001);
  CHECK(t.record(2000, 3'600'000, 4) == verdict::too_late);
  CHECK(t.record(2500, 3'600'000, 4) == verdict::late);  // after 2000 was dropped: not seen
  // Five times over the bound of four: the oldest, 2500 itself, is dropped at once. It was
  // applied, and its resend is too late, never applied twice.
  CHECK(t.complete_from() == 2501);
  CHECK(t.times() == std::vector<time_ms>{3000, 4000, 5000, 6000});
  CHECK(t.record(2500, 3'600'000, 4) == verdict::too_late);
  CHECK(t.record(3000, 3'600'000, 4) == verdict::duplicate);
}

TEST_CASE("reading times: a gap longer than the offsets reach, and restore") {
  reading_times t;
  constexpr time_ms day = 86'400'000;
  CHECK(t.record(0, 3'600'000, 8) == verdict::newest);
  CHECK(t.record(60 * day, 3'600'000, 8) == verdict::newest);  // 2^32 ms is under 50 days
  CHECK(t.times() == std::vector<time_ms>{60 * day});
  CHECK(t.record(60 * day - 3'600'000, 3'600'000, 8) == verdict::late);
  CHECK(t.record(0, 3'600'000, 8) == verdict::too_late);

  reading_times copy;
  copy.restore(t.times(), t.complete_from());
  CHECK(copy.times() == t.times());
  CHECK(copy.record(60 * day, 3'600'000, 8) == verdict::duplicate);
  CHECK(copy.record(60 * day - 1, 3'600'000, 8) == verdict::late);
}
