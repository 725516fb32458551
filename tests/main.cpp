// The doctest main of every test executable; a run that skipped a check for want of a tool (and
// failed nothing) exits with testkit::skip_exit_code.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "skip.hpp"

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int failed = context.run();
  if (context.shouldExit() || failed != 0) return failed;
  return testkit::skips_recorded() > 0 ? testkit::skip_exit_code : 0;
}
