#include "skip.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string_view>

namespace testkit {
namespace {

int skips = 0;

bool tools_required() {
  const char* value = std::getenv("CITYTWIN_TEST_TOOLS_REQUIRED");
  return value != nullptr && std::string_view(value) == "1";
}

bool is_executable(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (path.empty() || !fs::is_regular_file(path, ec)) return false;
  const auto perms = fs::status(path, ec).permissions();
  return (perms & fs::perms::owner_exec) != fs::perms::none;
}

}  // namespace

bool have_tool(const std::string& tool, const std::string& path, const std::string& check) {
  if (is_executable(path)) return true;
  const std::string where = path.empty() ? std::string("not found at configure time") : path;
  if (tools_required()) {
    FAIL_CHECK(tool << " is required (CITYTWIN_TEST_TOOLS_REQUIRED=1) but missing (" << where
                    << "): " << check << " cannot run");
    return false;
  }
  skip(check, tool + " is missing (" + where + "; `make deps` unpacks it into .deps/)");
  return false;
}

void skip(const std::string& check, const std::string& why) {
  ++skips;
  MESSAGE("SKIPPED: " << check << ": " << why);
}

int skips_recorded() {
  return skips;
}

}  // namespace testkit
