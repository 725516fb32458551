#pragma once
// A real etcd for a test: 1 or 3 members started from Debian's etcd binary (`make deps` unpacks
// it into .deps/), each listening on unix sockets in a fresh temporary directory (no ports, so
// tests never clash with each other or with an etcd the machine runs on 2379). Started with short
// raft timers (heartbeat 50 ms, election 500 ms) and auto-compaction; stopped and removed when the
// object goes away.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "system/process.hpp"

namespace testkit {

class etcd_cluster {
 public:
  // Starts `members` members and waits (up to 20 s) until each answers. `name` keeps the
  // temporary directories of concurrent tests apart.
  etcd_cluster(const std::string& etcd_binary, const std::string& name, int members = 1);
  ~etcd_cluster();
  etcd_cluster(const etcd_cluster&) = delete;
  etcd_cluster& operator=(const etcd_cluster&) = delete;

  // The --cluster address for citytwin: every member's client socket.
  std::string url() const;
  // One member's client socket, as etcd+unix://PATH.
  std::string member_url(int member) const;
  int members() const { return static_cast<int>(members_.size()); }

  // SIGKILL of one member, and a restart of it on its data directory.
  void kill(int member);
  void restart(int member);
  // SIGSTOP / SIGCONT of one member.
  void pause(int member);
  void resume(int member);
  bool running(int member);
  // The member that is raft leader now, or -1 when none answers as leader.
  int leader();
  // What a member wrote (for a failing test's message).
  std::string log(int member) const;

 private:
  struct member;
  void start(int index);
  bool answers(int index);
  std::string binary_;
  std::string dir_;
  std::vector<std::unique_ptr<member>> members_;
};

// The etcd binary the tests use, or "" (then the caller reports a skip through have_tool).
std::string etcd_binary();

}  // namespace testkit
