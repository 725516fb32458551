#pragma once

#include <filesystem>

#include "cluster/storage_error.hpp"
#include "twin/base/expected.hpp"

namespace cluster {

// A node's data directory, held exclusively while this object lives: an flock on DIR/LOCK, which
// also holds the holder's pid so that a second opener can say who has it. The kernel drops the
// lock when the process dies (kill -9 included), so a stale LOCK file never blocks a restart.
// Layout: DIR/LOCK, DIR/log/ (the write-ahead log segments), DIR/snapshots/.
class data_dir {
 public:
  // Creates DIR (and its parents) and its sub-directories when missing. A directory already held
  // (by another process, or another open in this one: flock is per open file description) is a
  // `locked` error: "data directory DIR is in use by process PID (lock DIR/LOCK)".
  static twin::expected<data_dir, storage_error> open(const std::filesystem::path& dir);

  data_dir(data_dir&&) noexcept;
  data_dir& operator=(data_dir&&) noexcept;
  ~data_dir();

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path log_dir() const { return path_ / "log"; }
  std::filesystem::path snapshot_dir() const { return path_ / "snapshots"; }

 private:
  data_dir(std::filesystem::path path, int lock_fd) : path_(std::move(path)), lock_fd_(lock_fd) {}

  std::filesystem::path path_;
  int lock_fd_ = -1;
};

}  // namespace cluster
