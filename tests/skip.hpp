#pragma once
// A check that cannot run here (a missing tool such as promtool or prometheus, an instruction set
// the processor lacks) never passes silently: the skip is reported and the test executable exits
// with skip_exit_code, which ctest shows as skipped (SKIP_RETURN_CODE). With
// CITYTWIN_TEST_TOOLS_REQUIRED=1 in the environment (`make test`, whose install step provides the
// tools) a missing tool is a failure instead.
#include <string>

namespace testkit {

inline constexpr int skip_exit_code = 77;

// True when `path` is an executable file. Otherwise reports the skip of `check` (or fails it when
// tools are required) and returns false, so the caller leaves the check out.
bool have_tool(const std::string& tool, const std::string& path, const std::string& check);

// Reports that `check` was left out, and why.
void skip(const std::string& check, const std::string& why);

// How many checks were skipped in this run of the executable.
int skips_recorded();

}  // namespace testkit
