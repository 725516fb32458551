// Fails a check on purpose, as the command line says: ctest expects the abort and its message
// (tests/CMakeLists.txt). Reaching the end is the failure.
#include <cstdio>
#include <string>
#include <string_view>

#include "twin/base/check.hpp"
#include "twin/base/expected.hpp"
#include "twin/base/load_error.hpp"

int main(int argc, char** argv) {
  const std::string_view what = argc > 1 ? argv[1] : "";
  const int size = 4;
  int index = argc + 8;
  if (what == "require") TWIN_REQUIRE_OP(index, <, size);
  if (what == "check") TWIN_CHECK_OP(index, <, size);
  if (what == "value") {
    twin::expected<int, twin::load_error> x =
        twin::unexpected{twin::load_error{"city.yaml", 4, "name", "missing"}};
    std::printf("%d\n", x.value());
  }
  std::printf("did not abort\n");
  return 0;
}
