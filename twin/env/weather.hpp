#pragma once

// The weather of a dispersion run from what a weather station reports: Pasquill stability by
// Turner's method (wind speed and net radiation from solar elevation and cloud), solar elevation
// from date, time and place (NOAA's formulas), and default mixing heights.

#include <optional>

#include "twin/base/time.hpp"
#include "twin/city/city.hpp"
#include "twin/env/types.hpp"

namespace twin::env {

// Solar elevation above the horizon, degrees, at a UTC time and a place (NOAA general solar
// position formulas: fractional-year series for the declination and the equation of time).
// No refraction correction.
double solar_elevation_deg(time_ms utc, lon_lat where);

// Turner's insolation class from the solar elevation: 4 strong (> 60 deg), 3 moderate (> 35),
// 2 slight (> 15), 1 weak.
int insolation_class(double solar_elevation_deg);

// Cloud as a station reports it. Turner's key is stated in tenths; oktas map onto it as
// <= 3/8 for "<= 4/10" and 8/8 for "10/10".
struct sky {
  int cloud_oktas = 0;            // 0..8
  double cloud_ceiling_m = 3000;  // height of the cloud base
};

// Turner's net radiation index, -2..4: 0 for overcast under a low ceiling (< 7000 ft), -2 / -1 at
// night (sun below the horizon) for <= 3/8 / >= 4/8 cloud; by day the insolation class, reduced by
// 2 (ceiling < 7000 ft) or 1 (< 16000 ft, or overcast above 7000 ft) when cloud exceeds 4/8, never
// below 1.
int net_radiation_index(double solar_elevation_deg, const sky& c);

// Turner's key: stability from the 10 m wind (rounded to whole knots) and the net radiation index.
// Turner's class 7 (extremely stable) is returned as F, the most stable class the models carry.
stability turner_stability(double wind_10m_m_s, int net_radiation_index);

// Both steps at once: stability for a wind, a sky, a time and a place.
stability stability_from(double wind_10m_m_s, const sky& c, time_ms utc, lon_lat where);

// Default mixing height per class when none is observed: for A-D the mechanical mixing height of
// EPA's SCREEN3 screening model, 320 m per m/s of 10 m wind, at least 320 m (minimum wind 1 m/s);
// for the stable classes E and F, whose shallow night layer the models treat as unlimited by a lid,
// SCREEN3's 10,000 m.
double default_mixing_height_m(stability s, double wind_10m_m_s);
inline constexpr double mixing_height_stable_m = 10'000;
inline constexpr double mixing_height_m_per_m_s = 320;

// A weather from station-like inputs; the mixing height from default_mixing_height_m unless given.
struct station_report {
  double wind_speed_m_s = 3;
  double wind_from_deg = 180;
  sky clouds;
  double air_temperature_k = 293.15;
  std::optional<stability> stability_class;  // given, or derived from wind, sky, time and place
  std::optional<double> mixing_height_m;
};
weather make_weather(const station_report& r, time_ms utc, lon_lat where);

}  // namespace twin::env
