#include "cluster/curve.hpp"

#include <sys/stat.h>

#include <zmq.h>
#include <algorithm>
#include <fstream>

namespace cluster {

namespace {

constexpr std::string_view z85_alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

std::string trimmed(const std::string& line) {
  const auto first = line.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  const auto last = line.find_last_not_of(" \t\r");
  return line.substr(first, last - first + 1);
}

twin::expected<std::monostate, std::string> write_file(const std::filesystem::path& path,
                                                       const std::string& text, mode_t mode,
                                                       bool force) {
  std::error_code ec;
  if (!force && std::filesystem::exists(path, ec))
    return twin::unexpected{path.string() + " exists: not replaced (--force replaces it)"};
  std::filesystem::remove(path, ec);
  // Created with its mode, so that a secret is never readable by others, not even briefly.
  const mode_t old_mask = ::umask(0077);
  std::ofstream out(path, std::ios::trunc);
  ::umask(old_mask);
  if (!out) return twin::unexpected{"cannot write " + path.string()};
  out << text;
  out.close();
  if (!out) return twin::unexpected{"cannot write " + path.string()};
  if (::chmod(path.c_str(), mode) != 0)
    return twin::unexpected{"cannot set the mode of " + path.string()};
  return std::monostate{};
}

}  // namespace

std::string_view to_string(curve_refusal r) {
  switch (r) {
    case curve_refusal::unknown_key:
      return "unknown_key";
    case curve_refusal::mechanism:
      return "mechanism";
    case curve_refusal::crypto:
      return "crypto";
    case curve_refusal::dropped:
      return "dropped";
    case curve_refusal::protocol:
      return "protocol";
  }
  return "?";
}

curve_key_pair curve_generate_key_pair() {
  char pub[curve_key_z85_chars + 1] = {};
  char sec[curve_key_z85_chars + 1] = {};
  const int rc = zmq_curve_keypair(pub, sec);
  TWIN_CHECK_OP(rc, ==, 0);  // fails only in a ZeroMQ built without CURVE
  return {pub, sec};
}

bool is_curve_key(std::string_view text) {
  if (text.size() != curve_key_z85_chars) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return z85_alphabet.find(c) != std::string_view::npos; });
}

twin::expected<std::string, std::string> curve_public_of(const std::string& secret_z85) {
  if (!is_curve_key(secret_z85))
    return twin::unexpected{std::string("not a CURVE secret key (40 characters of Z85)")};
  char pub[curve_key_z85_chars + 1] = {};
  if (zmq_curve_public(pub, secret_z85.c_str()) != 0)
    return twin::unexpected{std::string("not a CURVE secret key: ") + zmq_strerror(zmq_errno())};
  return std::string(pub);
}

twin::expected<std::monostate, std::string> write_curve_key_pair(
    const std::filesystem::path& basename, const curve_key_pair& keys, bool force) {
  auto secret = basename;
  secret += ".key";
  auto pub = basename;
  pub += ".pub";
  std::error_code ec;
  if (!force) {
    for (const auto& p : {secret, pub})
      if (std::filesystem::exists(p, ec))
        return twin::unexpected{p.string() + " exists: not replaced (--force replaces it)"};
  }
  if (auto r = write_file(
          secret,
          "# CURVE secret key of citytwin: keep it to this machine\n" + keys.secret_z85 + "\n",
          0600, force);
      !r)
    return r;
  return write_file(pub, "# CURVE public key of citytwin\n" + keys.public_z85 + "\n", 0644, force);
}

twin::expected<std::vector<std::string>, std::string> read_curve_keys(
    const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return twin::unexpected{"cannot read " + path.string()};
  std::vector<std::string> keys;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    const auto text = trimmed(line);
    if (text.empty() || text.front() == '#') continue;
    if (!is_curve_key(text))
      return twin::unexpected{path.string() + ":" + std::to_string(number) +
                              ": not a CURVE key (40 characters of Z85), got " +
                              std::to_string(text.size()) + " characters"};
    if (keys.size() >= curve_allow_keys_max)
      return twin::unexpected{path.string() + ":" + std::to_string(number) + ": more than " +
                              std::to_string(curve_allow_keys_max) + " keys"};
    keys.push_back(text);
  }
  return keys;
}

twin::expected<std::string, std::string> read_curve_key(const std::filesystem::path& path) {
  auto keys = read_curve_keys(path);
  if (!keys) return twin::unexpected{keys.error()};
  if (keys->size() != 1)
    return twin::unexpected{path.string() + ": holds " + std::to_string(keys->size()) +
                            " keys, a key file holds one"};
  return keys->front();
}

twin::expected<std::string, std::string> curve_key_from_argument(const std::string& argument) {
  std::error_code ec;
  if (is_curve_key(argument) && !std::filesystem::exists(argument, ec)) return argument;
  return read_curve_key(argument);
}

twin::expected<std::optional<curve_client_keys>, std::string> curve_client_keys_from(
    const std::string& server_key, const std::string& secret_file) {
  if (server_key.empty() && secret_file.empty()) return std::optional<curve_client_keys>{};
  if (server_key.empty())
    return twin::unexpected{
        std::string("--curve-secret needs --curve-server-key (the node's key)")};
  curve_client_keys keys;
  auto server = curve_key_from_argument(server_key);
  if (!server) return twin::unexpected{"--curve-server-key: " + server.error()};
  keys.server_public_z85 = std::move(*server);
  if (secret_file.empty()) {
    // A key of its own for this run: the node lets it in only if its allow-list has it.
    keys.own = curve_generate_key_pair();
  } else {
    auto secret = read_curve_key(secret_file);
    if (!secret) return twin::unexpected{secret.error()};
    auto pub = curve_public_of(*secret);
    if (!pub) return twin::unexpected{secret_file + ": " + pub.error()};
    keys.own = {std::move(*pub), std::move(*secret)};
  }
  return std::optional<curve_client_keys>{std::move(keys)};
}

std::string curve_timeout_hint(bool curve) {
  return curve ? " (is this client's public key on the node's allow-list, and is the server key "
                 "the node's?)"
               : " (the node may require CURVE keys: --curve-server-key and --curve-secret)";
}

curve_allow_list::curve_allow_list(std::vector<std::string> keys) {
  replace(std::move(keys));
}

twin::expected<std::vector<std::string>, std::string> curve_allow_list::read(
    const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return read_curve_keys(path);
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec))
    if (entry.path().extension() == ".pub") files.push_back(entry.path());
  if (ec) return twin::unexpected{"cannot list " + path.string() + ": " + ec.message()};
  std::sort(files.begin(), files.end());
  std::vector<std::string> keys;
  for (const auto& f : files) {
    if (keys.size() >= curve_allow_keys_max)
      return twin::unexpected{path.string() + ": more than " +
                              std::to_string(curve_allow_keys_max) + " keys"};
    auto key = read_curve_key(f);
    if (!key) return twin::unexpected{key.error()};
    keys.push_back(std::move(*key));
  }
  return keys;
}

bool curve_allow_list::allows(const std::string& public_z85) const {
  std::lock_guard lock(mutex_);
  return keys_.count(public_z85) > 0;
}

std::size_t curve_allow_list::size() const {
  std::lock_guard lock(mutex_);
  return keys_.size();
}

void curve_allow_list::replace(std::vector<std::string> keys) {
  std::set<std::string> fresh(std::make_move_iterator(keys.begin()),
                              std::make_move_iterator(keys.end()));
  std::lock_guard lock(mutex_);
  keys_.swap(fresh);
}

}  // namespace cluster
