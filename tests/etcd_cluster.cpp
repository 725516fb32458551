#include "etcd_cluster.hpp"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "cluster/etcd_store.hpp"

namespace testkit {

namespace {
// Unix socket URLs of etcd must look like host:port and are relative to its working directory.
std::string client_socket(int i) {
  return "m" + std::to_string(i) + "-client:1";
}
std::string peer_socket(int i) {
  return "m" + std::to_string(i) + "-peer:1";
}
}  // namespace

struct etcd_cluster::member {
  std::unique_ptr<systest::process> proc;
};

std::string etcd_binary() {
  namespace fs = std::filesystem;
#ifdef CITYTWIN_ETCD
  if (std::string configured = CITYTWIN_ETCD; !configured.empty() && fs::exists(configured))
    return configured;
#endif
  return "";
}

etcd_cluster::etcd_cluster(const std::string& etcd_binary, const std::string& name, int members)
    : binary_(etcd_binary) {
  dir_ = systest::make_temp_dir("etcd-" + name);
  members_.resize(static_cast<std::size_t>(members));
  for (int i = 0; i < members; ++i)
    members_[static_cast<std::size_t>(i)] = std::make_unique<member>();
  for (int i = 0; i < members; ++i) start(i);
  for (int i = 0; i < members; ++i)
    if (!systest::poll_until([&] { return answers(i); }, std::chrono::seconds(20)))
      throw std::runtime_error("etcd member " + std::to_string(i) +
                               " did not answer within 20 s: " + log(i));
  // A write goes through only once a leader is elected.
  cluster::coord::etcd_store store({cluster::coord::parse_etcd_url(url()).value()});
  if (!systest::poll_until([&] { return store.put("/ready", "1").has_value(); },
                           std::chrono::seconds(20)))
    throw std::runtime_error("etcd elected no leader within 20 s: " + log(0));
}

etcd_cluster::~etcd_cluster() {
  for (auto& m : members_)
    if (m->proc) {
      ::kill(m->proc->pid(), SIGCONT);  // a paused member could not act on the SIGTERM
      m->proc.reset();
    }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void etcd_cluster::start(int index) {
  std::string initial;
  for (int i = 0; i < members(); ++i)
    initial += (i ? "," : "") + ("m" + std::to_string(i)) + "=unix://" + peer_socket(i);
  std::string name = "m" + std::to_string(index);
  std::vector<std::string> argv{binary_,
                                "--name=" + name,
                                "--data-dir=" + name + ".data",
                                "--listen-client-urls=unix://" + client_socket(index),
                                "--advertise-client-urls=unix://" + client_socket(index),
                                "--listen-peer-urls=unix://" + peer_socket(index),
                                "--initial-advertise-peer-urls=unix://" + peer_socket(index),
                                "--initial-cluster=" + initial,
                                "--initial-cluster-state=new",
                                "--heartbeat-interval=50",
                                "--election-timeout=500",
                                "--auto-compaction-mode=revision",
                                "--auto-compaction-retention=1000",
                                "--logger=zap",
                                "--log-level=warn"};
  auto& m = *members_[static_cast<std::size_t>(index)];
  m.proc = std::make_unique<systest::process>(argv, dir_ + "/" + name + ".log", 0, dir_);
}

bool etcd_cluster::answers(int index) {
  if (!std::filesystem::exists(dir_ + "/" + client_socket(index))) return false;
  cluster::coord::etcd_store store({cluster::coord::parse_etcd_url(member_url(index)).value()});
  return store.status(0).has_value();
}

std::string etcd_cluster::url() const {
  // etcd+unix takes one socket; several members go as a list the store tries in turn.
  std::string out;
  for (int i = 0; i < members(); ++i) out += (i ? "," : "") + member_url(i);
  return out;
}

std::string etcd_cluster::member_url(int member) const {
  return "etcd+unix://" + dir_ + "/" + client_socket(member);
}

void etcd_cluster::kill(int member) {
  auto& m = *members_[static_cast<std::size_t>(member)];
  if (m.proc) {
    ::kill(m.proc->pid(), SIGKILL);
    m.proc->wait(std::chrono::seconds(10));
    m.proc.reset();
  }
}

void etcd_cluster::restart(int member) {
  std::filesystem::remove(dir_ + "/" + client_socket(member));
  std::filesystem::remove(dir_ + "/" + peer_socket(member));
  start(member);
  if (!systest::poll_until([&] { return answers(member); }, std::chrono::seconds(20)))
    throw std::runtime_error("etcd member " + std::to_string(member) +
                             " did not answer within 20 s after a restart: " + log(member));
}

void etcd_cluster::pause(int member) {
  ::kill(members_[static_cast<std::size_t>(member)]->proc->pid(), SIGSTOP);
}

void etcd_cluster::resume(int member) {
  ::kill(members_[static_cast<std::size_t>(member)]->proc->pid(), SIGCONT);
}

bool etcd_cluster::running(int member) {
  auto& m = *members_[static_cast<std::size_t>(member)];
  return m.proc && m.proc->running();
}

int etcd_cluster::leader() {
  for (int i = 0; i < members(); ++i) {
    if (!running(i)) continue;
    cluster::coord::etcd_options options{cluster::coord::parse_etcd_url(member_url(i)).value()};
    options.request_timeout = std::chrono::milliseconds(300);
    cluster::coord::etcd_store store(options);
    if (auto s = store.status(0); s && s->is_leader()) return i;
  }
  return -1;
}

std::string etcd_cluster::log(int member) const {
  std::string name = "m" + std::to_string(member);
  return systest::read_file(dir_ + "/" + name + ".log") +
         systest::read_file(dir_ + "/" + name + ".log.err");
}

}  // namespace testkit
