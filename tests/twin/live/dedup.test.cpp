#include "twin/live/dedup.hpp"

#include <doctest/doctest.h>

using twin::batch_dedup;
using twin::batch_key;

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

TEST_CASE("the window slides and sequences below it count as applied") {
  batch_dedup d(8, 4);
  for (std::uint64_t s = 0; s < 8; ++s) CHECK(d.first_time({1, 1, s}));
  CHECK(d.first_time({1, 1, 8}));  // window is now 1..8
  CHECK_FALSE(d.first_time({1, 1, 0}));
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
  CHECK_FALSE(d.first_time({1, 1, 92}));
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
