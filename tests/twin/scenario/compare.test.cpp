#include "twin/scenario/compare.hpp"

#include <doctest/doctest.h>

#include "twin/scenario/result.hpp"

namespace {

twin::link_result link(double flow, double time, bool closed = false) {
  twin::link_result r;
  r.flow_veh_h = flow;
  r.time_min = time;
  r.closed = closed;
  return r;
}

twin::od_result od(std::uint32_t from, std::uint32_t to, double trips, std::optional<double> t) {
  return {twin::zone_id{from}, twin::zone_id{to}, trips, t};
}

// Three city links; the variant closes the third and adds a fourth. Three OD pairs, the last
// disconnected in the baseline.
struct small_case {
  twin::network_result baseline, variant;
  small_case() {
    baseline.links = {link(100, 1), link(200, 2), link(50, 3)};
    variant.links = {link(150, 1.5), link(120, 2.5), link(0, 3, true), link(40, 0.75)};
    baseline.od = {od(0, 1, 100, 10), od(0, 2, 50, 5), od(1, 2, 20, std::nullopt)};
    variant.od = {od(0, 1, 100, 12), od(0, 2, 50, 4.5), od(1, 2, 20, 7)};
  }
};

}  // namespace

TEST_CASE("compare: the most affected links by |delta flow|, new links against zero") {
  const small_case c;
  const auto cmp = twin::compare(c.baseline, c.variant, 3);
  REQUIRE(cmp.links.size() == 3);
  // |delta|: 80, then 50 twice (link order), then 40 (the added link).
  CHECK(cmp.links[0].link.value == 1);
  CHECK(cmp.links[0].baseline_flow_veh_h == 200);
  CHECK(cmp.links[0].flow_veh_h == 120);
  CHECK(cmp.links[0].delta_flow_veh_h == -80);
  CHECK(cmp.links[0].delta_time_min == 0.5);
  CHECK_FALSE(cmp.links[0].closed);
  CHECK(cmp.links[1].link.value == 0);
  CHECK(cmp.links[1].delta_flow_veh_h == 50);
  CHECK(cmp.links[1].delta_time_min == 0.5);
  CHECK(cmp.links[2].link.value == 2);
  CHECK(cmp.links[2].delta_flow_veh_h == -50);
  CHECK(cmp.links[2].delta_time_min == 0);  // closed: no time to compare
  CHECK(cmp.links[2].closed);

  const auto all = twin::most_affected_links(c.baseline, c.variant, 10);
  REQUIRE(all.size() == 4);
  CHECK(all[3].link.value == 3);
  CHECK(all[3].baseline_flow_veh_h == 0);
  CHECK(all[3].flow_veh_h == 40);
  CHECK(all[3].delta_flow_veh_h == 40);
  CHECK(all[3].delta_time_min == 0);  // a new link has no baseline time
}

TEST_CASE("compare: the most affected OD pairs, connected on both sides only") {
  const small_case c;
  const auto cmp = twin::compare(c.baseline, c.variant, 3);
  // 1 -> 2 was disconnected in the baseline: no change to report.
  REQUIRE(cmp.od.size() == 2);
  CHECK(cmp.od[0].from.value == 0);
  CHECK(cmp.od[0].to.value == 1);
  CHECK(cmp.od[0].trips_veh_h == 100);
  CHECK(cmp.od[0].baseline_time_min == 10);
  CHECK(cmp.od[0].time_min == 12);
  CHECK(cmp.od[0].delta_time_min == 2);
  CHECK(cmp.od[1].to.value == 2);
  CHECK(cmp.od[1].delta_time_min == -0.5);
  CHECK(twin::compare(c.baseline, c.variant, 1).od.size() == 1);
  CHECK(twin::compare(c.baseline, c.variant, 0).links.empty());
}
