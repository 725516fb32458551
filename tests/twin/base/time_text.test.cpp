#include "twin/base/time_text.hpp"

#include <doctest/doctest.h>

using twin::iso8601_utc;
using twin::parse_iso8601_ms;

TEST_CASE("ISO 8601 times parse to UTC milliseconds") {
  CHECK(parse_iso8601_ms("1970-01-01T00:00:00Z", std::nullopt) == 0);
  CHECK(parse_iso8601_ms("2013-03-01T00:00:00Z", 0) == 1362096000000);
  CHECK(parse_iso8601_ms("2013-03-01 08:00:00", 480) == 1362096000000);
  CHECK(parse_iso8601_ms("2013-03-01T08:00:00+08:00", 0) == 1362096000000);
  CHECK(parse_iso8601_ms("2013-03-01T08:00:00+0800", 0) == 1362096000000);
  CHECK(parse_iso8601_ms("2013-03-01T08:00+08", 0) == 1362096000000);
  CHECK(parse_iso8601_ms("2013-02-28T19:00:00-05:00", 0) == 1362096000000);
  CHECK(parse_iso8601_ms("2013-03-01", 0) == 1362096000000);
  CHECK(parse_iso8601_ms("2013-03-01T00:00:00.2506Z", 0) == 1362096000250);
  CHECK(parse_iso8601_ms(" 2024-02-29T06:00Z ", std::nullopt) == 1709186400000);
  CHECK(parse_iso8601_ms("1969-12-31T23:59:59.999Z", 0) == -1);
}

TEST_CASE("ISO 8601 refuses what is not a time") {
  CHECK_FALSE(parse_iso8601_ms("2023-02-29T00:00Z", 0).has_value());
  CHECK_FALSE(parse_iso8601_ms("2013-13-01", 0).has_value());
  CHECK_FALSE(parse_iso8601_ms("2013-03-01T24:00Z", 0).has_value());
  CHECK_FALSE(parse_iso8601_ms("2013-03-01T00:00:00.Z", 0).has_value());
  CHECK_FALSE(parse_iso8601_ms("2013-03-01T00:00Zx", 0).has_value());
  CHECK_FALSE(parse_iso8601_ms("2013-03-01T00:00+19:00", 0).has_value());
  CHECK_FALSE(parse_iso8601_ms("13-03-01", 0).has_value());
  CHECK_FALSE(parse_iso8601_ms("", 0).has_value());
  // Without a default zone, the zone must be written.
  CHECK_FALSE(parse_iso8601_ms("2013-03-01T00:00:00", std::nullopt).has_value());
  CHECK_FALSE(parse_iso8601_ms("2013-03-01", std::nullopt).has_value());
}

TEST_CASE("UTC times format with milliseconds") {
  CHECK(iso8601_utc(0) == "1970-01-01T00:00:00.000Z");
  CHECK(iso8601_utc(1362096000250) == "2013-03-01T00:00:00.250Z");
  CHECK(iso8601_utc(1709186400000) == "2024-02-29T06:00:00.000Z");
  CHECK(iso8601_utc(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(iso8601_utc(-1000) == "1969-12-31T23:59:59.000Z");
}

TEST_CASE("calendar dates convert to UTC milliseconds") {
  CHECK(twin::utc_ms_of(2013, 3, 1, 0, 0, 0) == 1362096000000);
  CHECK(twin::utc_ms_of(2013, 3, 1, 23, 59, 59) == 1362182399000);
  CHECK_FALSE(twin::utc_ms_of(2013, 4, 31, 0, 0, 0).has_value());
  CHECK_FALSE(twin::utc_ms_of(2013, 3, 1, 0, 60, 0).has_value());
}
