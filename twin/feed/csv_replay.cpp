#include "twin/feed/csv_replay.hpp"

#include <array>
#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>

#include "twin/base/compass.hpp"
#include "twin/base/time_text.hpp"
#include "twin/base/yaml_reader.hpp"

namespace twin {

namespace {

bool is_missing(std::string_view cell) {
  return cell.empty() || cell == "NA" || cell == "N/A" || cell == "NaN" || cell == "nan";
}

bool looks_like_date(std::string_view s) {
  return s.size() >= 8 && s[4] == '-' && std::isdigit(static_cast<unsigned char>(s[0]));
}

std::optional<time_ms> parse_time_cell(std::string_view cell, replay_time_format format,
                                       std::int32_t utc_offset_minutes) {
  cell = trim(cell);
  bool detect = format == replay_time_format::detect;
  if (detect && looks_like_date(cell)) format = replay_time_format::iso8601;
  if (format == replay_time_format::iso8601) return parse_iso8601_ms(cell, utc_offset_minutes);
  auto v = parse_double(cell);
  if (!v) return std::nullopt;
  // Seconds since 1970 stay below 1e11 until the year 5138; milliseconds pass it in 1973.
  bool ms = format == replay_time_format::epoch_ms ||
            (detect && std::fabs(*v) >= 1e11 && cell.find('.') == std::string_view::npos);
  double t = ms ? *v : *v * 1000.0;
  if (std::fabs(t) > 1e17) return std::nullopt;
  return static_cast<time_ms>(std::llround(t));
}

load_error make_error(const std::string& file, std::size_t line, std::string field,
                      std::string message) {
  return load_error{file, line, std::move(field), std::move(message)};
}

const sensor* find_sensor_by_name(const city& c, std::string_view name) {
  if (const auto* s = c.find_sensor(name)) return s;
  if (auto id = parse_int(name); id && *id >= 0 && *id < static_cast<long long>(sensor_id_max))
    return c.find_sensor(sensor_id{static_cast<std::uint32_t>(*id)});
  return nullptr;
}

// Adds one mapping entry after the checks shared by both mapping forms.
std::optional<load_error> add_entry(std::vector<column_mapping>& out, const std::string& name,
                                    std::size_t line, std::string column,
                                    std::string_view sensor_name, double scale, double offset,
                                    const city& c) {
  if (column.empty()) return make_error(name, line, "", "empty column name");
  const sensor* s = find_sensor_by_name(c, sensor_name);
  if (!s)
    return make_error(name, line, column,
                      "unknown sensor '" + std::string(sensor_name) + "' in city '" + c.name + "'");
  for (const auto& m : out) {
    if (m.column == column)
      return make_error(name, line, column,
                        "column mapped twice (first on line " + std::to_string(m.line) + ")");
    if (m.sensor == s->id)
      return make_error(name, line, column,
                        "sensor '" + s->key + "' is already fed by column '" + m.column + "'");
  }
  out.push_back(column_mapping{std::move(column), s->id, s->kind, scale, offset, line});
  return std::nullopt;
}

expected<std::vector<column_mapping>, load_error> parse_text_mapping(std::string_view text,
                                                                     const std::string& name,
                                                                     const city& c) {
  std::vector<column_mapping> out;
  std::size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string_view::npos)
      return unexpected{make_error(
          name, line_no, "", "expected 'column = sensor', found '" + std::string(line) + "'")};
    std::string column(trim(line.substr(0, eq)));
    std::string_view rhs = trim(line.substr(eq + 1));
    double scale = 1;
    if (auto star = rhs.find('*'); star != std::string_view::npos) {
      auto v = parse_double(rhs.substr(star + 1));
      if (!v)
        return unexpected{
            make_error(name, line_no, column,
                       "scale is not a number: '" + std::string(trim(rhs.substr(star + 1))) + "'")};
      scale = *v;
      rhs = trim(rhs.substr(0, star));
    }
    if (auto e = add_entry(out, name, line_no, std::move(column), rhs, scale, 0, c))
      return unexpected{std::move(*e)};
  }
  return out;
}

// One entry of a YAML mapping: `column: sensor` or `column: {sensor: key, scale: x, offset: y}`.
std::optional<load_error> add_yaml_entry(std::vector<column_mapping>& out, const yaml_entry& e,
                                         const std::string& name, const city& c) {
  const std::size_t line = e.key.line();
  if (e.value.is_scalar()) return add_entry(out, name, line, e.name, e.value.scalar(), 1, 0, c);
  if (!e.value.is_map()) e.value.fail("expected a sensor key or {sensor, scale, offset}");
  e.value.allow_keys({"sensor", "scale", "offset"});
  const double scale = e.value["scale"] ? e.value["scale"].number() : 1;
  const double offset = e.value["offset"] ? e.value["offset"].number() : 0;
  return add_entry(out, name, line, e.name, e.value.required("sensor").text(), scale, offset, c);
}

expected<std::vector<column_mapping>, load_error> parse_yaml_mapping(std::string_view text,
                                                                     const std::string& name,
                                                                     const city& c) {
  std::vector<column_mapping> out;
  // The reader fails by throwing load_failure: this is a file-loading boundary.
  try {
    auto root = yaml_reader::load_text(std::string(text), name);
    if (root.is_null()) return out;
    if (!root.is_map()) root.fail("expected a map of column: sensor");
    for (const auto& e : root.entries())
      if (auto error = add_yaml_entry(out, e, name, c)) return unexpected{std::move(*error)};
  } catch (const load_failure& f) {
    return unexpected{f.error};
  }
  return out;
}

bool is_yaml_name(const std::string& name) {
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends_with(".yaml") || ends_with(".yml");
}

// The parts of a time built from separate columns, as in year,month,day,hour.
enum time_part : std::size_t {
  part_year,
  part_month,
  part_day,
  part_hour,
  part_minute,
  part_second
};
constexpr std::array<std::string_view, 6> time_part_names{"year", "month",  "day",
                                                          "hour", "minute", "second"};

}  // namespace

expected<std::vector<column_mapping>, load_error> parse_column_mapping(std::string_view text,
                                                                       const std::string& name,
                                                                       const city& c) {
  return is_yaml_name(name) ? parse_yaml_mapping(text, name, c) : parse_text_mapping(text, name, c);
}

expected<std::vector<column_mapping>, load_error> load_column_mapping(
    const std::filesystem::path& path, const city& c) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected{make_error(path.string(), 0, "", "cannot open the mapping file")};
  std::ostringstream text;
  text << in.rdbuf();
  return parse_column_mapping(text.str(), path.string(), c);
}

// ---------------------------------------------------------------------------------------------

struct csv_replay::impl {
  impl(csv_reader r, std::string n, city_ptr c, replay_options o)
      : reader(std::move(r)), name(std::move(n)), city(std::move(c)), options(std::move(o)) {}

  csv_reader reader;
  std::string name;
  city_ptr city;
  replay_options options;
  replay_form form = replay_form::detect;

  std::optional<std::size_t> time_column;
  std::array<std::optional<std::size_t>, 6> time_parts;
  std::size_t sensor_column = 0;  // long form
  std::size_t value_column = 0;   // long form
  std::vector<column_mapping> mapping;
  std::vector<std::size_t> mapped_columns;  // header index of each mapping entry

  std::vector<reading> pending;
  std::size_t pending_pos = 0;
  std::optional<time_ms> first_time;
  replay_stats stats;
  std::optional<load_error> last_skipped;
  std::optional<load_error> failure;
  bool done = false;

  load_error row_error(std::size_t column, std::string message) const {
    const auto& header = reader.header();
    std::string field = column < header.size() ? header[column] : std::string{};
    return make_error(name, reader.line(), std::move(field),
                      "column " + std::to_string(column + 1) + ": " + std::move(message));
  }

  std::optional<load_error> setup();
  std::optional<load_error> row_time(time_ms& out) const;
  std::optional<load_error> read_row();
  time_ms replay_time(time_ms t);
};

std::optional<load_error> csv_replay::impl::setup() {
  if (!(options.speed > 0) || !std::isfinite(options.speed))
    return make_error(
        name, 0, "speed",
        "replay speed must be a positive number, not " + std::to_string(options.speed));
  if (!reader.is_open()) return make_error(name, 0, "", "cannot open the file");
  if (!reader.read_header()) return make_error(name, 0, "", "the file is empty: no header row");
  const std::size_t header_line = reader.line();

  if (!options.time_column.empty()) {
    time_column = reader.column(options.time_column);
    if (!time_column)
      return make_error(name, header_line, options.time_column,
                        "the timestamp column is not in the header");
  } else {
    for (std::string_view c : {"timestamp", "time", "datetime", "date"})
      if ((time_column = reader.column(c))) break;
    if (!time_column) {
      for (std::size_t i = 0; i < time_parts.size(); ++i)
        time_parts[i] = reader.column(time_part_names[i]);
      if (!time_parts[part_year] || !time_parts[part_month] || !time_parts[part_day] ||
          !time_parts[part_hour])
        return make_error(name, header_line, "timestamp",
                          "no timestamp column: expected 'timestamp' (or 'time', 'datetime', "
                          "'date') or 'year', 'month', 'day', 'hour' columns");
    }
  }

  form = options.form;
  bool has_mapping = !options.mapping.empty() || !options.mapping_file.empty();
  if (form == replay_form::detect)
    form = !has_mapping && reader.column("sensor") && reader.column("value")
               ? replay_form::long_form
               : replay_form::wide_form;

  if (form == replay_form::long_form) {
    auto s = reader.column("sensor");
    auto v = reader.column("value");
    if (!s || !v)
      return make_error(name, header_line, s ? "value" : "sensor",
                        "long form needs 'sensor' and 'value' columns");
    sensor_column = *s;
    value_column = *v;
    return std::nullopt;
  }

  if (!options.mapping.empty()) {
    mapping = options.mapping;
  } else if (!options.mapping_file.empty()) {
    auto m = load_column_mapping(options.mapping_file, *city);
    if (!m) return m.error();
    mapping = std::move(*m);
  } else {
    return make_error(name, header_line, "",
                      "wide form needs a mapping from columns to sensors (or use long form: "
                      "timestamp,sensor,value)");
  }
  if (mapping.empty())
    return make_error(options.mapping_file.string(), 0, "", "the mapping names no column");
  for (const auto& m : mapping) {
    auto col = reader.column(m.column);
    if (!col)
      return make_error(
          name, header_line, m.column,
          "column named in the mapping" +
              (options.mapping_file.empty()
                   ? std::string{}
                   : " (" + options.mapping_file.string() + ":" + std::to_string(m.line) + ")") +
              " is not in the header");
    mapped_columns.push_back(*col);
  }
  return std::nullopt;
}

std::optional<load_error> csv_replay::impl::row_time(time_ms& out) const {
  const auto& f = reader.fields();
  if (time_column) {
    auto t = parse_time_cell(f[*time_column], options.time_format, options.utc_offset_minutes);
    if (!t)
      return row_error(*time_column, "not a timestamp: '" + std::string(f[*time_column]) + "'");
    out = *t;
    return std::nullopt;
  }
  std::array<int, 6> v{0, 1, 1, 0, 0, 0};
  for (std::size_t i = 0; i < time_parts.size(); ++i) {
    if (!time_parts[i]) continue;
    auto n = parse_int(f[*time_parts[i]]);
    if (!n || *n < -100000 || *n > 100000)
      return row_error(*time_parts[i], "not a whole number: '" + f[*time_parts[i]] + "'");
    v[i] = static_cast<int>(*n);
  }
  auto t = utc_ms_of(v[part_year], v[part_month], v[part_day], v[part_hour], v[part_minute],
                     v[part_second]);
  if (!t)
    return row_error(*time_parts[part_year],
                     "not a valid date and time: " + std::to_string(v[part_year]) + "-" +
                         std::to_string(v[part_month]) + "-" + std::to_string(v[part_day]) + " " +
                         std::to_string(v[part_hour]) + ":" + std::to_string(v[part_minute]));
  out = *t - static_cast<time_ms>(options.utc_offset_minutes) * ms_per_minute;
  return std::nullopt;
}

time_ms csv_replay::impl::replay_time(time_ms t) {
  if (!first_time) first_time = t;
  time_ms base = options.start_ms.value_or(*first_time);
  time_ms since_first = t - *first_time;
  if (options.speed == 1) return base + since_first;
  return base +
         static_cast<time_ms>(std::llround(static_cast<double>(since_first) / options.speed));
}

// Reads one data row into `pending`. Sets `done` at the end of the input.
std::optional<load_error> csv_replay::impl::read_row() {
  if (!reader.next()) {
    done = true;
    return std::nullopt;
  }
  ++stats.rows;
  const auto& f = reader.fields();
  const auto& header = reader.header();
  if (f.size() != header.size()) {
    if (reader.truncated())
      return row_error(f.size(),
                       "the last line is cut short (truncated file?): " + std::to_string(f.size()) +
                           " of " + std::to_string(header.size()) + " fields");
    return make_error(
        name, reader.line(), "",
        std::to_string(f.size()) + " fields where the header has " + std::to_string(header.size()));
  }
  time_ms t = 0;
  if (auto e = row_time(t)) return e;

  // Values are checked before anything is handed out so that a bad row contributes nothing.
  std::size_t missing = 0;
  auto value_of = [&](std::size_t column, sensor_kind kind,
                      double& v) -> std::optional<load_error> {
    std::string_view cell = trim(f[column]);
    if (auto d = parse_double(cell)) {
      v = *d;
      return std::nullopt;
    }
    if (kind == sensor_kind::wind_direction)
      if (auto deg = compass_deg(cell)) {
        v = *deg;
        return std::nullopt;
      }
    return row_error(column, "not a number: '" + std::string(cell) + "'");
  };

  std::size_t first_new = pending.size();
  if (form == replay_form::long_form) {
    std::string_view cell = trim(f[value_column]);
    if (is_missing(cell)) {
      ++missing;
    } else {
      std::string_view sensor_name = trim(f[sensor_column]);
      const sensor* s = find_sensor_by_name(*city, sensor_name);
      if (!s) return row_error(sensor_column, "unknown sensor '" + std::string(sensor_name) + "'");
      double v = 0;
      if (auto e = value_of(value_column, s->kind, v)) return e;
      pending.push_back(reading{s->id, 0, v});
    }
  } else {
    for (std::size_t i = 0; i < mapping.size(); ++i) {
      std::size_t column = mapped_columns[i];
      if (is_missing(trim(f[column]))) {
        ++missing;
        continue;
      }
      double v = 0;
      if (auto e = value_of(column, mapping[i].kind, v)) {
        pending.resize(first_new);
        return e;
      }
      pending.push_back(reading{mapping[i].sensor, 0, v * mapping[i].scale + mapping[i].offset});
    }
  }
  time_ms rt = replay_time(t);
  for (std::size_t i = first_new; i < pending.size(); ++i) pending[i].time = rt;
  stats.missing += missing;
  return std::nullopt;
}

csv_replay::csv_replay(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
csv_replay::csv_replay(csv_replay&&) noexcept = default;
csv_replay& csv_replay::operator=(csv_replay&&) noexcept = default;
csv_replay::~csv_replay() = default;

expected<csv_replay, load_error> csv_replay::start(csv_reader reader, std::string name,
                                                   city_ptr city, replay_options options) {
  TWIN_CHECK(city != nullptr);
  auto p = std::make_unique<impl>(std::move(reader), std::move(name), std::move(city),
                                  std::move(options));
  if (auto e = p->setup()) return unexpected{std::move(*e)};
  return csv_replay(std::move(p));
}

expected<csv_replay, load_error> csv_replay::open(const std::filesystem::path& path, city_ptr city,
                                                  replay_options options) {
  return start(csv_reader(path.string()), path.string(), std::move(city), std::move(options));
}

expected<csv_replay, load_error> csv_replay::open_text(std::string text, std::string name,
                                                       city_ptr city, replay_options options) {
  return start(csv_reader::from_string(std::move(text)), std::move(name), std::move(city),
               std::move(options));
}

expected<std::size_t, load_error> csv_replay::next(std::vector<reading>& out, std::size_t max) {
  auto& m = *impl_;
  if (m.failure) return unexpected{*m.failure};
  std::size_t n = 0;
  while (n < max) {
    if (m.pending_pos < m.pending.size()) {
      std::size_t take = std::min(max - n, m.pending.size() - m.pending_pos);
      auto from = m.pending.begin() + static_cast<std::ptrdiff_t>(m.pending_pos);
      out.insert(out.end(), from, from + static_cast<std::ptrdiff_t>(take));
      m.pending_pos += take;
      n += take;
      continue;
    }
    if (m.done) break;
    m.pending.clear();
    m.pending_pos = 0;
    if (auto e = m.read_row()) {
      ++m.stats.errors;
      if (m.stats.errors > m.options.bad_rows_max) {
        --m.stats.errors;  // the failing row is reported, not skipped
        m.failure = std::move(*e);
        m.done = true;
        // Readings already appended are handed out; the error comes with the next call.
        if (n > 0) break;
        return unexpected{*m.failure};
      }
      m.last_skipped = std::move(*e);
    }
  }
  m.stats.readings += n;
  return n;
}

bool csv_replay::done() const {
  return impl_->done && impl_->pending_pos >= impl_->pending.size();
}
replay_form csv_replay::form() const {
  return impl_->form;
}
const replay_stats& csv_replay::stats() const {
  return impl_->stats;
}
const std::optional<load_error>& csv_replay::last_skipped_error() const {
  return impl_->last_skipped;
}

}  // namespace twin
