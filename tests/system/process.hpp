#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace systest {

// A child process started for a test. Its stdout goes to a file (stderr to the same name + .err);
// it is killed (SIGTERM, then SIGKILL) when the object goes away, so a failing test never leaves
// processes behind.
class process {
 public:
  // file_size_max: RLIMIT_FSIZE of the child (0: none), to make its writes fail with EFBIG.
  // working_dir: where the child starts ("" = here).
  process(const std::vector<std::string>& argv, const std::string& output_path,
          std::uint64_t file_size_max = 0, const std::string& working_dir = {});
  ~process();
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  // Sends SIGTERM and waits up to `timeout`. Returns the exit code, or -1 if it had to be killed
  // or died from a signal.
  int stop(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));
  // Waits for the process to exit by itself, up to `timeout`. -2 on timeout.
  int wait(std::chrono::milliseconds timeout);
  // What it wrote to stdout, and to stderr.
  std::string output() const;
  std::string errors() const;

 private:
  pid_t pid_ = -1;
  int exit_code_ = -3;
  std::string output_path_;
};

// Polls `ready` every few milliseconds until it is true or `timeout` passes.
bool poll_until(const std::function<bool()>& ready, std::chrono::milliseconds timeout);

// A minimal HTTP/1.0 GET on 127.0.0.1; the body, or "" on failure.
std::string http_get(int port, const std::string& path);

std::string read_file(const std::string& path);
// A fresh, empty temporary directory for one test.
std::string make_temp_dir(const std::string& name);

}  // namespace systest
