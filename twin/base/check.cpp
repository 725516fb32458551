#include "twin/base/check.hpp"

#include <cstdio>
#include <cstdlib>

namespace twin::detail {

void check_failed(const char* expr, const char* file, int line, const std::string& values) {
  std::fprintf(stderr, "citytwin: check failed: %s at %s:%d%s%s\n", expr, file, line,
               values.empty() ? "" : " with ", values.c_str());
  std::abort();
}

}  // namespace twin::detail
