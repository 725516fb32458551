#include "twin/report/common.hpp"

#include "twin/base/check.hpp"
#include "twin/base/text.hpp"

namespace twin {

std::string percent(double before, double after) {
  if (before == 0) return "";
  return text::signed_fixed(100.0 * (after - before) / before, 1) + "%";
}

std::string zone_label(const city& c, zone_id z) {
  return std::to_string(c.zones[z.value].number);
}

bool traffic_reused(const variant_result& v) {
  return v.result.environment && v.result.environment->traffic_reused;
}

std::string warning_text(const network_result& n) {
  if (n.disconnected.empty()) return {};
  return std::to_string(n.disconnected.size()) +
         " OD pair(s) disconnected: " + text::fixed(n.unassigned_veh_h, 1) +
         " veh/h of demand cannot be assigned";
}

}  // namespace twin

namespace twin::env {

std::size_t run_count(const scenario_result& r) {
  return r.variants.size() + 1;
}

std::string run_name(const scenario_result& r, std::size_t run) {
  TWIN_CHECK_OP(run, <, run_count(r));
  return run == 0 ? std::string("baseline") : r.variants[run - 1].name;
}

const environment_result& run_environment(const scenario_result& r, std::size_t run) {
  TWIN_CHECK_OP(run, <, run_count(r));
  const auto& e = run == 0 ? r.baseline.environment : r.variants[run - 1].result.environment;
  TWIN_CHECK(e.has_value());
  return *e;
}

const std::vector<double>& values_of(const environment_result& e, pollutant p) {
  TWIN_CHECK(p == pollutant::pm25 || p == pollutant::nox);
  return p == pollutant::pm25 ? e.pm25_ug_m3 : e.no2_ug_m3;
}

std::string_view name_of(pollutant p) {
  return p == pollutant::pm25 ? "pm25" : "no2";
}

std::string_view title_of(pollutant p) {
  return p == pollutant::pm25 ? "PM2.5" : "NO2";
}

std::string district_key(const city& c, const receptor_cell& cell) {
  return cell.district ? c.districts[cell.district->value].key : std::string();
}

}  // namespace twin::env
