// Column-to-sensor mappings (`citytwin feed --replay ... --mapping`), read in both forms (text and
// YAML, chosen by the file name). A mapping that is accepted names known sensors by their kind,
// and then drives a wide replay of a few PRSA and MnDOT rows.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "twin/base/check.hpp"

namespace {

// Columns of both excerpts of tests/data/replay, so that the mappings there apply.
constexpr const char* wide_csv =
    "\"No\",\"year\",\"month\",\"day\",\"hour\",\"PM2.5\",\"PM10\",\"SO2\",\"NO2\",\"CO\",\"O3\","
    "\"TEMP\",\"PRES\",\"DEWP\",\"RAIN\",\"wd\",\"WSPM\",\"station\",\"value\"\r\n"
    "1,2013,3,1,0,4,4,4,7,300,77,-0.7,1023,-18.8,0,\"NNW\",4.4,\"Aotizhongxin\",90\r\n"
    "2,2013,3,1,1,8,8,4,7,300,77,-1.1,1023.2,-18.2,0,\"N\",4.7,\"Aotizhongxin\",NA\r\n"
    "3,2013,3,1,2,7,7,5,10,300,73,-1.1,1023.5,-18.2,0,\"NNW\",5.6,\"Aotizhongxin\",80\r\n";

void check_mapping(const std::vector<twin::column_mapping>& m) {
  const auto& city = *fuzz::small_city();
  std::vector<twin::sensor_id> allowed;
  for (const auto& c : m) {
    const auto* s = city.find_sensor(c.sensor);
    TWIN_CHECK(s != nullptr);
    TWIN_CHECK(s->kind == c.kind);
    TWIN_CHECK_OP(c.line, >, 0u);
    allowed.push_back(c.sensor);
  }
  twin::replay_options o;
  o.form = twin::replay_form::wide_form;
  o.mapping = m;
  o.utc_offset_minutes = 8 * 60;
  o.bad_rows_max = 3;
  auto r = twin::csv_replay::open_text(wide_csv, "wide.csv", fuzz::small_city(), o);
  if (!r) {
    TWIN_CHECK(!r.error().message.empty());
    return;
  }
  fuzz::read_replay(*r, 4, o.bad_rows_max, allowed);
}

void parse(const std::string& text, const std::string& name) {
  auto m = twin::parse_column_mapping(text, name, *fuzz::small_city());
  if (!m) {
    TWIN_CHECK(!m.error().message.empty());
    TWIN_CHECK_OP(m.error().file, ==, name);
    return;
  }
  check_mapping(*m);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  parse(text, "fuzz.mapping");
  parse(text, "fuzz.mapping.yaml");
  return 0;
}
