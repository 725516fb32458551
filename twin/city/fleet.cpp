#include "twin/city/fleet.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <set>
#include <sstream>
#include <tuple>

#include "twin/base/check.hpp"

namespace twin {

namespace {

constexpr std::array<std::string_view, vehicle_category_count> category_names{
    "car", "taxi", "light_goods", "heavy_goods", "bus", "motorcycle", "moped"};
constexpr std::array<std::string_view, fuel_count> fuel_names{"petrol", "diesel", "lpg",
                                                              "cng",    "hybrid", "electric"};
constexpr std::array<std::string_view, euro_standard_count> standard_names{
    "pre_euro", "euro_1", "euro_2", "euro_3", "euro_4", "euro_5", "euro_6"};

template <class E, std::size_t N>
std::string_view name_of(const std::array<std::string_view, N>& names, E e) {
  auto i = static_cast<std::size_t>(e);
  TWIN_REQUIRE_OP(i, <, N);
  return names[i];
}

template <class E, std::size_t N>
std::optional<E> find_name(const std::array<std::string_view, N>& names, std::string_view text) {
  for (std::size_t i = 0; i < N; ++i)
    if (names[i] == text) return static_cast<E>(i);
  return std::nullopt;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

}  // namespace

std::string_view to_string(vehicle_category c) {
  return name_of(category_names, c);
}
std::string_view to_string(fuel f) {
  return name_of(fuel_names, f);
}
std::string_view to_string(euro_standard s) {
  return name_of(standard_names, s);
}

std::optional<vehicle_category> parse_vehicle_category(std::string_view text) {
  return find_name<vehicle_category>(category_names, text);
}

std::optional<fuel> parse_fuel(std::string_view text) {
  return find_name<fuel>(fuel_names, text);
}

std::optional<euro_standard> parse_euro_standard(std::string_view text) {
  auto s = lower(text);
  if (auto e = find_name<euro_standard>(standard_names, s)) return e;
  if (s == "pre" || s == "pre-euro" || s == "conventional") return euro_standard::pre_euro;
  // "euro_vi", "euro6", "euro-6", "euro 6", "6", "vi".
  for (std::string_view prefix : {"euro_", "euro-", "euro ", "euro"})
    if (s.starts_with(prefix)) {
      s.erase(0, prefix.size());
      break;
    }
  constexpr std::array<std::string_view, 6> roman{"i", "ii", "iii", "iv", "v", "vi"};
  for (std::size_t i = 0; i < roman.size(); ++i)
    if (s == roman[i] || s == std::to_string(i + 1)) return static_cast<euro_standard>(i + 1);
  return std::nullopt;
}

double total_share(const fleet_mix& mix) {
  double sum = 0;
  for (const auto& s : mix.shares) sum += s.share;
  return sum;
}

double category_share(const fleet_mix& mix, vehicle_category c) {
  double sum = 0;
  for (const auto& s : mix.shares)
    if (s.category == c) sum += s.share;
  return sum;
}

std::optional<std::string> validate(const fleet_mix& mix) {
  if (mix.shares.empty()) return "a fleet needs at least one vehicle kind";
  std::set<std::tuple<vehicle_category, fuel, euro_standard>> seen;
  for (const auto& s : mix.shares) {
    if (!std::isfinite(s.share) || s.share < 0)
      return "the share of " + std::string(to_string(s.category)) + " " +
             std::string(to_string(s.f)) + " " + std::string(to_string(s.standard)) +
             " must be a number >= 0";
    if (!seen.emplace(s.category, s.f, s.standard).second)
      return "duplicate vehicle kind " + std::string(to_string(s.category)) + " " +
             std::string(to_string(s.f)) + " " + std::string(to_string(s.standard));
  }
  double sum = total_share(mix);
  if (std::abs(sum - 1.0) > fleet_share_tolerance) {
    std::ostringstream os;
    os << "shares sum to " << sum << ", not 1 (tolerance " << fleet_share_tolerance << ")";
    return os.str();
  }
  return std::nullopt;
}

fleet_mix default_fleet_mix() {
  using c = vehicle_category;
  using f = fuel;
  using e = euro_standard;
  // Category totals: cars 0.78, vans 0.10, lorries 0.03, buses 0.02, motorcycles 0.05,
  // mopeds 0.02 of the vehicle-km, the order of magnitude of European urban traffic counts; the
  // split over standards follows a fleet renewed over ~15 years.
  return fleet_mix{{
      {c::car, f::petrol, e::euro_4, 0.10},         {c::car, f::petrol, e::euro_5, 0.12},
      {c::car, f::petrol, e::euro_6, 0.20},         {c::car, f::diesel, e::euro_4, 0.06},
      {c::car, f::diesel, e::euro_5, 0.10},         {c::car, f::diesel, e::euro_6, 0.12},
      {c::car, f::hybrid, e::euro_6, 0.05},         {c::car, f::electric, e::euro_6, 0.03},
      {c::light_goods, f::diesel, e::euro_4, 0.03}, {c::light_goods, f::diesel, e::euro_5, 0.03},
      {c::light_goods, f::diesel, e::euro_6, 0.04}, {c::heavy_goods, f::diesel, e::euro_4, 0.01},
      {c::heavy_goods, f::diesel, e::euro_5, 0.01}, {c::heavy_goods, f::diesel, e::euro_6, 0.01},
      {c::bus, f::diesel, e::euro_5, 0.01},         {c::bus, f::diesel, e::euro_6, 0.01},
      {c::motorcycle, f::petrol, e::euro_3, 0.02},  {c::motorcycle, f::petrol, e::euro_4, 0.03},
      {c::moped, f::petrol, e::euro_3, 0.01},       {c::moped, f::petrol, e::euro_4, 0.01},
  }};
}

}  // namespace twin
