#pragma once

#include <utility>
#include <variant>

#include "twin/base/check.hpp"

namespace twin {

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

  T& value() & {
    TWIN_CHECK(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    TWIN_CHECK(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    TWIN_CHECK(has_value());
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
  std::variant<T, E> v_;
};

}  // namespace twin
