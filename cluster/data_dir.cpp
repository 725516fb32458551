#include "cluster/data_dir.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace cluster {

namespace {

storage_error io_failure(const std::string& what, const std::filesystem::path& file, int e) {
  return {storage_errc::io_error, e, what + " " + file.string() + ": " + std::strerror(e)};
}

// The pid the holder wrote, or "unknown" (it may have been between open and write).
std::string holder_pid(int fd) {
  char buf[32] = {};
  const auto n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string text = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.empty() ? "unknown" : text;
}

}  // namespace

twin::expected<data_dir, storage_error> data_dir::open(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const auto& sub : {dir, dir / "log", dir / "snapshots"}) {
    std::filesystem::create_directories(sub, ec);
    if (ec) return twin::unexpected(io_failure("cannot create directory", sub, ec.value()));
  }
  const auto lock_path = dir / "LOCK";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return twin::unexpected(io_failure("cannot open", lock_path, errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    if (e == EWOULDBLOCK) {
      std::string pid = holder_pid(fd);
      ::close(fd);
      return twin::unexpected(storage_error{storage_errc::locked, e,
                                            "data directory " + dir.string() +
                                                " is in use by process " + pid + " (lock " +
                                                lock_path.string() + ")"});
    }
    ::close(fd);
    return twin::unexpected(io_failure("cannot lock", lock_path, e));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int e = errno;
    ::close(fd);
    return twin::unexpected(io_failure("cannot write the pid to", lock_path, e));
  }
  return data_dir(dir, fd);
}

data_dir::data_dir(data_dir&& o) noexcept : path_(std::move(o.path_)), lock_fd_(o.lock_fd_) {
  o.lock_fd_ = -1;
}

data_dir& data_dir::operator=(data_dir&& o) noexcept {
  if (this != &o) {
    if (lock_fd_ >= 0) ::close(lock_fd_);
    path_ = std::move(o.path_);
    lock_fd_ = o.lock_fd_;
    o.lock_fd_ = -1;
  }
  return *this;
}

// Closing the descriptor releases the lock; the LOCK file stays (removing it would race a new
// opener that already holds a descriptor to it).
data_dir::~data_dir() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

}  // namespace cluster
