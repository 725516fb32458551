#include "twin/base/text.hpp"

#include <doctest/doctest.h>

#include <string>

#include "twin/base/compass.hpp"

TEST_CASE("values in messages are single-quoted") {
  CHECK(twin::text::quoted("pm3") == "'pm3'");
  CHECK(twin::text::quoted("") == "''");
}

TEST_CASE("YAML double-quoted scalars escape what YAML would read otherwise") {
  CHECK(twin::text::yaml_quoted("Macau") == "\"Macau\"");
  CHECK(twin::text::yaml_quoted("say \"hi\"\\") == "\"say \\\"hi\\\"\\\\\"");
  CHECK(twin::text::yaml_quoted("a\nb\tc\r") == "\"a\\nb\\tc\\r\"");
  CHECK(twin::text::yaml_quoted(std::string("x\x01y")) == "\"x\\x01y\"");
  CHECK(twin::text::yaml_quoted("São Paulo") == "\"São Paulo\"");
}

TEST_CASE("compass points convert to degrees") {
  CHECK(twin::compass_deg("N") == 0.0);
  CHECK(twin::compass_deg("nne") == 22.5);
  CHECK(twin::compass_deg("E") == 90.0);
  CHECK(twin::compass_deg("SSW") == 202.5);
  CHECK(twin::compass_deg(" NNW ") == 337.5);
  CHECK_FALSE(twin::compass_deg("CV").has_value());
  CHECK_FALSE(twin::compass_deg("").has_value());
  CHECK_FALSE(twin::compass_deg("SXS").has_value());
  CHECK(twin::compass_points_text ==
        "N, NNE, NE, ENE, E, ESE, SE, SSE, S, SSW, SW, WSW, W, WNW, NW, NNW");
}
