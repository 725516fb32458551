#include "twin/live/reading.hpp"

#include "twin/base/check.hpp"
#include "twin/live/services.hpp"

namespace twin {

std::string_view to_string(reject_reason r) {
  switch (r) {
    case reject_reason::unknown_sensor:
      return "unknown_sensor";
    case reject_reason::non_finite:
      return "non_finite";
    case reject_reason::out_of_range:
      return "out_of_range";
    case reject_reason::too_old:
      return "too_old";
    case reject_reason::too_new:
      return "too_new";
    case reject_reason::duplicate:
      return "duplicate";
    case reject_reason::out_of_order:
      return "out_of_order";
    case reject_reason::overloaded:
      return "overloaded";
    case reject_reason::malformed:
      return "malformed";
    case reject_reason::wrong_version:
      return "wrong_version";
    case reject_reason::too_late:
      return "too_late";
    case reject_reason::stopping:
      return "stopping";
    case reject_reason::wrong_city:
      return "wrong_city";
    case reject_reason::storage_unavailable:
      return "storage_unavailable";
  }
  return "?";
}

std::string_view to_string(ack_status s) {
  switch (s) {
    case ack_status::applied:
      return "applied";
    case ack_status::duplicate:
      return "duplicate";
    case ack_status::overloaded:
      return "overloaded";
    case ack_status::malformed:
      return "malformed";
    case ack_status::wrong_version:
      return "wrong_version";
    case ack_status::stopping:
      return "stopping";
    case ack_status::wrong_city:
      return "wrong_city";
    case ack_status::storage_unavailable:
      return "storage_unavailable";
  }
  return "?";
}

std::string_view to_string(frame_drop d) {
  switch (d) {
    case frame_drop::no_payload:
      return "no_payload";
  }
  return "?";
}

std::uint64_t reject_counts::total() const {
  std::uint64_t n = 0;
  for (auto c : by_reason) n += c;
  return n;
}

reject_counts& reject_counts::operator+=(const reject_counts& other) {
  for (std::size_t i = 0; i < reject_reason_count; ++i) by_reason[i] += other.by_reason[i];
  return *this;
}

reject_reason refusal_reason(ack_status status) {
  switch (status) {
    case ack_status::overloaded:
      return reject_reason::overloaded;
    case ack_status::malformed:
      return reject_reason::malformed;
    case ack_status::wrong_version:
      return reject_reason::wrong_version;
    case ack_status::stopping:
      return reject_reason::stopping;
    case ack_status::wrong_city:
      return reject_reason::wrong_city;
    case ack_status::storage_unavailable:
      return reject_reason::storage_unavailable;
    case ack_status::applied:
    case ack_status::duplicate:
      break;
  }
  TWIN_CHECK(!"a refusal is neither applied nor duplicate");
  return reject_reason::malformed;
}

batch_ack refusal_ack(const batch_key& key, ack_status status, std::uint32_t readings,
                      std::string message) {
  batch_ack ack;
  ack.key = key;
  ack.status = status;
  ack.rejected[refusal_reason(status)] = readings;
  ack.message = std::move(message);
  return ack;
}

}  // namespace twin
