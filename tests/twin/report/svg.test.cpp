#include "twin/report/svg.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <vector>

TEST_CASE("svg: nice_ceiling rounds up to 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten") {
  using twin::svg::nice_ceiling;
  CHECK(nice_ceiling(0) == 1);
  CHECK(nice_ceiling(-3) == 1);
  CHECK(nice_ceiling(std::numeric_limits<double>::quiet_NaN()) == 1);
  CHECK(nice_ceiling(7) == 8);
  CHECK(nice_ceiling(9.5) == 10);
  CHECK(nice_ceiling(10) == 10);
  CHECK(nice_ceiling(1000) == 1000);
  CHECK(nice_ceiling(1001) == 1500);
  CHECK(nice_ceiling(0.0042) == doctest::Approx(0.005).epsilon(1e-15));
  // A value a rounding error above a round number: the flow map's scale (no tolerance) moves to
  // the next step, the heat maps' (1e-12) keeps the round number.
  const double above = 1000 * (1 + 1e-13);
  CHECK(nice_ceiling(above) == 1500);
  CHECK(nice_ceiling(above, 1e-12) == 1000);
}

TEST_CASE("svg: the diverging and sequential scales at their stops, clamped, NaN as the middle") {
  using twin::svg::diverging;
  using twin::svg::sequential;
  CHECK(diverging(-1) == "#2166ac");
  CHECK(diverging(0) == "#f7f7f7");
  CHECK(diverging(1) == "#b2182b");
  CHECK(diverging(5) == "#b2182b");
  CHECK(diverging(-7) == "#2166ac");
  CHECK(diverging(std::numeric_limits<double>::quiet_NaN()) == "#f7f7f7");
  // Halfway to red: (247 + 178) / 2 = 212.5 -> 213, (247 + 24) / 2 = 135.5 -> 136, 145.
  CHECK(diverging(0.5) == "#d58891");
  CHECK(sequential(0) == "#ffffcc");
  CHECK(sequential(1) == "#800026");
  CHECK(sequential(0.5) == "#fd8d3c");
  CHECK(sequential(-1) == "#ffffcc");
  CHECK(sequential(std::numeric_limits<double>::infinity()) == "#ffffcc");
}

TEST_CASE("svg: ellipsis cuts at a code point and keeps texts that fit") {
  using twin::svg::ellipsis;
  CHECK(ellipsis("abc", 5) == "abc");
  CHECK(ellipsis("abcdef", 6) == "abcdef");
  CHECK(ellipsis("abcdefgh", 6) == "abc...");
  // Ten bytes of five two-byte letters: three letters kept whole, never half of one.
  CHECK(ellipsis("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 6) == "\xc3\xa9\xc3\xa9\xc3\xa9...");
}

TEST_CASE("svg: the plane projection fits the extent, centred, north up") {
  const auto pr = twin::svg::fit_plane(500, 200, 1000, 500, 1000, 70, 760);
  // 960 px across for 1000 m (20 px aside) is tighter than 760 px for 500 m.
  CHECK(pr.px == doctest::Approx(0.96).epsilon(1e-15));
  CHECK(pr.map_height == doctest::Approx(480).epsilon(1e-12));
  CHECK(pr.x(500) == doctest::Approx(20).epsilon(1e-12));
  CHECK(pr.x(1500) == doctest::Approx(980).epsilon(1e-12));
  CHECK(pr.y(200) == doctest::Approx(550).epsilon(1e-12));
  CHECK(pr.y(700) == doctest::Approx(70).epsilon(1e-12));
}

TEST_CASE("svg: the lon/lat projection frames the points with a margin, centred") {
  const std::vector<twin::lon_lat> points{{113.5, 22.1}, {113.6, 22.2}, {113.55, 22.15}};
  const auto pr = twin::svg::fit_lon_lat(points, 1000, 70, 760);
  // 8 % of 0.1 degrees on each side.
  CHECK(pr.lon0 == doctest::Approx(113.492).epsilon(1e-12));
  CHECK(pr.lat1 == doctest::Approx(22.208).epsilon(1e-12));
  CHECK(pr.cos_lat == doctest::Approx(std::cos(22.15 * M_PI / 180)).epsilon(1e-12));
  // Taller than wide at this latitude: the height fills 760 px, the width is centred.
  CHECK(pr.y({113.5, 22.208}) == doctest::Approx(70).epsilon(1e-12));
  CHECK(pr.y({113.5, 22.092}) == doctest::Approx(830).epsilon(1e-12));
  CHECK(pr.x({113.492, 22.1}) + pr.x({113.608, 22.1}) == doctest::Approx(1000).epsilon(1e-12));
  const auto empty = twin::svg::fit_lon_lat({}, 1000, 70, 760);
  CHECK(empty.lon0 == doctest::Approx(-0.002).epsilon(1e-12));
}

TEST_CASE("svg: a district's outline, every ring closed, 0.1 px") {
  twin::district d;
  d.area.push_back({{{{0, 0}, {1, 0}, {1, 1}}, {{0.25, 0.25}, {0.5, 0.25}, {0.5, 0.5}}}});
  const auto path = twin::svg::outline(d, [](twin::lon_lat p) {
    return twin::svg::point{p.lon * 10, 100 - p.lat * 10};
  });
  CHECK(path == "M0.0 100.0L10.0 100.0L10.0 90.0ZM2.5 97.5L5.0 97.5L5.0 95.0Z");
}

TEST_CASE("svg: the document, its page and its titles") {
  std::ostringstream os;
  twin::svg::open_document(os, 1000, 940.4);
  twin::svg::page_background(os);
  twin::svg::titles(os, "A & B", "<sub>");
  CHECK(os.str() ==
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1000\" height=\"940\" viewBox=\"0 0 "
        "1000 940\" font-family=\"DejaVu Sans, Arial, sans-serif\">\n"
        "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
        "<text x=\"20\" y=\"32\" font-size=\"22\" font-weight=\"bold\">A &amp; B</text>\n"
        "<text x=\"20\" y=\"56\" font-size=\"14\" fill=\"#444\">&lt;sub&gt;</text>\n");
}
