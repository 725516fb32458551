#include "twin/base/csv.hpp"

#include <doctest/doctest.h>

TEST_CASE("csv reader splits quoted fields and counts lines") {
  auto r = twin::csv_reader::from_string(
      "# comment\nid,name,value\n1,\"Ponte da Amizade, north\",2.5\n\n2,\"say \"\"hi\"\"\",x\n");
  REQUIRE(r.read_header());
  CHECK(r.header().size() == 3);
  CHECK(r.column("value") == 2u);
  CHECK_FALSE(r.column("nope").has_value());
  REQUIRE(r.next());
  CHECK(r.line() == 3);
  CHECK(r.fields()[1] == "Ponte da Amizade, north");
  CHECK(twin::parse_double(r.fields()[2]) == 2.5);
  REQUIRE(r.next());
  CHECK(r.line() == 5);
  CHECK(r.fields()[1] == "say \"hi\"");
  CHECK_FALSE(twin::parse_double(r.fields()[2]).has_value());
  CHECK_FALSE(r.next());
}

TEST_CASE("csv reader flags a truncated last row") {
  auto r = twin::csv_reader::from_string("a,b,c\n1,2,3\n4,5");
  REQUIRE(r.read_header());
  REQUIRE(r.next());
  CHECK_FALSE(r.truncated());
  REQUIRE(r.next());
  CHECK(r.truncated());
}

TEST_CASE("strict number parsing") {
  CHECK(twin::parse_double(" 3.25 ") == 3.25);
  CHECK(twin::parse_double("-1e3") == -1000.0);
  CHECK_FALSE(twin::parse_double("nan").has_value());
  CHECK_FALSE(twin::parse_double("inf").has_value());
  CHECK_FALSE(twin::parse_double("1.5x").has_value());
  CHECK_FALSE(twin::parse_double("").has_value());
  CHECK(twin::parse_int("42") == 42);
  CHECK_FALSE(twin::parse_int("4.2").has_value());
}
