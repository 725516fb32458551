#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "observability/fwd.hpp"

namespace prometheus {
class Counter;
class Gauge;
}  // namespace prometheus

namespace observability {

// The node's sockets that may require CURVE; a label value each.
enum class secured_socket : std::uint8_t { ingest, query };
inline constexpr std::size_t secured_socket_count = 2;
std::string_view to_string(secured_socket s);

// Why a handshake was refused; a label value each (the transport's reasons, in its order).
enum class security_refusal : std::uint8_t { unknown_key, mechanism, crypto, dropped, protocol };
inline constexpr std::size_t security_refusal_count = 5;
std::string_view to_string(security_refusal r);

// Metrics of the sockets' security: the mode, the allowed client keys, refused handshakes.
// Thread-safe.
class security_probe {
 public:
  explicit security_probe(metrics_registry& registry);

  void mode(bool curve, std::size_t allowed_keys);
  void refused(secured_socket socket, security_refusal reason);

 private:
  prometheus::Gauge* curve_ = nullptr;
  prometheus::Gauge* allowed_keys_ = nullptr;
  std::array<std::array<prometheus::Counter*, security_refusal_count>, secured_socket_count>
      refusals_{};
};

}  // namespace observability
