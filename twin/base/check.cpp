#include "twin/base/check.hpp"

#include <cstdio>
#include <cstdlib>

namespace twin::detail {

std::string check_message(check_kind kind, const char* expr, const char* file, int line,
                          const std::string& values) {
  std::string out = kind == check_kind::precondition
                        ? "citytwin: precondition violated by the caller: "
                        : "citytwin: check failed: ";
  out += expr;
  out += " at ";
  out += file;
  out += ':';
  out += std::to_string(line);
  if (!values.empty()) {
    out += " with ";
    out += values;
  }
  return out;
}

void check_failed(check_kind kind, const char* expr, const char* file, int line,
                  const std::string& values) {
  std::fprintf(stderr, "%s\n", check_message(kind, expr, file, line, values).c_str());
  std::abort();
}

}  // namespace twin::detail
