#pragma once

// Road-traffic emissions: hot exhaust emission factors per vehicle class (COPERT methodology of the
// EMEP/EEA air pollutant emission inventory guidebook, road transport 1.A.3.b.i-iv), non-exhaust
// PM2.5 (tyre, brake and road surface wear, 1.A.3.b.vi-vii), link emission rates and the fleet
// policies of the environmental scenarios.
//
// Exhaust factors are speed-dependent curves, g/km per vehicle (emission.cpp cites each table):
//  - passenger cars (and taxis), 1.4-2.0 l: NOx and PM of the Guidebook 2013 (update Sept. 2014)
//    Tables 3-41 (petrol) and 3-47 (diesel); diesel Euro 5 / 6 NOx and petrol Euro 6 NOx with the
//    full precision of the 2014 annex "equation 1", (a + cV + eV^2 + f/V) / (1 + bV + dV^2);
//    petrol fuel consumption of Table 3-41;
//  - from the hot emission factor annex of the Guidebook 2016, segment "Medium" (1.4-2.0 l): diesel
//    car energy consumption (to fuel at 43.0 MJ/kg), petrol car PM of Euro 1-4 (urban constants),
//    petrol full hybrids (NOx, energy), LPG cars (NOx, PM, energy) and CNG cars (energy; NOx and
//    PM the annex's LPG rows);
//  - vans: Tables 3-59 / 3-60 / 3-62 / 3-63 (diesel and petrol, conventional to Euro 4); diesel
//    Euro 5 and Euro 6 (NOx, PM, fuel) from the light-duty annex (Sept. 2014), "Diesel < 3.5 t",
//    10-110 km/h;
//  - lorries, every standard (NOx, PM, fuel): the heavy-duty annex (June 2012) of the Guidebook
//    2013, segment "Rigid 14 - 20 t" diesel (conventional, Euro I-III, IV EGR, V SCR, VI), 50 %
//    load, 0 % slope, 12-86 km/h;
//  - urban buses, every standard (NOx, PM, fuel): the same annex, segment "Urban Buses Standard
//    15 - 18 t" diesel (conventional, Euro I-III, IV EGR, V SCR, VI), 50 % load, 0 % slope,
//    11-86 km/h; CNG urban buses from the Guidebook 2019 annex, "Urban CNG Buses" (Euro I-III,
//    EEV);
//  - motorcycles: the Guidebook 2013 motorcycle curves, 4-stroke 50-250 cm3, conventional and
//    Euro 1-3 (fifth-degree polynomials in V, 10-100 km/h); Euro 4 and 5 NOx from the 2016 annex;
//  - mopeds: Tables 3-67 / 3-68 (speed-independent).
// Where this model carries no published curve it says so and uses a documented ASSUMPTION: hybrid
// PM as petrol, CNG cars older than Euro 4 on the Euro 4+ rows, petrol vans of Euro 5/6 and
// LPG/CNG/hybrid vans on the car curves, Euro 4/5 motorcycle fuel as Euro 3, CNG buses of Euro
// IV-VI as EEV, and gas/petrol lorries and LPG/petrol buses as diesel ones (fuel by energy). See
// emission.cpp and the README.
// Speeds are clamped to each curve's validity range (valid_speed_range): the curves are fitted to
// driving cycles between about 10 and 130 km/h (vans 110, motorcycles 100, urban buses 11-86,
// lorries 12-86) and diverge outside.
//
// CO2 is computed from fuel consumption (CO2 = 44.011 FC / (12.011 + 1.008 r_HC + 16 r_OC)):
// 3.169 g per g of diesel, 3.183 g per g of petrol, and the Guidebook's ratios for LPG and CNG.
// Electric vehicles emit no exhaust; every vehicle, electric included, gets non-exhaust PM2.5.

#include <functional>
#include <optional>

#include "twin/city/fleet.hpp"
#include "twin/env/types.hpp"

namespace twin::env {

// ---------------------------------------------------------------------------------------------
// Factors

// Hot exhaust emission factor of one vehicle of this kind at this mean speed, g/km per pollutant
// (NOx as NO2 mass, exhaust PM2.5, CO2 from the fuel burnt). The share of `vehicle` is ignored.
per_pollutant exhaust_factor_g_km(const fleet_share& vehicle, double speed_kmh);

// Fuel consumed per km by one vehicle at this mean speed, g/km (0 for electric).
double fuel_factor_g_km(const fleet_share& vehicle, double speed_kmh);

// g CO2 per g of fuel burnt (0 for electric).
double co2_per_g_fuel(fuel f);

// Non-exhaust PM2.5 (tyre + brake + road surface wear) per vehicle, g/km; only pm25 is non-zero.
// Guidebook 1.A.3.b.vi-vii Tier 1 factors, the same for every fuel (electric included).
per_pollutant non_exhaust_factor_g_km(vehicle_category category);

// The speeds an exhaust curve is valid for; exhaust_factor_g_km clamps to it.
struct speed_range {
  double min_kmh = 0;
  double max_kmh = 0;
};
speed_range valid_speed_range(const fleet_share& vehicle);

// The vehicle-km weighted mean over a mix: exhaust + non-exhaust per pollutant, and fuel, g/km per
// vehicle. Shares are used as they are (a mix summing to 0.8 gives 0.8 of a full fleet).
struct fleet_factor {
  per_pollutant g_km{};
  double fuel_g_km = 0;
};
fleet_factor fleet_factor_g_km(const fleet_mix& mix, double speed_kmh);

// ---------------------------------------------------------------------------------------------
// Links

// A link's emission rate: over the whole link (g/s) and per metre of it (g/m/s), as line sources
// need; fuel burnt over the link, g/s.
struct link_emission {
  per_pollutant g_s{};
  per_pollutant g_m_s{};
  double fuel_g_s = 0;
};

// flow_veh_h vehicles per hour at mean speed speed_kmh along length_m metres:
// g/s = flow / 3600 x factor (g/km) x length / 1000. Flow, speed and length must be >= 0 (checked);
// a zero flow or length gives zero emissions.
link_emission link_emissions(const fleet_mix& mix, double flow_veh_h, double speed_kmh,
                             double length_m);

// ---------------------------------------------------------------------------------------------
// Policies
//
// A policy maps a mix to a mix; the scenarios apply it to the links of chosen districts.
// A ban removes vehicle-km from the road: in a static model the simplest defensible rule is that
// the banned vehicles' trips on those links are not made there (not made at all, or rerouted
// outside the modelled area — out of scope). The result therefore carries the remaining share of
// the flow: the caller multiplies the links' flows by flow_factor and uses the returned mix,
// which is renormalised to sum to 1. Replacing vehicles (electrify, upgrades) keeps the flow.

struct policy_result {
  fleet_mix mix;             // sums to 1 (empty when everything was banned)
  double flow_factor = 1.0;  // the share of the flow left on the road, 0..1
};

// Which vehicles a ban or a cap addresses; an empty field matches everything.
struct vehicle_filter {
  std::optional<vehicle_category> category;
  std::optional<fuel> f;
  // Matches vehicles of a standard strictly older than this; never matches electric vehicles.
  std::optional<euro_standard> standard_below;

  bool matches(const fleet_share& vehicle) const;
};

// Bans the vehicles the filter matches.
policy_result ban(const fleet_mix& mix, const vehicle_filter& banned);
// Bans the vehicles a predicate selects.
policy_result ban(const fleet_mix& mix, const std::function<bool(const fleet_share&)>& banned);

// Caps the matched vehicles at `share_max` of the original traffic (0..1, checked): the excess
// leaves the road as in a ban.
policy_result cap(const fleet_mix& mix, const vehicle_filter& capped, double share_max);

// Moves `fraction` (0..1, checked) of the vehicle-km of every matched non-electric kind to
// electric vehicles of the same category (the flow is unchanged). With category empty, every
// category. The electric vehicles keep the Euro standard field of the newest merged entry.
fleet_mix electrify(const fleet_mix& mix, std::optional<vehicle_category> category,
                    double fraction);

// A low-emission zone: combustion vehicles older than `minimum` may not enter. Either they stay
// out (their vehicle-km leave, as in a ban) or their owners replace them by the minimum standard
// of the same category and fuel (the flow is unchanged). Electric vehicles always enter.
enum class lez_replacement : std::uint8_t { stay_out, upgrade };
policy_result low_emission_zone(const fleet_mix& mix, euro_standard minimum, lez_replacement rule);

}  // namespace twin::env
