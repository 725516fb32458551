#pragma once

#include <sstream>
#include <string>

// Two kinds of checks, both on in release builds and both printing the values involved:
//   TWIN_REQUIRE  a caller's precondition: the caller broke the contract (passed a bad argument).
//   TWIN_CHECK    our own invariant: a failure is a bug in the code that checks.
// Expected outcomes (a bad file, an unknown sensor) are neither: they are returned as errors.
namespace twin::detail {

enum class check_kind : unsigned char { invariant, precondition };

// "citytwin: check failed: a < b at f.cpp:12 with a = 3, b = 2" (invariant) or
// "citytwin: precondition violated by the caller: a < b at f.cpp:12 with a = 3, b = 2".
std::string check_message(check_kind kind, const char* expr, const char* file, int line,
                          const std::string& values);

[[noreturn]] void check_failed(check_kind kind, const char* expr, const char* file, int line,
                               const std::string& values);

}  // namespace twin::detail

#define TWIN_DETAIL_CHECK(kind, cond)                                                           \
  do {                                                                                          \
    if (!(cond)) [[unlikely]]                                                                   \
      ::twin::detail::check_failed(::twin::detail::check_kind::kind, #cond, __FILE__, __LINE__, \
                                   "");                                                         \
  } while (false)

#define TWIN_DETAIL_CHECK_OP(kind, a, op, b)                                                      \
  do {                                                                                            \
    const auto& check_a_ = (a);                                                                   \
    const auto& check_b_ = (b);                                                                   \
    if (!(check_a_ op check_b_)) [[unlikely]] {                                                   \
      std::ostringstream check_os_;                                                               \
      check_os_ << #a " = " << check_a_ << ", " #b " = " << check_b_;                             \
      ::twin::detail::check_failed(::twin::detail::check_kind::kind, #a " " #op " " #b, __FILE__, \
                                   __LINE__, check_os_.str());                                    \
    }                                                                                             \
  } while (false)

// An invariant of our own code.
#define TWIN_CHECK(cond) TWIN_DETAIL_CHECK(invariant, cond)
// TWIN_CHECK_OP(a, <, b) prints both sides when it fails.
#define TWIN_CHECK_OP(a, op, b) TWIN_DETAIL_CHECK_OP(invariant, a, op, b)

// A precondition the caller must meet; the message blames the caller and names the values.
#define TWIN_REQUIRE(cond) TWIN_DETAIL_CHECK(precondition, cond)
// TWIN_REQUIRE_OP(index, <, size) prints both sides when it fails.
#define TWIN_REQUIRE_OP(a, op, b) TWIN_DETAIL_CHECK_OP(precondition, a, op, b)
