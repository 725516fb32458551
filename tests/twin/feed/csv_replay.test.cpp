#include "twin/feed/csv_replay.hpp"

#include <doctest/doctest.h>

#include <string>

namespace {

const std::string replay_dir = std::string(CITYTWIN_TEST_DATA) + "/replay/";
const std::string prsa_csv = replay_dir + "prsa_aotizhongxin_excerpt.csv";
const std::string prsa_mapping = replay_dir + "prsa_aotizhongxin.mapping";
const std::string prsa_header =
    "\"No\",\"year\",\"month\",\"day\",\"hour\",\"PM2.5\",\"PM10\",\"SO2\",\"NO2\",\"CO\",\"O3\","
    "\"TEMP\",\"PRES\",\"DEWP\",\"RAIN\",\"wd\",\"WSPM\",\"station\"\n";

// 2013-03-01 00:00 in Beijing (UTC+8), the first row of the PRSA files.
constexpr twin::time_ms prsa_first_ms = 1362067200000;

twin::city_ptr replay_city() {
  auto c = std::make_shared<twin::city>();
  c->name = "replay-test";
  c->districts.push_back({twin::district_id{0}, "chaoyang", "Chaoyang", {}, 0, 0});
  auto add = [&](std::uint32_t id, std::string key, twin::sensor_kind kind) {
    twin::sensor s;
    s.id = twin::sensor_id{id};
    s.key = std::move(key);
    s.kind = kind;
    s.district = twin::district_id{0};
    c->sensors.push_back(s);
  };
  add(10, "aoti-pm25", twin::sensor_kind::pm25);
  add(11, "aoti-pm10", twin::sensor_kind::pm10);
  add(12, "aoti-temp", twin::sensor_kind::temperature);
  add(13, "aoti-no2", twin::sensor_kind::no2);
  add(14, "aoti-wd", twin::sensor_kind::wind_direction);
  add(15, "aoti-wspm", twin::sensor_kind::wind_speed);
  add(20, "mndot-6005-speed", twin::sensor_kind::traffic_speed);
  c->index();
  return c;
}

twin::replay_options prsa_options() {
  twin::replay_options o;
  o.mapping_file = prsa_mapping;
  o.utc_offset_minutes = 8 * 60;
  return o;
}

std::vector<twin::reading> read_all(twin::csv_replay& replay, std::size_t chunk = 1000) {
  std::vector<twin::reading> out;
  for (;;) {
    auto n = replay.next(out, chunk);
    REQUIRE(n.has_value());
    if (*n == 0) break;
  }
  return out;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("ISO 8601 timestamps parse to UTC milliseconds") {
  constexpr twin::time_ms utc_midnight = 1362096000000;  // 2013-03-01T00:00:00Z
  CHECK(twin::parse_iso8601_ms("2013-03-01T00:00:00Z", 480) == utc_midnight);
  CHECK(twin::parse_iso8601_ms("2013-03-01 00:00:00", 480) == prsa_first_ms);
  CHECK(twin::parse_iso8601_ms("2013-03-01T08:00:00+08:00", 0) == utc_midnight);
  CHECK(twin::parse_iso8601_ms("2013-02-28T19:00-0500", 0) == utc_midnight);
  CHECK(twin::parse_iso8601_ms("2013-03-01", 0) == utc_midnight);
  CHECK(twin::parse_iso8601_ms("2013-03-01T00:00:01.5Z", 0) == utc_midnight + 1500);
  CHECK(twin::parse_iso8601_ms("1970-01-01T00:00:00Z", 0) == 0);
  CHECK_FALSE(twin::parse_iso8601_ms("2013-02-29T00:00:00Z", 0).has_value());
  CHECK_FALSE(twin::parse_iso8601_ms("2013-03-01T24:00:00Z", 0).has_value());
  CHECK_FALSE(twin::parse_iso8601_ms("2013-03-01T00:00:00Q", 0).has_value());
  CHECK_FALSE(twin::parse_iso8601_ms("03/01/2013", 0).has_value());
}

TEST_CASE("wide-form replay of the Beijing PRSA excerpt") {
  auto c = replay_city();
  auto replay = twin::csv_replay::open(prsa_csv, c, prsa_options());
  REQUIRE_MESSAGE(replay.has_value(), replay.error().message);
  CHECK(replay->form() == twin::replay_form::wide_form);
  auto out = read_all(*replay);
  CHECK(replay->done());

  // 96 rows x 6 mapped columns, one NA (NO2 at 2013-03-04 04:00), counted with awk.
  CHECK(replay->stats().rows == 96);
  CHECK(replay->stats().readings == 575);
  CHECK(replay->stats().missing == 1);
  CHECK(replay->stats().errors == 0);
  REQUIRE(out.size() == 575);

  // First row: 4,4,(SO2)4,7,...,-0.7,...,"NNW",4.4 at local midnight = 16:00 UTC the day before.
  const twin::reading first[] = {
      {twin::sensor_id{10}, prsa_first_ms, 4},     {twin::sensor_id{11}, prsa_first_ms, 4},
      {twin::sensor_id{13}, prsa_first_ms, 7},     {twin::sensor_id{12}, prsa_first_ms, -0.7},
      {twin::sensor_id{14}, prsa_first_ms, 337.5}, {twin::sensor_id{15}, prsa_first_ms, 4.4},
  };
  for (std::size_t i = 0; i < 6; ++i) CHECK(out[i] == first[i]);
  CHECK(out[6].time == prsa_first_ms + twin::ms_per_hour);
  CHECK(out[6].value == 8);

  // The row with the NA (hour 76 after the start) has five readings, none for NO2.
  const twin::time_ms na_row = prsa_first_ms + 76 * twin::ms_per_hour;
  std::size_t in_na_row = 0;
  for (const auto& r : out)
    if (r.time == na_row) {
      ++in_na_row;
      CHECK(r.sensor != twin::sensor_id{13});
    }
  CHECK(in_na_row == 5);

  // Last row: 58,94,..,86,..,7.7,..,"SW",2.1 at 2013-03-04 23:00 local.
  const twin::time_ms last_ms = prsa_first_ms + 95 * twin::ms_per_hour;
  CHECK(out[569] == twin::reading{twin::sensor_id{10}, last_ms, 58});
  CHECK(out[571] == twin::reading{twin::sensor_id{13}, last_ms, 86});
  CHECK(out[573] == twin::reading{twin::sensor_id{14}, last_ms, 225});
  CHECK(out[574] == twin::reading{twin::sensor_id{15}, last_ms, 2.1});

  auto again = read_all(*replay);
  CHECK(again.empty());
}

TEST_CASE("a YAML mapping and small chunks give the same readings") {
  auto c = replay_city();
  auto text = twin::csv_replay::open(prsa_csv, c, prsa_options());
  REQUIRE(text.has_value());
  auto expected = read_all(*text);

  auto options = prsa_options();
  options.mapping_file = replay_dir + "prsa_aotizhongxin.mapping.yaml";
  auto yaml = twin::csv_replay::open(prsa_csv, c, options);
  REQUIRE_MESSAGE(yaml.has_value(), yaml.error().message);
  std::vector<twin::reading> chunked;
  std::size_t calls = 0;
  for (;;) {
    auto n = yaml->next(chunked, 7);
    REQUIRE(n.has_value());
    if (*n == 0) break;
    CHECK(*n <= 7);
    ++calls;
  }
  CHECK(calls == 83);  // ceil(575 / 7)
  CHECK(chunked == expected);
  CHECK(yaml->stats().readings == 575);
}

TEST_CASE("replay times can be rebased and sped up") {
  auto c = replay_city();
  auto options = prsa_options();
  options.start_ms = 1'700'000'000'000;
  options.speed = 60;  // an hour of data per minute
  auto replay = twin::csv_replay::open(prsa_csv, c, options);
  REQUIRE(replay.has_value());
  auto out = read_all(*replay);
  REQUIRE(out.size() == 575);
  CHECK(out[0].time == 1'700'000'000'000);
  CHECK(out[6].time == 1'700'000'000'000 + twin::ms_per_minute);
  CHECK(out[574].time == 1'700'000'000'000 + 95 * twin::ms_per_minute);

  options.speed = 0;
  auto bad = twin::csv_replay::open(prsa_csv, c, options);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().field == "speed");
}

TEST_CASE("wide-form replay of the MnDOT speed excerpt converts mph") {
  auto c = replay_city();
  twin::replay_options options;
  options.mapping_file = replay_dir + "mndot_speed_6005.mapping";
  options.utc_offset_minutes = -5 * 60;  // Central Daylight Time
  auto replay = twin::csv_replay::open(replay_dir + "mndot_speed_6005_excerpt.csv", c, options);
  REQUIRE_MESSAGE(replay.has_value(), replay.error().message);
  auto out = read_all(*replay);
  CHECK(replay->stats().rows == 48);
  CHECK(replay->stats().missing == 0);
  REQUIRE(out.size() == 48);
  // 2015-08-31 18:22:00 CDT = 23:22:00 UTC, 90 mph.
  CHECK(out[0] == twin::reading{twin::sensor_id{20}, 1441063320000, 90 * 1.609344});
  CHECK(out[1] == twin::reading{twin::sensor_id{20}, 1441063320000 + 10 * twin::ms_per_minute,
                                80 * 1.609344});
  // 2015-09-01 05:20:00 CDT.
  CHECK(out[47].time == 1441063320000 + (10 * 60 + 58) * twin::ms_per_minute);
  CHECK(out[47].value == 86 * 1.609344);
}

TEST_CASE("long-form replay by sensor key and wire id") {
  auto c = replay_city();
  auto replay = twin::csv_replay::open(replay_dir + "long_form.csv", c);
  REQUIRE_MESSAGE(replay.has_value(), replay.error().message);
  CHECK(replay->form() == twin::replay_form::long_form);
  auto out = read_all(*replay);
  CHECK(replay->stats().rows == 6);
  CHECK(replay->stats().missing == 1);
  REQUIRE(out.size() == 5);
  constexpr twin::time_ms midnight = 1362096000000;
  CHECK(out[0] == twin::reading{twin::sensor_id{10}, midnight, 4});
  CHECK(out[1] == twin::reading{twin::sensor_id{13}, midnight, 7});
  CHECK(out[2] == twin::reading{twin::sensor_id{12}, midnight + twin::ms_per_hour, -1.1});
  CHECK(out[3] == twin::reading{twin::sensor_id{14}, midnight - 6 * twin::ms_per_hour, 337.5});
  CHECK(out[4] == twin::reading{twin::sensor_id{10}, midnight + 2 * twin::ms_per_hour + 250, 7.5});
}

TEST_CASE("epoch timestamps in seconds and milliseconds") {
  auto c = replay_city();
  twin::replay_options options;
  options.mapping = {{"pm", twin::sensor_id{10}, twin::sensor_kind::pm25, 1, 0, 1}};
  auto replay = twin::csv_replay::open_text(
      "time,pm\n1362096000,5\n1362096000500,6\n1362096001.25,7\n", "epoch.csv", c, options);
  REQUIRE(replay.has_value());
  auto out = read_all(*replay);
  REQUIRE(out.size() == 3);
  CHECK(out[0].time == 1362096000000);
  CHECK(out[1].time == 1362096000500);
  CHECK(out[2].time == 1362096001250);
}

TEST_CASE("a garbage value names the file, line and column") {
  auto c = replay_city();
  std::string text =
      prsa_header +
      "1,2013,3,1,0,4,4,4,7,300,77,-0.7,1023,-18.8,0,\"NNW\",4.4,\"Aotizhongxin\"\n"
      "2,2013,3,1,1,8,8,4,x7,300,77,-1.1,1023.2,-18.2,0,\"N\",4.7,\"Aotizhongxin\"\n"
      "3,2013,3,1,2,7,7,5,10,300,73,-1.1,1023.5,-18.2,0,\"NNW\",5.6,\"Aotizhongxin\"\n";
  auto replay = twin::csv_replay::open_text(text, "garbage.csv", c, prsa_options());
  REQUIRE(replay.has_value());
  std::vector<twin::reading> out;
  auto n = replay->next(out, 100);
  REQUIRE(n.has_value());
  CHECK(*n == 6);  // the good first row is handed out before the failure
  auto failed = replay->next(out, 100);
  REQUIRE_FALSE(failed.has_value());
  CHECK(failed.error().file == "garbage.csv");
  CHECK(failed.error().line == 3);
  CHECK(failed.error().field == "NO2");
  CHECK(failed.error().message == "column 9: not a number: 'x7'");
  // A failed replay stays failed.
  CHECK_FALSE(replay->next(out, 100).has_value());
  CHECK(out.size() == 6);

  // With room for one bad row, the row is skipped and counted.
  auto options = prsa_options();
  options.bad_rows_max = 1;
  auto tolerant = twin::csv_replay::open_text(text, "garbage.csv", c, options);
  REQUIRE(tolerant.has_value());
  auto all = read_all(*tolerant);
  CHECK(all.size() == 12);
  CHECK(tolerant->stats().rows == 3);
  CHECK(tolerant->stats().errors == 1);
  REQUIRE(tolerant->last_skipped_error().has_value());
  CHECK(tolerant->last_skipped_error()->line == 3);
}

TEST_CASE("mapping errors name the mapping file and line") {
  auto c = replay_city();
  auto text = twin::parse_column_mapping("PM2.5 = aoti-pm25\n# SO2 has no kind\nNO2 = aoti-so2\n",
                                         "bad.mapping", *c);
  REQUIRE_FALSE(text.has_value());
  CHECK(text.error().file == "bad.mapping");
  CHECK(text.error().line == 3);
  CHECK(text.error().field == "NO2");
  CHECK(contains(text.error().message, "unknown sensor 'aoti-so2'"));

  auto yaml = twin::parse_column_mapping("PM2.5: aoti-pm25\nNO2: nope\n", "bad.yaml", *c);
  REQUIRE_FALSE(yaml.has_value());
  CHECK(yaml.error().line == 2);
  CHECK(yaml.error().field == "NO2");

  auto misspelt = twin::parse_column_mapping(
      "PM2.5: aoti-pm25\nNO2:\n  sensor: aoti-no2\n  scael: 2\n", "bad.yaml", *c);
  REQUIRE_FALSE(misspelt.has_value());
  CHECK(misspelt.error().to_string() ==
        "bad.yaml:4: field 'NO2.scael': unknown key 'scael' (known: sensor, scale, offset)");

  auto bad_scale =
      twin::parse_column_mapping("NO2: {sensor: aoti-no2, scale: fast}\n", "b.yaml", *c);
  REQUIRE_FALSE(bad_scale.has_value());
  CHECK(bad_scale.error().to_string() ==
        "b.yaml:1: field 'NO2.scale': 'fast' is not a finite number");

  auto scaled =
      twin::parse_column_mapping("NO2: {sensor: aoti-no2, scale: 2, offset: -1}\n", "ok.yaml", *c);
  REQUIRE(scaled.has_value());
  CHECK(scaled->at(0).scale == 2);
  CHECK(scaled->at(0).offset == -1);
  CHECK(scaled->at(0).line == 1);

  auto no_equals = twin::parse_column_mapping("PM2.5 aoti-pm25\n", "x.mapping", *c);
  REQUIRE_FALSE(no_equals.has_value());
  CHECK(no_equals.error().line == 1);

  auto twice = twin::parse_column_mapping("a = aoti-pm25\nb = 10\n", "x.mapping", *c);
  REQUIRE_FALSE(twice.has_value());
  CHECK(twice.error().line == 2);

  auto by_id = twin::parse_column_mapping("a = 13 * 2\n", "x.mapping", *c);
  REQUIRE(by_id.has_value());
  CHECK(by_id->at(0).sensor == twin::sensor_id{13});
  CHECK(by_id->at(0).scale == 2);

  auto missing = twin::load_column_mapping(replay_dir + "no-such.mapping", *c);
  CHECK_FALSE(missing.has_value());

  // A mapped column that the data file does not have.
  twin::replay_options options;
  options.mapping = {{"PM1", twin::sensor_id{10}, twin::sensor_kind::pm25, 1, 0, 4}};
  auto replay = twin::csv_replay::open(prsa_csv, c, options);
  REQUIRE_FALSE(replay.has_value());
  CHECK(replay.error().line == 1);
  CHECK(replay.error().field == "PM1");
}

TEST_CASE("a file without a timestamp column is refused") {
  auto c = replay_city();
  auto replay =
      twin::csv_replay::open_text("# no time\nstation,pm\nA,5\n", "no-time.csv", c, prsa_options());
  REQUIRE_FALSE(replay.has_value());
  CHECK(replay.error().file == "no-time.csv");
  CHECK(replay.error().line == 2);
  CHECK(replay.error().field == "timestamp");

  twin::replay_options named;
  named.time_column = "when";
  auto absent = twin::csv_replay::open(replay_dir + "long_form.csv", c, named);
  REQUIRE_FALSE(absent.has_value());
  CHECK(absent.error().field == "when");

  auto wide_without_mapping =
      twin::csv_replay::open(replay_dir + "mndot_speed_6005_excerpt.csv", c);
  REQUIRE_FALSE(wide_without_mapping.has_value());
  CHECK(contains(wide_without_mapping.error().message, "mapping"));
}

TEST_CASE("a truncated last line is an error, after the rows before it") {
  auto c = replay_city();
  auto replay = twin::csv_replay::open_text(
      "timestamp,sensor,value\n2013-03-01T00:00:00Z,aoti-pm25,4\n2013-03-01T01:00:00Z,aoti-pm25",
      "cut.csv", c);
  REQUIRE(replay.has_value());
  std::vector<twin::reading> out;
  auto n = replay->next(out, 10);
  REQUIRE(n.has_value());
  CHECK(*n == 1);
  auto failed = replay->next(out, 10);
  REQUIRE_FALSE(failed.has_value());
  CHECK(failed.error().line == 3);
  CHECK(failed.error().field == "value");
  CHECK(contains(failed.error().message, "cut short"));
}

TEST_CASE("long-form rows with unknown sensors or bad times are errors") {
  auto c = replay_city();
  auto unknown = twin::csv_replay::open_text(
      "timestamp,sensor,value\n2013-03-01T00:00:00Z,aoti-so2,4\n", "unknown.csv", c);
  REQUIRE(unknown.has_value());
  std::vector<twin::reading> out;
  auto r = unknown->next(out, 10);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().line == 2);
  CHECK(r.error().field == "sensor");
  CHECK(r.error().message == "column 2: unknown sensor 'aoti-so2'");

  auto bad_time = twin::csv_replay::open_text(
      "timestamp,sensor,value\n2013-13-01T00:00:00Z,aoti-pm25,4\n", "time.csv", c);
  REQUIRE(bad_time.has_value());
  auto t = bad_time->next(out, 10);
  REQUIRE_FALSE(t.has_value());
  CHECK(t.error().field == "timestamp");
  CHECK(out.empty());
}
