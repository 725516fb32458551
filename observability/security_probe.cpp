#include "observability/security_probe.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <string>

#include "observability/metrics.hpp"
#include "twin/base/check.hpp"

namespace observability {

std::string_view to_string(secured_socket s) {
  switch (s) {
    case secured_socket::ingest:
      return "ingest";
    case secured_socket::query:
      return "query";
  }
  return "?";
}

std::string_view to_string(security_refusal r) {
  switch (r) {
    case security_refusal::unknown_key:
      return "unknown_key";
    case security_refusal::mechanism:
      return "mechanism";
    case security_refusal::crypto:
      return "crypto";
    case security_refusal::dropped:
      return "dropped";
    case security_refusal::protocol:
      return "protocol";
  }
  return "?";
}

security_probe::security_probe(metrics_registry& registry) {
  auto& reg = registry.native();
  curve_ =
      &prometheus::BuildGauge()
           .Name("citytwin_security_curve")
           .Help("1 when the ingest and query sockets require CURVE, 0 when they are plain TCP.")
           .Register(reg)
           .Add({});
  allowed_keys_ = &prometheus::BuildGauge()
                       .Name("citytwin_security_allowed_keys")
                       .Help("Client public keys on the allow-list (0 in plain TCP).")
                       .Register(reg)
                       .Add({});
  auto& refusals =
      prometheus::BuildCounter()
          .Name("citytwin_security_refusals_total")
          .Help(
              "Handshakes refused by a CURVE socket, by socket and reason: unknown_key (not on "
              "the allow-list), mechanism (a plain client), crypto (another server key), dropped "
              "(closed during the handshake, often a plain client), protocol (anything else).")
          .Register(reg);
  for (std::size_t s = 0; s < secured_socket_count; ++s)
    for (std::size_t r = 0; r < security_refusal_count; ++r)
      refusals_[s][r] =
          &refusals.Add({{"socket", std::string(to_string(static_cast<secured_socket>(s)))},
                         {"reason", std::string(to_string(static_cast<security_refusal>(r)))}});
}

void security_probe::mode(bool curve, std::size_t allowed_keys) {
  curve_->Set(curve ? 1 : 0);
  allowed_keys_->Set(static_cast<double>(allowed_keys));
}

void security_probe::refused(secured_socket socket, security_refusal reason) {
  const auto s = static_cast<std::size_t>(socket);
  const auto r = static_cast<std::size_t>(reason);
  TWIN_CHECK_OP(s, <, secured_socket_count);
  TWIN_CHECK_OP(r, <, security_refusal_count);
  refusals_[s][r]->Increment();
}

}  // namespace observability
