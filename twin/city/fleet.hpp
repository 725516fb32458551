#pragma once

// The vehicles on a city's roads, as shares of the vehicle-km: what the emission and noise models
// weigh their per-vehicle factors by. Kept free of the city model so that city.hpp can include it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace twin {

// Vehicle classes of the road-transport chapters of the EMEP/EEA Guidebook (1.A.3.b.i-iv), with
// taxis apart from private cars because cities regulate them apart (taxis use the passenger-car
// factors). Files and the CLI use the names of to_string.
enum class vehicle_category : std::uint8_t {
  car,          // passenger car (M1)
  taxi,         // passenger car (M1) in taxi service
  light_goods,  // van, N1, up to 3.5 t
  heavy_goods,  // lorry, N2/N3, above 3.5 t
  bus,          // urban bus and coach (M2/M3)
  motorcycle,   // L3e, above 50 cm3
  moped,        // L1e/L2e, up to 50 cm3 and 45 km/h
};
inline constexpr std::size_t vehicle_category_count = 7;

// Energy carriers. `hybrid` is a petrol full hybrid (it burns petrol; the emission model has its
// own NOx and fuel rows, see emission.cpp); `electric` has no exhaust.
enum class fuel : std::uint8_t { petrol, diesel, lpg, cng, hybrid, electric };
inline constexpr std::size_t fuel_count = 6;

// Exhaust standards: Euro 1-6 for light vehicles, I-VI for heavy ones (same order). Motorcycles and
// mopeds use Euro 1-5 (euro_6 is read as Euro 5 there). Ignored for electric vehicles.
enum class euro_standard : std::uint8_t {
  pre_euro,
  euro_1,
  euro_2,
  euro_3,
  euro_4,
  euro_5,
  euro_6
};
inline constexpr std::size_t euro_standard_count = 7;

std::string_view to_string(vehicle_category c);  // "car", "light_goods", ...
std::string_view to_string(fuel f);              // "petrol", "electric", ...
std::string_view to_string(euro_standard s);     // "pre_euro", "euro_1" ... "euro_6"
std::optional<vehicle_category> parse_vehicle_category(std::string_view text);
std::optional<fuel> parse_fuel(std::string_view text);
// Also accepts "euro_vi", "euro6", "6", "VI" and "pre" (either case), as people write them.
std::optional<euro_standard> parse_euro_standard(std::string_view text);

// One kind of vehicle and its share of the vehicle-km driven on the city's roads.
struct fleet_share {
  vehicle_category category = vehicle_category::car;
  fuel f = fuel::petrol;
  euro_standard standard = euro_standard::euro_6;
  double share = 0;  // 0..1
};

// A fleet mix. A loaded mix has shares that sum to 1 (within fleet_share_tolerance), no negative
// share and no duplicate (category, fuel, standard); policies keep that true.
struct fleet_mix {
  std::vector<fleet_share> shares;
};

inline constexpr double fleet_share_tolerance = 1e-3;

double total_share(const fleet_mix& mix);
// The share of the vehicle-km driven by one category (all fuels and standards).
double category_share(const fleet_mix& mix, vehicle_category c);

// Why a mix is not valid ("shares sum to 0.9, not 1"), or nothing when it is.
std::optional<std::string> validate(const fleet_mix& mix);

// The mix of a bundle that has no fleet file: a generic urban mix of a recent European fleet
// (cars 78 %, vans 10 %, lorries 3 %, buses 2 %, motorcycles 5 %, mopeds 2 % of the vehicle-km;
// each category split over fuels and standards as written in fleet.cpp). It is a placeholder,
// not a measurement: a city bundle should carry its own fleet.csv.
fleet_mix default_fleet_mix();

}  // namespace twin
