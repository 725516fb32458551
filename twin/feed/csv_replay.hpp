#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "twin/base/csv.hpp"
#include "twin/base/expected.hpp"
#include "twin/base/time_text.hpp"
#include "twin/city/bundle.hpp"
#include "twin/city/city.hpp"
#include "twin/live/reading.hpp"

namespace twin {

// Which CSV layout a replay reads.
enum class replay_form : std::uint8_t {
  detect,     // long when the header has "sensor" and "value" columns and no mapping is given
  long_form,  // timestamp,sensor,value: one reading per row; sensor = key or wire id
  wide_form,  // one row per time, one column per quantity, mapped to sensors by a mapping
};

// How the timestamp column is written.
enum class replay_time_format : std::uint8_t {
  detect,    // ISO 8601 when the text looks like a date, else epoch seconds or milliseconds by size
  iso8601,   // "2013-03-01T00:00:00Z", "2013-03-01 00:00:00", "2013-03-01T08:00:00+08:00"
  epoch_s,   // seconds since 1970-01-01 UTC, fractions allowed
  epoch_ms,  // milliseconds since 1970-01-01 UTC
};

// One wide-form column and the sensor it feeds: value = cell * scale + offset.
struct column_mapping {
  std::string column;
  sensor_id sensor;
  sensor_kind kind = sensor_kind::pm25;
  double scale = 1;  // unit conversion, e.g. 1.609344 for a speed written in mph
  double offset = 0;
  std::size_t line = 0;  // where the mapping file names it (for error messages)
};

// Reads a column -> sensor mapping. Text form, one entry a line, '#' comments:
//   PM2.5 = aoti-pm25
//   value = mndot-6005-speed * 1.609344
// YAML form (a file ending in .yaml or .yml), a map of column to sensor key, or to
// {sensor: key, scale: x, offset: y} (other keys are refused). A sensor is named by key or by wire
// id number. Unknown sensors and malformed entries are errors naming the mapping file and line.
// ISO 8601 timestamps are read by parse_iso8601_ms (twin/base/time_text.hpp).
expected<std::vector<column_mapping>, load_error> load_column_mapping(
    const std::filesystem::path& path, const city& c);
expected<std::vector<column_mapping>, load_error> parse_column_mapping(std::string_view text,
                                                                       const std::string& name,
                                                                       const city& c);

struct replay_options {
  replay_form form = replay_form::detect;
  // Wide form: the mapping file, or (when not empty) `mapping` used as given.
  std::filesystem::path mapping_file;
  std::vector<column_mapping> mapping;
  // The timestamp column. Empty: the first of "timestamp", "time", "datetime", "date"; failing
  // that, year,month,day,hour columns (plus minute and second when present), as in the Beijing
  // PRSA files.
  std::string time_column;
  replay_time_format time_format = replay_time_format::detect;
  // Local time minus UTC for timestamps written without a zone (Beijing: +480). ISO timestamps
  // that carry "Z" or "+hh:mm" use their own zone; epoch numbers are UTC.
  std::int32_t utc_offset_minutes = 0;
  // Rebasing: when set, the first row maps to this time; otherwise original times are kept.
  std::optional<time_ms> start_ms;
  // Replay speed: intervals from the first row are divided by this (x N real time). The caller
  // paces the replay; this only sets the times it gets.
  double speed = 1;
  // Rows with errors (garbage values, unknown sensors, bad timestamps, a truncated last line)
  // that are skipped and counted before the replay fails. 0: the first bad row fails it.
  std::size_t bad_rows_max = 0;
};

struct replay_stats {
  std::uint64_t rows = 0;      // data rows read, bad ones included
  std::uint64_t readings = 0;  // readings handed out
  std::uint64_t missing = 0;   // empty or NA cells: skipped, not errors
  std::uint64_t errors = 0;    // bad rows skipped (at most bad_rows_max)
};

// Streams a CSV file of sensor data as readings, in file order, without loading it whole.
class csv_replay {
 public:
  // Opens a file and reads its header. Fails with the file, line and field when the header or
  // the mapping does not fit (no timestamp column, mapped column absent, unknown sensor, ...).
  static expected<csv_replay, load_error> open(const std::filesystem::path& path, city_ptr city,
                                               replay_options options = {});
  // The same over text in memory; `name` stands for the file name in errors.
  static expected<csv_replay, load_error> open_text(std::string text, std::string name,
                                                    city_ptr city, replay_options options = {});

  csv_replay(csv_replay&&) noexcept;
  csv_replay& operator=(csv_replay&&) noexcept;
  ~csv_replay();

  // Appends up to `max` readings to `out` and returns how many; 0 means the file is done. A bad
  // row beyond options.bad_rows_max fails the replay: this call and every later one return the
  // error (file, line, column as field).
  expected<std::size_t, load_error> next(std::vector<reading>& out, std::size_t max);

  bool done() const;
  replay_form form() const;
  const replay_stats& stats() const;
  // The last bad row that was skipped under bad_rows_max, if any.
  const std::optional<load_error>& last_skipped_error() const;

 private:
  struct impl;
  explicit csv_replay(std::unique_ptr<impl> p);
  static expected<csv_replay, load_error> start(csv_reader reader, std::string name, city_ptr city,
                                                replay_options options);
  std::unique_ptr<impl> impl_;
};

}  // namespace twin
