// CSV replay files as `citytwin feed --replay` reads them, in the layouts it supports: each input
// is read as a long-form file (form detected, and given with epoch milliseconds), and as a wide
// file under the two mappings of tests/data/replay, with and without skipping bad rows. The
// readings are checked (fuzz::read_replay) and sent through the codec as the gateway does.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "twin/base/check.hpp"

namespace {

std::vector<twin::column_mapping> mapping(const std::string& text, const std::string& name) {
  auto m = twin::parse_column_mapping(text, name, *fuzz::small_city());
  TWIN_CHECK(m.has_value());
  return *m;
}

// The mappings of tests/data/replay, as text.
const std::vector<twin::column_mapping>& prsa_mapping() {
  static const auto m = mapping(
      "PM2.5 = aoti-pm25\nPM10 = aoti-pm10\nNO2 = aoti-no2\nTEMP = aoti-temp\nwd = aoti-wd\n"
      "WSPM = aoti-wspm\n",
      "prsa.mapping");
  return m;
}
const std::vector<twin::column_mapping>& mndot_mapping() {
  static const auto m = mapping("value = mndot-6005-speed * 1.609344\n", "mndot.mapping");
  return m;
}

std::vector<twin::sensor_id> sensors_of(const std::vector<twin::column_mapping>& m) {
  std::vector<twin::sensor_id> out;
  for (const auto& c : m) out.push_back(c.sensor);
  return out;
}

void replay(const std::string& text, twin::replay_options options, std::size_t chunk) {
  const auto allowed = sensors_of(options.mapping);
  const auto bad_rows_max = options.bad_rows_max;
  auto r = twin::csv_replay::open_text(text, "fuzz.csv", fuzz::small_city(), std::move(options));
  if (!r) {
    TWIN_CHECK(!r.error().message.empty());
    TWIN_CHECK_OP(r.error().file, ==, std::string("fuzz.csv"));
    return;
  }
  fuzz::read_replay(*r, chunk, bad_rows_max, allowed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  {
    twin::replay_options o;  // form and time format detected
    replay(text, o, 1000);
  }
  {
    twin::replay_options o;
    o.form = twin::replay_form::long_form;
    o.time_format = twin::replay_time_format::epoch_ms;
    o.bad_rows_max = 2;
    o.start_ms = fuzz::now_ms;
    o.speed = 60;
    replay(text, o, 3);
  }
  {
    twin::replay_options o;  // as the PRSA files are replayed: local time of Beijing
    o.form = twin::replay_form::wide_form;
    o.mapping = prsa_mapping();
    o.utc_offset_minutes = 8 * 60;
    replay(text, o, 7);
    o.bad_rows_max = 3;
    o.start_ms = fuzz::now_ms;
    o.speed = 3600;
    replay(text, o, 1000);
  }
  {
    twin::replay_options o;
    o.form = twin::replay_form::wide_form;
    o.mapping = mndot_mapping();
    o.time_format = twin::replay_time_format::iso8601;
    o.utc_offset_minutes = -5 * 60;
    o.bad_rows_max = 1;
    replay(text, o, 5);
  }
  return 0;
}
