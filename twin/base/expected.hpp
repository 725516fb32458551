#pragma once

#include <sstream>
#include <string>
#include <utility>
#include <variant>

#include "twin/base/check.hpp"

namespace twin {

namespace detail {

// The text of an error for a failed value(): its to_string(), its message, or what it streams as.
template <class E>
std::string describe_error(const E& e) {
  if constexpr (requires { e.to_string(); }) {
    return e.to_string();
  } else if constexpr (requires { e.message; }) {
    return std::string(e.message);
  } else if constexpr (requires(std::ostream & os) { os << e; }) {
    std::ostringstream os;
    os << e;
    return os.str();
  } else {
    return "an error that cannot be printed";
  }
}

// value() on an error: the caller should have tested the expected first.
[[noreturn]] inline void value_of_error(const std::string& error) {
  check_failed(check_kind::precondition, "has_value() in expected::value()", __FILE__, __LINE__,
               "error = " + error);
}

}  // namespace detail

// Wraps an error so that expected<T, E> can be built from it unambiguously.
template <class E>
struct unexpected {
  E error;
};
template <class E>
unexpected(E) -> unexpected<E>;

// A value or an error: the result of anything that can fail in an expected way.
template <class T, class E>
class expected {
 public:
  expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  expected(unexpected<E> e) : v_(std::in_place_index<1>, std::move(e.error)) {}

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  // The value. On an error this prints the error and aborts, so code that cannot meet an error
  // (a file it wrote itself, a shape checked before) takes value() without testing.
  T& value() & {
    require_value();
    return std::get<0>(v_);
  }
  const T& value() const& {
    require_value();
    return std::get<0>(v_);
  }
  T&& value() && {
    require_value();
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const E& error() const {
    TWIN_CHECK(!has_value());
    return std::get<1>(v_);
  }

 private:
  void require_value() const {
    if (!has_value()) [[unlikely]]
      detail::value_of_error(detail::describe_error(std::get<1>(v_)));
  }

  std::variant<T, E> v_;
};

}  // namespace twin
