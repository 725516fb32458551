#include "twin/assign/tntp.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <string>

namespace fs = std::filesystem;

namespace {

const fs::path tntp_data = fs::path(CITYTWIN_TEST_DATA) / "tntp";

const std::string small_net =
    "<NUMBER OF ZONES> 2\n"
    "<NUMBER OF NODES> 3\n"
    "<FIRST THRU NODE> 3\t\t\n"
    "<NUMBER OF LINKS> 3\n"
    "<ORIGINAL HEADER>~ whatever the source wrote\n"
    "<END OF METADATA>\n"
    "\n"
    "~\tinit_node\tterm_node\tcapacity\tlength\tfree_flow_time\tb\tpower\tspeed\ttoll\tlink_type\t;"
    "\n"
    "\t1\t3\t100\t2.5\t6\t0.15\t4\t50\t1.5\t2\t;\n"
    "  3 2 200 1 3 0.5 1 ;  ~ no speed, toll or type\n"
    "3\t1\t50\t1\t3\t0.15\t4\t0\t0\t1\n";

template <class T>
twin::load_error error_of(const twin::expected<T, twin::load_error>& r) {
  REQUIRE_FALSE(r.has_value());
  return r.error();
}

std::string with_row(const std::string& row, const std::string& links = "1") {
  return "<NUMBER OF ZONES> 2\n<NUMBER OF NODES> 3\n<FIRST THRU NODE> 1\n<NUMBER OF LINKS> " +
         links + "\n<END OF METADATA>\n" + row + "\n";
}

}  // namespace

TEST_CASE("a network file with tabs, comments, semicolons and missing optional columns") {
  const auto net = twin::tntp::parse_net(small_net, "small_net.tntp");
  REQUIRE(net.has_value());
  CHECK(net->zone_count == 2);
  CHECK(net->node_count == 3);
  CHECK(net->first_thru_node == 3);
  REQUIRE(net->links.size() == 3);
  const auto& a = net->links[0];
  CHECK(a.init_node == 1);
  CHECK(a.term_node == 3);
  CHECK(a.capacity == 100);
  CHECK(a.length == 2.5);
  CHECK(a.free_flow_time == 6);
  CHECK(a.b == 0.15);
  CHECK(a.power == 4);
  CHECK(a.speed == 50);
  CHECK(a.toll == 1.5);
  CHECK(a.link_type == 2);
  CHECK(a.line == 9);
  const auto& b = net->links[1];
  CHECK(b.power == 1);
  CHECK(b.speed == 0);
  CHECK(b.toll == 0);
  CHECK(b.link_type == 0);
  CHECK(net->links[2].init_node == 3);
}

TEST_CASE("network errors name the file, the line and the field") {
  SUBCASE("malformed number") {
    const auto e = error_of(twin::tntp::parse_net(with_row("1 2 1OO 1 1 0.15 4 ;"), "n.tntp"));
    CHECK(e.file == "n.tntp");
    CHECK(e.line == 6);
    CHECK(e.field == "capacity");
    CHECK(e.to_string() == "n.tntp:6: field 'capacity': not a number: '1OO'");
  }
  SUBCASE("unknown node") {
    const auto e = error_of(twin::tntp::parse_net(with_row("1 4 100 1 1 0.15 4 ;"), "n.tntp"));
    CHECK(e.line == 6);
    CHECK(e.field == "term_node");
    CHECK(e.message == "unknown node 4 (valid: 1..3)");
  }
  SUBCASE("negative capacity") {
    const auto e = error_of(twin::tntp::parse_net(with_row("1 2 -5 1 1 0.15 4 ;"), "n.tntp"));
    CHECK(e.field == "capacity");
    CHECK(e.message == "must not be negative, got -5");
  }
  SUBCASE("too few fields") {
    const auto e = error_of(twin::tntp::parse_net(with_row("1 2 5 1 1 0.15 ;"), "n.tntp"));
    CHECK(e.field == "row");
    CHECK(e.message == "expected 7 to 10 fields, got 6");
  }
  SUBCASE("text after the semicolon") {
    const auto e = error_of(twin::tntp::parse_net(with_row("1 2 5 1 1 0.15 4 ; 7"), "n.tntp"));
    CHECK(e.field == "row");
  }
  SUBCASE("a link to itself") {
    const auto e = error_of(twin::tntp::parse_net(with_row("2 2 5 1 1 0.15 4 ;"), "n.tntp"));
    CHECK(e.field == "term_node");
  }
  SUBCASE("link count differs from the metadata") {
    const auto e = error_of(twin::tntp::parse_net(with_row("1 2 5 1 1 0.15 4 ;", "2"), "n.tntp"));
    CHECK(e.line == 4);
    CHECK(e.field == "NUMBER OF LINKS");
    CHECK(e.message == "the metadata declares 2 links, the file has 1");
  }
  SUBCASE("missing metadata") {
    const auto e = error_of(twin::tntp::parse_net(
        "<NUMBER OF ZONES> 2\n<NUMBER OF NODES> 3\n<NUMBER OF LINKS> 0\n<END OF METADATA>\n",
        "n.tntp"));
    CHECK(e.line == 4);
    CHECK(e.field == "FIRST THRU NODE");
    CHECK(e.message == "missing <FIRST THRU NODE> in the metadata");
  }
  SUBCASE("malformed metadata value") {
    const auto e = error_of(
        twin::tntp::parse_net("<NUMBER OF ZONES> two\n<NUMBER OF NODES> 3\n<FIRST THRU NODE> 1\n"
                              "<NUMBER OF LINKS> 0\n<END OF METADATA>\n",
                              "n.tntp"));
    CHECK(e.line == 1);
    CHECK(e.field == "NUMBER OF ZONES");
  }
  SUBCASE("no end of metadata") {
    const auto e = error_of(twin::tntp::parse_net("<NUMBER OF ZONES> 2\n", "n.tntp"));
    CHECK(e.field == "END OF METADATA");
  }
  SUBCASE("more zones than nodes") {
    const auto e = error_of(
        twin::tntp::parse_net("<NUMBER OF ZONES> 4\n<NUMBER OF NODES> 3\n<FIRST THRU NODE> 1\n"
                              "<NUMBER OF LINKS> 0\n<END OF METADATA>\n",
                              "n.tntp"));
    CHECK(e.field == "NUMBER OF ZONES");
  }
  SUBCASE("a missing file") {
    const auto e = error_of(twin::tntp::load_net(tntp_data / "nowhere_net.tntp"));
    CHECK(e.message == "cannot open the file");
    CHECK(e.file.ends_with("nowhere_net.tntp"));
  }
}

TEST_CASE("a trips file: pairs across lines, semicolons and spaces in any arrangement") {
  const std::string text =
      "<NUMBER OF ZONES> 3\n<TOTAL OD FLOW> 60.5\n<END OF METADATA>\n\n"
      "Origin 1\n    2 :    10.5;    3 :     20;\n"
      "Origin \t3\n1 : 30;2:0;\n";
  const auto trips = twin::tntp::parse_trips(text, "t.tntp");
  REQUIRE(trips.has_value());
  CHECK(trips->zone_count == 3);
  REQUIRE(trips->total_flow_declared.has_value());
  CHECK(*trips->total_flow_declared == 60.5);
  REQUIRE(trips->rows.size() == 4);
  CHECK(trips->rows[0].origin == 1);
  CHECK(trips->rows[0].destination == 2);
  CHECK(trips->rows[0].flow == 10.5);
  CHECK(trips->rows[2].origin == 3);
  CHECK(trips->rows[2].destination == 1);
  CHECK(trips->rows[3].flow == 0);
}

TEST_CASE("trips errors") {
  const std::string head = "<NUMBER OF ZONES> 3\n<END OF METADATA>\n";
  SUBCASE("a destination before any origin") {
    const auto e = error_of(twin::tntp::parse_trips(head + "2 : 5;\n", "t.tntp"));
    CHECK(e.line == 3);
    CHECK(e.field == "origin");
  }
  SUBCASE("unknown zone") {
    const auto e = error_of(twin::tntp::parse_trips(head + "Origin 1\n4 : 5;\n", "t.tntp"));
    CHECK(e.line == 4);
    CHECK(e.field == "destination");
    CHECK(e.message == "unknown zone 4 (valid: 1..3)");
  }
  SUBCASE("unknown origin") {
    const auto e = error_of(twin::tntp::parse_trips(head + "Origin 0\n", "t.tntp"));
    CHECK(e.field == "origin");
  }
  SUBCASE("malformed flow") {
    const auto e = error_of(twin::tntp::parse_trips(head + "Origin 1\n2 : 5x;\n", "t.tntp"));
    CHECK(e.field == "flow");
    CHECK(e.message == "not a number: '5x'");
  }
  SUBCASE("negative flow") {
    const auto e = error_of(twin::tntp::parse_trips(head + "Origin 1\n2 : -5;\n", "t.tntp"));
    CHECK(e.field == "flow");
  }
  SUBCASE("missing ':'") {
    const auto e = error_of(twin::tntp::parse_trips(head + "Origin 1\n2 5;\n", "t.tntp"));
    CHECK(e.field == "destination");
  }
  SUBCASE("a pair written twice") {
    const auto e =
        error_of(twin::tntp::parse_trips(head + "Origin 1\n2 : 5;\nOrigin 1\n2 : 6;\n", "t.tntp"));
    CHECK(e.line == 6);
    CHECK(e.message == "origin 1 lists destination 2 twice (first on line 4)");
  }
  SUBCASE("missing zone count") {
    const auto e = error_of(twin::tntp::parse_trips("<END OF METADATA>\n", "t.tntp"));
    CHECK(e.field == "NUMBER OF ZONES");
  }
}

TEST_CASE("flow and node files, with or without a header") {
  const auto flows =
      twin::tntp::parse_flow("From \tTo \tVolume \tCost \n1 \t2 \t4494.5 \t6.0 \n2 3 0 1;\n", "f");
  REQUIRE(flows.has_value());
  REQUIRE(flows->size() == 2);
  CHECK((*flows)[0].from_node == 1);
  CHECK((*flows)[0].to_node == 2);
  CHECK((*flows)[0].volume == 4494.5);
  CHECK((*flows)[0].cost == 6.0);
  CHECK((*flows)[1].to_node == 3);

  const auto nodes = twin::tntp::parse_nodes("1\t-96.77\t43.61\t;\n2 -96.71 43.60\n", "n");
  REQUIRE(nodes.has_value());
  REQUIRE(nodes->size() == 2);
  CHECK((*nodes)[0].x == -96.77);
  CHECK((*nodes)[1].y == 43.60);

  const auto bad = error_of(twin::tntp::parse_flow("From To Volume Cost\n1 2 x 3\n", "f"));
  CHECK(bad.line == 2);
  CHECK(bad.field == "volume");
  const auto short_row = error_of(twin::tntp::parse_nodes("1 2\n", "n"));
  CHECK(short_row.message == "expected 3 fields, got 2");
}

TEST_CASE("the published cases load with the counts of their metadata") {
  struct expected_case {
    const char* name;
    int zones, nodes, first_thru, links;
    std::size_t od_rows;
    double total_flow;
  };
  for (const expected_case& c : {expected_case{"SiouxFalls", 24, 24, 1, 76, 576, 360600},
                                 expected_case{"Anaheim", 38, 416, 39, 914, 1406, 104694.40},
                                 expected_case{"ChicagoSketch", 387, 933, 1, 2950, 0, 0}}) {
    CAPTURE(c.name);
    const fs::path dir = tntp_data / c.name;
    const auto net = twin::tntp::load_net(dir / (std::string(c.name) + "_net.tntp"));
    REQUIRE_MESSAGE(net.has_value(), net.error().to_string());
    CHECK(net->zone_count == c.zones);
    CHECK(net->node_count == c.nodes);
    CHECK(net->first_thru_node == c.first_thru);
    CHECK(net->links.size() == static_cast<std::size_t>(c.links));
    const auto trips = twin::tntp::load_trips(dir / (std::string(c.name) + "_trips.tntp"));
    REQUIRE_MESSAGE(trips.has_value(), trips.error().to_string());
    CHECK(trips->zone_count == c.zones);
    double sum = 0;
    for (const auto& r : trips->rows) sum += r.flow;
    if (c.od_rows > 0) {
      CHECK(trips->rows.size() == c.od_rows);
      CHECK(sum == doctest::Approx(c.total_flow).epsilon(1e-12));
    }
    const auto flows = twin::tntp::load_flow(dir / (std::string(c.name) + "_flow.tntp"));
    REQUIRE_MESSAGE(flows.has_value(), flows.error().to_string());
    CHECK(flows->size() == static_cast<std::size_t>(c.links));
  }
  const auto chicago =
      twin::tntp::load_trips(tntp_data / "ChicagoSketch" / "ChicagoSketch_trips.tntp");
  REQUIRE(chicago.has_value());
  double total = 0;
  double intrazonal = 0;
  for (const auto& r : chicago->rows) {
    total += r.flow;
    if (r.origin == r.destination) intrazonal += r.flow;
  }
  CHECK(total == doctest::Approx(1260907.44).epsilon(1e-9));
  CHECK(intrazonal == doctest::Approx(123414).epsilon(1e-12));
  const auto nodes = twin::tntp::load_nodes(tntp_data / "SiouxFalls" / "SiouxFalls_node.tntp");
  REQUIRE(nodes.has_value());
  CHECK(nodes->size() == 24);
}
