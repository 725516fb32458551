#pragma once

// CURVE keys for the node's sockets: key pairs, key files, the allow-list of client keys, and
// the keys a server or a client is configured with. ZeroMQ stays in the .cpp.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "twin/base/expected.hpp"

namespace cluster {

// A CURVE key as text: 40 characters of Z85 (32 bytes).
inline constexpr std::size_t curve_key_z85_chars = 40;
// Client keys an allow-list may hold: a longer list is a mistake (or a folder of other files).
inline constexpr std::size_t curve_allow_keys_max = 100000;

struct curve_key_pair {
  std::string public_z85;
  std::string secret_z85;
};

// A fresh key pair (libsodium's random source, through ZeroMQ).
curve_key_pair curve_generate_key_pair();
// True when `text` is a Z85 CURVE key (40 characters of the Z85 alphabet).
bool is_curve_key(std::string_view text);
// The public key of a secret key; an error when `secret_z85` is not a key.
twin::expected<std::string, std::string> curve_public_of(const std::string& secret_z85);

// Writes BASENAME.key (the secret key, mode 0600) and BASENAME.pub (the public key), each a
// comment line and the key. Refuses to replace an existing file unless `force`.
twin::expected<std::monostate, std::string> write_curve_key_pair(
    const std::filesystem::path& basename, const curve_key_pair& keys, bool force);

// The keys of a key file: one Z85 key per line; blank lines and `#` comments are skipped. Errors
// name the file and the line ("clients.txt:3: not a CURVE key ...").
twin::expected<std::vector<std::string>, std::string> read_curve_keys(
    const std::filesystem::path& path);
// A file holding exactly one key (a .key or .pub file).
twin::expected<std::string, std::string> read_curve_key(const std::filesystem::path& path);
// A key given on the command line: a Z85 key as is, or else the file holding one.
twin::expected<std::string, std::string> curve_key_from_argument(const std::string& argument);

// The client keys a server lets in: a file of keys, or a folder whose *.pub files hold one key
// each. Thread-safe: the ZAP handlers read it while a reload replaces it.
class curve_allow_list {
 public:
  curve_allow_list() = default;
  explicit curve_allow_list(std::vector<std::string> keys);

  // Reads `path` (file or folder); errors name the file and line.
  static twin::expected<std::vector<std::string>, std::string> read(
      const std::filesystem::path& path);

  bool allows(const std::string& public_z85) const;
  std::size_t size() const;
  void replace(std::vector<std::string> keys);

 private:
  mutable std::mutex mutex_;
  std::set<std::string> keys_;
};

// Handshakes a CURVE server refused, by reason; a label value each.
enum class curve_refusal : std::uint8_t {
  unknown_key,  // a CURVE client whose public key is not on the allow-list
  mechanism,    // a client without CURVE (plain) or with another mechanism
  crypto,       // a CURVE handshake that did not decrypt: the client has another server key
  dropped,      // the connection closed during the handshake (often a plain client that saw
                // the mismatch first; also a port probe)
  protocol,     // any other broken handshake
};
inline constexpr std::size_t curve_refusal_count = 5;
std::string_view to_string(curve_refusal r);

// Told of every refused handshake, from a server's I/O thread.
class curve_observer {
 public:
  virtual ~curve_observer() = default;
  virtual void refused(curve_refusal reason) = 0;
};

// A server's keys: its own secret (the public one is derived) and the client keys it lets in.
struct curve_server_keys {
  std::string secret_z85;
  std::shared_ptr<curve_allow_list> allowed;  // shared with whoever reloads it
};

// A client's keys: the server's public key and its own pair (a fresh one when none is given).
struct curve_client_keys {
  std::string server_public_z85;
  curve_key_pair own;
};

// A client's keys from its flags: the server's key (a Z85 key or a file holding one) and the
// client's own secret key file (a fresh pair when empty). Nothing when both are empty (plain
// TCP); an error naming the flag or the file otherwise.
twin::expected<std::optional<curve_client_keys>, std::string> curve_client_keys_from(
    const std::string& server_key, const std::string& secret_file);

// What a client adds to "no answer in time": the likely reason when it connected plain.
std::string curve_timeout_hint(bool curve);

}  // namespace cluster
