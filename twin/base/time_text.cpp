#include "twin/base/time_text.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "twin/base/csv.hpp"

namespace twin {

namespace {

// Reads exactly `n` digits at `pos`.
std::optional<int> read_digits(std::string_view s, std::size_t& pos, std::size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  pos += n;
  return v;
}

// A cursor over the text being parsed.
struct cursor {
  std::string_view s;
  std::size_t pos = 0;

  bool at_end() const { return pos == s.size(); }
  bool take(char c) {
    if (pos < s.size() && s[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }
  std::optional<int> digits(std::size_t n) { return read_digits(s, pos, n); }
};

// The fraction after "ss.": milliseconds from the first three digits, finer digits dropped.
std::optional<time_ms> fraction_ms(cursor& c) {
  std::size_t digits = 0;
  time_ms frac_ms = 0, scale = 100;
  while (c.pos < c.s.size() && c.s[c.pos] >= '0' && c.s[c.pos] <= '9') {
    if (digits < 3) frac_ms += (c.s[c.pos] - '0') * scale;
    scale /= 10;
    ++digits;
    ++c.pos;
  }
  if (digits == 0) return std::nullopt;
  return frac_ms;
}

// "Z", "+hh:mm", "+hhmm" or "+hh" at the cursor: minutes east of UTC. Nothing there: nullopt
// inside the optional (no zone written); a malformed zone: nullopt outside.
std::optional<std::optional<std::int32_t>> zone_minutes(cursor& c) {
  if (c.at_end()) return std::optional<std::int32_t>{};
  char sign = c.s[c.pos];
  if (sign == 'Z' || sign == 'z') {
    ++c.pos;
    return std::optional<std::int32_t>{0};
  }
  if (sign != '+' && sign != '-') return std::nullopt;
  ++c.pos;
  auto oh = c.digits(2);
  if (!oh) return std::nullopt;
  int om = 0;
  if (!c.at_end()) {
    c.take(':');
    auto m = c.digits(2);
    if (!m) return std::nullopt;
    om = *m;
  }
  if (*oh > 18 || om > 59) return std::nullopt;
  return std::optional<std::int32_t>{(sign == '-' ? -1 : 1) * (*oh * 60 + om)};
}

}  // namespace

std::optional<time_ms> utc_ms_of(int year, int month, int day, int hour, int minute, int second) {
  namespace chr = std::chrono;
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 || day > 31)
    return std::nullopt;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59)
    return std::nullopt;
  chr::year_month_day ymd{chr::year{year}, chr::month{static_cast<unsigned>(month)},
                          chr::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return std::nullopt;
  const time_ms days = chr::sys_days{ymd}.time_since_epoch().count();
  return days * ms_per_day + hour * ms_per_hour + minute * ms_per_minute + second * ms_per_second;
}

std::optional<time_ms> parse_iso8601_ms(std::string_view text,
                                        std::optional<std::int32_t> zone_default_minutes) {
  cursor c{trim(text)};
  auto y = c.digits(4);
  if (!y || !c.take('-')) return std::nullopt;
  auto mo = c.digits(2);
  if (!mo || !c.take('-')) return std::nullopt;
  auto d = c.digits(2);
  if (!d) return std::nullopt;
  int h = 0, mi = 0, sec = 0;
  time_ms frac_ms = 0;
  if (c.take('T') || c.take('t') || c.take(' ')) {
    auto hh = c.digits(2);
    if (!hh || !c.take(':')) return std::nullopt;
    auto mm = c.digits(2);
    if (!mm) return std::nullopt;
    h = *hh;
    mi = *mm;
    if (c.take(':')) {
      auto ss = c.digits(2);
      if (!ss) return std::nullopt;
      sec = *ss;
      if (c.take('.') || c.take(',')) {
        auto f = fraction_ms(c);
        if (!f) return std::nullopt;
        frac_ms = *f;
      }
    }
  }
  auto zone = zone_minutes(c);
  if (!zone || !c.at_end()) return std::nullopt;
  if (!*zone && !zone_default_minutes) return std::nullopt;
  const std::int32_t offset = *zone ? **zone : *zone_default_minutes;
  auto local = utc_ms_of(*y, *mo, *d, h, mi, sec);
  if (!local) return std::nullopt;
  return *local + frac_ms - static_cast<time_ms>(offset) * ms_per_minute;
}

std::string iso8601_utc(time_ms t) {
  namespace chr = std::chrono;
  const chr::sys_time<chr::milliseconds> tp{chr::milliseconds{t}};
  const auto day = chr::floor<chr::days>(tp);
  const chr::year_month_day ymd{day};
  const chr::hh_mm_ss<chr::milliseconds> hms{tp - day};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                static_cast<int>(hms.subseconds().count()));
  return buf;
}

expected<time_ms, std::string> parse_duration_ms(std::string_view text) {
  const std::string t(text);
  std::size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(t, &pos);
  } catch (...) {
    return unexpected{"not a duration: '" + t + "' (examples: 90s, 15m, 2h, 7d)"};
  }
  const std::string unit = t.substr(pos);
  double scale = 1000;
  if (unit.empty() || unit == "s")
    scale = 1000;
  else if (unit == "ms")
    scale = 1;
  else if (unit == "m")
    scale = 60e3;
  else if (unit == "h")
    scale = 3600e3;
  else if (unit == "d")
    scale = 86400e3;
  else if (unit == "y")
    scale = 365.25 * 86400e3;
  else
    return unexpected{"unknown unit in '" + t + "' (use ms, s, m, h, d or y)"};
  if (!std::isfinite(v) || v < 0) return unexpected{"not a duration: '" + t + "'"};
  return static_cast<time_ms>(v * scale);
}

std::string duration_text(time_ms d) {
  if (d != 0 && d % ms_per_day == 0) return std::to_string(d / ms_per_day) + "d";
  if (d != 0 && d % ms_per_hour == 0) return std::to_string(d / ms_per_hour) + "h";
  if (d != 0 && d % ms_per_minute == 0) return std::to_string(d / ms_per_minute) + "m";
  if (d != 0 && d % ms_per_second == 0) return std::to_string(d / ms_per_second) + "s";
  return std::to_string(d) + "ms";
}

}  // namespace twin
