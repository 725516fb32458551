#include "twin/env/weather.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <numbers>

#include "twin/base/check.hpp"

namespace twin::env {

namespace {

constexpr double deg = std::numbers::pi / 180.0;
constexpr double m_per_s_per_knot = 1852.0 / 3600.0;
constexpr double ft_7000_m = 7000 * 0.3048;
constexpr double ft_16000_m = 16000 * 0.3048;

// Turner's key (1964): class number 1..7 (A..G) by wind speed in knots (rows) and net radiation
// index 4, 3, 2, 1, 0, -1, -2 (columns).
struct key_row {
  int knots_max;
  std::array<int, 7> cls;
};
constexpr std::array<key_row, 9> turner_key = {{
    {1, {1, 1, 2, 3, 4, 6, 7}},
    {3, {1, 2, 2, 3, 4, 6, 7}},
    {5, {1, 2, 3, 4, 4, 5, 6}},
    {6, {2, 2, 3, 4, 4, 5, 6}},
    {7, {2, 2, 3, 4, 4, 4, 5}},
    {9, {2, 3, 3, 4, 4, 4, 5}},
    {10, {3, 3, 4, 4, 4, 4, 5}},
    {11, {3, 3, 4, 4, 4, 4, 4}},
    {1 << 30, {3, 4, 4, 4, 4, 4, 4}},
}};

}  // namespace

double solar_elevation_deg(time_ms utc, lon_lat where) {
  using namespace std::chrono;
  const sys_time<milliseconds> t{milliseconds{utc}};
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const sys_days jan1 = sys_days{ymd.year() / January / 1};
  const double day_of_year = static_cast<double>((day - jan1).count()) + 1;
  const double hour = duration<double, std::ratio<3600>>(t - day).count();
  const double days_in_year = ymd.year().is_leap() ? 366 : 365;

  // NOAA: fractional year (radians), equation of time (minutes), declination (radians).
  const double g = 2 * std::numbers::pi / days_in_year * (day_of_year - 1 + (hour - 12) / 24);
  const double eqtime = 229.18 * (0.000075 + 0.001868 * std::cos(g) - 0.032077 * std::sin(g) -
                                  0.014615 * std::cos(2 * g) - 0.040849 * std::sin(2 * g));
  const double decl = 0.006918 - 0.399912 * std::cos(g) + 0.070257 * std::sin(g) -
                      0.006758 * std::cos(2 * g) + 0.000907 * std::sin(2 * g) -
                      0.002697 * std::cos(3 * g) + 0.00148 * std::sin(3 * g);
  const double true_solar_minutes = hour * 60 + eqtime + 4 * where.lon;
  const double hour_angle = (true_solar_minutes / 4 - 180) * deg;
  const double lat = where.lat * deg;
  const double cos_zenith =
      std::sin(lat) * std::sin(decl) + std::cos(lat) * std::cos(decl) * std::cos(hour_angle);
  return 90 - std::acos(std::clamp(cos_zenith, -1.0, 1.0)) / deg;
}

int insolation_class(double elevation_deg) {
  if (elevation_deg > 60) return 4;
  if (elevation_deg > 35) return 3;
  if (elevation_deg > 15) return 2;
  return 1;
}

int net_radiation_index(double elevation_deg, const sky& c) {
  TWIN_REQUIRE_OP(c.cloud_oktas, >=, 0);
  TWIN_REQUIRE_OP(c.cloud_oktas, <=, 8);
  const bool low_ceiling = c.cloud_ceiling_m < ft_7000_m;
  if (c.cloud_oktas == 8 && low_ceiling) return 0;
  if (elevation_deg <= 0) return c.cloud_oktas <= 3 ? -2 : -1;
  int nri = insolation_class(elevation_deg);
  if (c.cloud_oktas > 4) {
    if (low_ceiling)
      nri -= 2;
    else if (c.cloud_ceiling_m < ft_16000_m || c.cloud_oktas == 8)
      nri -= 1;
    nri = std::max(nri, 1);
  }
  return nri;
}

stability turner_stability(double wind_10m_m_s, int nri) {
  TWIN_REQUIRE_OP(wind_10m_m_s, >=, 0.0);
  TWIN_REQUIRE_OP(nri, >=, -2);
  TWIN_REQUIRE_OP(nri, <=, 4);
  const long knots = std::lround(wind_10m_m_s / m_per_s_per_knot);
  const auto column = static_cast<std::size_t>(4 - nri);
  for (const auto& row : turner_key) {
    if (knots <= row.knots_max) {
      const int cls = std::min(row.cls[column], 6);  // G (7) is carried as F
      return static_cast<stability>(cls - 1);
    }
  }
  return stability::d;
}

stability stability_from(double wind_10m_m_s, const sky& c, time_ms utc, lon_lat where) {
  return turner_stability(wind_10m_m_s, net_radiation_index(solar_elevation_deg(utc, where), c));
}

double default_mixing_height_m(stability s, double wind_10m_m_s) {
  if (s == stability::e || s == stability::f) return mixing_height_stable_m;
  return mixing_height_m_per_m_s * std::max(wind_10m_m_s, 1.0);
}

weather make_weather(const station_report& r, time_ms utc, lon_lat where) {
  weather w;
  w.wind_speed_m_s = r.wind_speed_m_s;
  w.wind_from_deg = r.wind_from_deg;
  w.air_temperature_k = r.air_temperature_k;
  w.stability_class = r.stability_class ? *r.stability_class
                                        : stability_from(r.wind_speed_m_s, r.clouds, utc, where);
  w.mixing_height_m = r.mixing_height_m
                          ? *r.mixing_height_m
                          : default_mixing_height_m(w.stability_class, r.wind_speed_m_s);
  return w;
}

}  // namespace twin::env
