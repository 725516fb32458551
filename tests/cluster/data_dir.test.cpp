#include "cluster/data_dir.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "storage_test_dir.hpp"

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("data_dir: opening creates the directory and writes the holder's pid in LOCK") {
  testkit::temp_dir tmp("datadir");
  const auto dir = tmp.path() / "node" / "data";
  auto d = cluster::data_dir::open(dir);
  REQUIRE(d.has_value());
  CHECK(d->path() == dir);
  CHECK(std::filesystem::is_directory(d->log_dir()));
  CHECK(std::filesystem::is_directory(d->snapshot_dir()));
  CHECK(read_file(dir / "LOCK") == std::to_string(::getpid()) + "\n");
}

TEST_CASE("data_dir: a second open in the same process is refused, naming the directory and pid") {
  testkit::temp_dir tmp("datadir");
  {
    auto first = cluster::data_dir::open(tmp.path());
    REQUIRE(first.has_value());
    auto second = cluster::data_dir::open(tmp.path());
    REQUIRE_FALSE(second.has_value());
    CHECK(second.error().code == cluster::storage_errc::locked);
    CHECK(second.error().message == "data directory " + tmp.path().string() +
                                        " is in use by process " + std::to_string(::getpid()) +
                                        " (lock " + (tmp.path() / "LOCK").string() + ")");
  }
  // Released with the first holder.
  CHECK(cluster::data_dir::open(tmp.path()).has_value());
}

TEST_CASE("data_dir: another process holding the directory is named, and its death frees it") {
  testkit::temp_dir tmp("datadir");
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(ready[0]);
    auto held = cluster::data_dir::open(tmp.path());
    const char c = held ? 'y' : 'n';
    [[maybe_unused]] auto n = ::write(ready[1], &c, 1);
    ::pause();  // holds the lock until killed
    ::_exit(0);
  }
  ::close(ready[1]);
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  ::close(ready[0]);
  CHECK(c == 'y');
  auto refused = cluster::data_dir::open(tmp.path());
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message == "data directory " + tmp.path().string() +
                                       " is in use by process " + std::to_string(child) +
                                       " (lock " + (tmp.path() / "LOCK").string() + ")");
  ::kill(child, SIGKILL);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  auto after = cluster::data_dir::open(tmp.path());
  REQUIRE(after.has_value());
  CHECK(read_file(tmp.path() / "LOCK") == std::to_string(::getpid()) + "\n");
}
