#pragma once

#include <sstream>
#include <string>

// Assertions for bugs. They stay on in release builds and print the values involved.
namespace twin::detail {
[[noreturn]] void check_failed(const char* expr, const char* file, int line,
                               const std::string& values);
}

#define TWIN_CHECK(cond)                                           \
  do {                                                             \
    if (!(cond)) [[unlikely]]                                      \
      ::twin::detail::check_failed(#cond, __FILE__, __LINE__, ""); \
  } while (false)

// TWIN_CHECK_OP(a, <, b) prints both sides when it fails.
#define TWIN_CHECK_OP(a, op, b)                                                             \
  do {                                                                                      \
    const auto& check_a_ = (a);                                                             \
    const auto& check_b_ = (b);                                                             \
    if (!(check_a_ op check_b_)) [[unlikely]] {                                             \
      std::ostringstream check_os_;                                                         \
      check_os_ << #a " = " << check_a_ << ", " #b " = " << check_b_;                       \
      ::twin::detail::check_failed(#a " " #op " " #b, __FILE__, __LINE__, check_os_.str()); \
    }                                                                                       \
  } while (false)
