#include "twin/base/check.hpp"

#include <doctest/doctest.h>

#include <string>

#include "twin/base/expected.hpp"
#include "twin/base/load_error.hpp"

using twin::detail::check_kind;
using twin::detail::check_message;

TEST_CASE("an invariant check blames the code and prints the values") {
  CHECK(check_message(check_kind::invariant, "a < b", "x/f.cpp", 12, "a = 3, b = 2") ==
        "citytwin: check failed: a < b at x/f.cpp:12 with a = 3, b = 2");
  CHECK(check_message(check_kind::invariant, "ok", "x/f.cpp", 7, "") ==
        "citytwin: check failed: ok at x/f.cpp:7");
}

TEST_CASE("a precondition check blames the caller and prints the values") {
  CHECK(check_message(check_kind::precondition, "index < size", "x/f.cpp", 40,
                      "index = 9, size = 4") ==
        "citytwin: precondition violated by the caller: index < size at x/f.cpp:40 with "
        "index = 9, size = 4");
}

namespace {
struct coded_error {
  int code = 0;
  std::string message;
};
enum class bare_error { oops };
}  // namespace

TEST_CASE("the error an expected holds is described for a failed value()") {
  using twin::detail::describe_error;
  CHECK(describe_error(std::string("no such file")) == "no such file");
  CHECK(describe_error(twin::load_error{"a.yaml", 3, "name", "missing"}) ==
        "a.yaml:3: field 'name': missing");
  CHECK(describe_error(coded_error{7, "wrong version"}) == "wrong version");
  CHECK(describe_error(bare_error::oops) == "an error that cannot be printed");
}

TEST_CASE("checks that hold do nothing") {
  int calls = 0;
  auto count = [&] { return ++calls; };
  TWIN_CHECK(count() == 1);
  TWIN_CHECK_OP(count(), ==, 2);
  TWIN_REQUIRE(count() == 3);
  TWIN_REQUIRE_OP(count(), ==, 4);
  CHECK(calls == 4);
  twin::expected<int, std::string> x = 5;
  CHECK(x.value() == 5);
}
