#include "node.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace systest {

cli_result run_cli(const std::string& dir, const std::string& name, std::vector<std::string> args,
                   std::chrono::milliseconds timeout) {
  args.insert(args.begin(), citytwin_bin);
  process p(args, dir + "/" + name + ".out");
  cli_result r;
  r.code = p.wait(timeout);
  if (r.code == -2) p.stop();
  r.output = p.output();
  r.errors = p.errors();
  return r;
}

node_process::node_process(const std::string& dir, const std::string& city,
                           std::vector<std::string> extra, std::uint64_t file_size_max) {
  std::vector<std::string> args{citytwin_bin,   "node",
                                "--city",       city,
                                "--ingest",     "tcp://127.0.0.1:0",
                                "--query",      "tcp://127.0.0.1:0",
                                "--metrics",    "127.0.0.1:0",
                                "--ready-file", dir + "/ready.json"};
  args.insert(args.end(), extra.begin(), extra.end());
  std::filesystem::remove(dir + "/ready.json");
  proc = std::make_unique<process>(args, dir + "/node.out", file_size_max);
  poll_until([&] { return !read_file(dir + "/ready.json").empty() || !proc->running(); }, 20s);
  auto text = read_file(dir + "/ready.json");
  if (text.empty()) return;
  auto j = nlohmann::json::parse(text);
  ingest = j["ingest"];
  query = j["query"];
  std::string m = j["metrics"];
  metrics_port = std::stoi(m.substr(m.rfind(':') + 1));
  ready = true;
}

std::string node_process::metrics() const {
  return http_get(metrics_port, "/metrics");
}

double series(const std::string& text, const std::string& name) {
  std::size_t pos = 0;
  while ((pos = text.find(name, pos)) != std::string::npos) {
    bool line_start = pos == 0 || text[pos - 1] == '\n';
    auto after = pos + name.size();
    if (line_start && after < text.size() && text[after] == ' ')
      return std::stod(text.substr(after + 1, text.find('\n', after) - after - 1));
    pos = after;
  }
  return std::nan("");
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

}  // namespace systest
