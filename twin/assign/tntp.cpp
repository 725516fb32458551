#include "twin/assign/tntp.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

namespace twin::tntp {

namespace {

// Reading a file is a boundary: an error unwinds as this exception to the public function, which
// returns it as a load_error. It never leaves this file.
struct parse_failure {
  load_error error;
};

// Splits the text into lines and each line into tokens. '~' starts a comment; ':' and ';' are
// tokens of their own even when written against a number ("1365.90;").
class scanner {
 public:
  scanner(std::string_view text, const std::string& file) : text_(text), file_(file) {}

  // Moves to the next line; false at the end of the text.
  bool next_line() {
    if (pos_ >= text_.size()) return false;
    const std::size_t end = std::min(text_.find('\n', pos_), text_.size());
    line_text_ = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    ++line_;
    tokens_.clear();
    std::string_view s = line_text_;
    if (const auto tilde = s.find('~'); tilde != std::string_view::npos) s = s.substr(0, tilde);
    std::size_t i = 0;
    while (i < s.size()) {
      const char c = s[i];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
        ++i;
      } else if (c == ':' || c == ';') {
        tokens_.push_back(s.substr(i, 1));
        ++i;
      } else {
        std::size_t j = i;
        while (j < s.size() && s[j] != ' ' && s[j] != '\t' && s[j] != '\r' && s[j] != ':' &&
               s[j] != ';' && s[j] != '\f' && s[j] != '\v')
          ++j;
        tokens_.push_back(s.substr(i, j - i));
        i = j;
      }
    }
    return true;
  }

  std::string_view line_text() const { return line_text_; }
  const std::vector<std::string_view>& tokens() const { return tokens_; }
  std::size_t line() const { return line_; }

  [[noreturn]] void fail(std::string field, std::string message) const {
    throw parse_failure{{file_, line_, std::move(field), std::move(message)}};
  }

  double number(std::string_view token, const std::string& field) const {
    double v = 0;
    const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
    if (ec != std::errc{} || end != token.data() + token.size() || !std::isfinite(v))
      fail(field, "not a number: '" + std::string(token) + "'");
    return v;
  }

  std::int32_t integer(std::string_view token, const std::string& field) const {
    std::int32_t v = 0;
    const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
    if (ec != std::errc{} || end != token.data() + token.size())
      fail(field, "not an integer: '" + std::string(token) + "'");
    return v;
  }

  double non_negative(std::string_view token, const std::string& field) const {
    const double v = number(token, field);
    if (v < 0) fail(field, "must not be negative, got " + std::string(token));
    return v;
  }

  std::int32_t in_range(std::string_view token, const std::string& field, std::int32_t low,
                        std::int32_t high, const char* what) const {
    const std::int32_t v = integer(token, field);
    if (v < low || v > high)
      fail(field, std::string("unknown ") + what + " " + std::string(token) +
                      " (valid: " + std::to_string(low) + ".." + std::to_string(high) + ")");
    return v;
  }

 private:
  std::string_view text_;
  const std::string& file_;
  std::size_t pos_ = 0;
  std::size_t line_ = 0;
  std::string_view line_text_;
  std::vector<std::string_view> tokens_;
};

// The metadata block: "<KEY> value" lines up to "<END OF METADATA>". Keys we do not use (such as
// <ORIGINAL HEADER>) are kept but ignored.
struct metadata {
  std::map<std::string, std::pair<std::string, std::size_t>> values;  // key -> (value, line)
  std::size_t end_line = 0;
};

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return std::string(s.substr(first, last - first + 1));
}

metadata read_metadata(scanner& in) {
  metadata m;
  while (in.next_line()) {
    const std::string line = trim(in.line_text());
    if (line.empty()) continue;
    if (line.front() != '<') in.fail("metadata", "expected '<KEY> value' or <END OF METADATA>");
    const auto close = line.find('>');
    if (close == std::string::npos) in.fail("metadata", "'<' without a closing '>'");
    std::string key = line.substr(1, close - 1);
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (key == "END OF METADATA") {
      m.end_line = in.line();
      return m;
    }
    m.values[key] = {trim(std::string_view(line).substr(close + 1)), in.line()};
  }
  in.fail("END OF METADATA", "the file ends before <END OF METADATA>");
}

// A numeric metadata value; the value may carry a trailing ';' or comment.
std::optional<double> meta_number(const metadata& m, const std::string& key,
                                  const std::string& file) {
  const auto it = m.values.find(key);
  if (it == m.values.end()) return std::nullopt;
  scanner s(it->second.first, file);
  s.next_line();
  const auto& t = s.tokens();
  const std::size_t line = it->second.second;
  if (t.empty() || (t.size() > 1 && t[1] != ";"))
    throw parse_failure{{file, line, key, "expected one number, got '" + it->second.first + "'"}};
  double v = 0;
  const auto [end, ec] = std::from_chars(t[0].data(), t[0].data() + t[0].size(), v);
  if (ec != std::errc{} || end != t[0].data() + t[0].size() || !std::isfinite(v))
    throw parse_failure{{file, line, key, "not a number: '" + std::string(t[0]) + "'"}};
  return v;
}

std::int32_t meta_count(const metadata& m, const std::string& key, const std::string& file,
                        std::int32_t low) {
  const auto v = meta_number(m, key, file);
  if (!v) throw parse_failure{{file, m.end_line, key, "missing <" + key + "> in the metadata"}};
  const std::size_t line = m.values.at(key).second;
  if (*v != std::floor(*v) || *v < low || *v > 2.0e9)
    throw parse_failure{{file, line, key,
                         "must be a whole number of at least " + std::to_string(low) + ", got " +
                             m.values.at(key).first}};
  return static_cast<std::int32_t>(*v);
}

// Tokens of a data row without its ';' terminator; text after the ';' is an error.
std::vector<std::string_view> row_fields(const scanner& in) {
  std::vector<std::string_view> fields;
  const auto& t = in.tokens();
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] == ";") {
      if (i + 1 != t.size()) in.fail("row", "text after the ';' that ends the row");
      break;
    }
    fields.push_back(t[i]);
  }
  return fields;
}

bool is_number(std::string_view token) {
  double v = 0;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
  return ec == std::errc{} && end == token.data() + token.size();
}

template <class F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (parse_failure& e) {
    return unexpected{std::move(e.error)};
  }
}

expected<std::string, load_error> read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected{load_error{path.string(), 0, "", "cannot open the file"}};
  std::ostringstream os;
  os << in.rdbuf();
  if (in.bad()) return unexpected{load_error{path.string(), 0, "", "cannot read the file"}};
  return os.str();
}

template <class T, class Parse>
expected<T, load_error> load_with(const std::filesystem::path& path, Parse parse) {
  auto text = read_text(path);
  if (!text) return unexpected{text.error()};
  return parse(*text, path.string());
}

constexpr std::array<const char*, 10> net_columns = {
    "init_node", "term_node", "capacity", "length", "free_flow_time",
    "b",         "power",     "speed",    "toll",   "link_type"};
// Rows may stop after "power": speed, toll and link_type are optional.
constexpr std::size_t net_columns_required = 7;

}  // namespace

expected<net_file, load_error> parse_net(std::string_view text, const std::string& file) {
  return guarded([&]() -> expected<net_file, load_error> {
    scanner in(text, file);
    const metadata m = read_metadata(in);
    net_file net;
    net.zone_count = meta_count(m, "NUMBER OF ZONES", file, 0);
    net.node_count = meta_count(m, "NUMBER OF NODES", file, 1);
    net.first_thru_node = meta_count(m, "FIRST THRU NODE", file, 1);
    const std::int32_t link_count = meta_count(m, "NUMBER OF LINKS", file, 0);
    if (net.zone_count > net.node_count)
      throw parse_failure{{file, m.values.at("NUMBER OF ZONES").second, "NUMBER OF ZONES",
                           "more zones (" + std::to_string(net.zone_count) + ") than nodes (" +
                               std::to_string(net.node_count) + ")"}};
    net.links.reserve(static_cast<std::size_t>(link_count));
    while (in.next_line()) {
      const auto fields = row_fields(in);
      if (fields.empty()) continue;
      if (fields.size() < net_columns_required || fields.size() > net_columns.size())
        in.fail("row", "expected " + std::to_string(net_columns_required) + " to " +
                           std::to_string(net_columns.size()) + " fields, got " +
                           std::to_string(fields.size()));
      link_row r;
      r.line = in.line();
      r.init_node = in.in_range(fields[0], net_columns[0], 1, net.node_count, "node");
      r.term_node = in.in_range(fields[1], net_columns[1], 1, net.node_count, "node");
      r.capacity = in.non_negative(fields[2], net_columns[2]);
      r.length = in.non_negative(fields[3], net_columns[3]);
      r.free_flow_time = in.non_negative(fields[4], net_columns[4]);
      r.b = in.non_negative(fields[5], net_columns[5]);
      r.power = in.non_negative(fields[6], net_columns[6]);
      if (fields.size() > 7) r.speed = in.non_negative(fields[7], net_columns[7]);
      if (fields.size() > 8) r.toll = in.number(fields[8], net_columns[8]);
      if (fields.size() > 9) r.link_type = in.integer(fields[9], net_columns[9]);
      if (r.init_node == r.term_node)
        in.fail(net_columns[1], "a link from node " + std::to_string(r.init_node) + " to itself");
      net.links.push_back(r);
    }
    if (net.links.size() != static_cast<std::size_t>(link_count))
      throw parse_failure{{file, m.values.at("NUMBER OF LINKS").second, "NUMBER OF LINKS",
                           "the metadata declares " + std::to_string(link_count) +
                               " links, the file has " + std::to_string(net.links.size())}};
    return net;
  });
}

expected<trips_file, load_error> parse_trips(std::string_view text, const std::string& file) {
  return guarded([&]() -> expected<trips_file, load_error> {
    scanner in(text, file);
    const metadata m = read_metadata(in);
    trips_file trips;
    trips.zone_count = meta_count(m, "NUMBER OF ZONES", file, 1);
    trips.total_flow_declared = meta_number(m, "TOTAL OD FLOW", file);
    std::vector<std::size_t> row_lines;
    std::int32_t origin = 0;
    while (in.next_line()) {
      const auto& t = in.tokens();
      std::size_t i = 0;
      if (!t.empty() && (t[0] == "Origin" || t[0] == "origin" || t[0] == "ORIGIN")) {
        if (t.size() < 2) in.fail("origin", "'Origin' without a zone number");
        origin = in.in_range(t[1], "origin", 1, trips.zone_count, "zone");
        i = 2;
      }
      // Pairs "destination : flow" each optionally followed by ';'.
      while (i < t.size()) {
        if (t[i] == ";") {
          ++i;
          continue;
        }
        if (origin == 0) in.fail("origin", "a destination before the first 'Origin' line");
        if (i + 2 >= t.size() || t[i + 1] != ":")
          in.fail("destination", "expected 'destination : flow', got '" + std::string(t[i]) + "'");
        od_row r;
        r.origin = origin;
        r.destination = in.in_range(t[i], "destination", 1, trips.zone_count, "zone");
        r.flow = in.non_negative(t[i + 2], "flow");
        trips.rows.push_back(r);
        row_lines.push_back(in.line());
        i += 3;
      }
    }
    // A pair written twice is more likely a broken file than an intended sum.
    std::vector<std::size_t> by_pair(trips.rows.size());
    for (std::size_t k = 0; k < by_pair.size(); ++k) by_pair[k] = k;
    const auto key = [&](std::size_t k) {
      return std::pair(trips.rows[k].origin, trips.rows[k].destination);
    };
    std::stable_sort(by_pair.begin(), by_pair.end(),
                     [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
    for (std::size_t k = 1; k < by_pair.size(); ++k) {
      if (key(by_pair[k]) == key(by_pair[k - 1]))
        throw parse_failure{
            {file, row_lines[by_pair[k]], "destination",
             "origin " + std::to_string(trips.rows[by_pair[k]].origin) + " lists destination " +
                 std::to_string(trips.rows[by_pair[k]].destination) + " twice (first on line " +
                 std::to_string(row_lines[by_pair[k - 1]]) + ")"}};
    }
    return trips;
  });
}

namespace {

// Rows of whitespace-separated numbers, with an optional header line of words at the top.
template <class Row, class Fill>
expected<std::vector<Row>, load_error> parse_table(std::string_view text, const std::string& file,
                                                   std::size_t columns, Fill fill) {
  return guarded([&]() -> expected<std::vector<Row>, load_error> {
    scanner in(text, file);
    std::vector<Row> rows;
    bool header_allowed = true;
    while (in.next_line()) {
      const auto fields = row_fields(in);
      if (fields.empty()) continue;
      if (header_allowed && !is_number(fields[0])) {
        header_allowed = false;
        continue;
      }
      header_allowed = false;
      if (fields.size() != columns)
        in.fail("row", "expected " + std::to_string(columns) + " fields, got " +
                           std::to_string(fields.size()));
      rows.push_back(fill(in, fields));
    }
    return rows;
  });
}

constexpr std::array<const char*, 4> flow_columns = {"from", "to", "volume", "cost"};
constexpr std::array<const char*, 3> node_columns = {"node", "x", "y"};

}  // namespace

expected<std::vector<flow_row>, load_error> parse_flow(std::string_view text,
                                                       const std::string& file) {
  return parse_table<flow_row>(
      text, file, flow_columns.size(),
      [](const scanner& in, const std::vector<std::string_view>& f) {
        flow_row r;
        r.from_node = in.in_range(f[0], flow_columns[0], 1, INT32_MAX, "node");
        r.to_node = in.in_range(f[1], flow_columns[1], 1, INT32_MAX, "node");
        r.volume = in.non_negative(f[2], flow_columns[2]);
        r.cost = in.non_negative(f[3], flow_columns[3]);
        return r;
      });
}

expected<std::vector<node_row>, load_error> parse_nodes(std::string_view text,
                                                        const std::string& file) {
  return parse_table<node_row>(text, file, node_columns.size(),
                               [](const scanner& in, const std::vector<std::string_view>& f) {
                                 node_row r;
                                 r.node = in.in_range(f[0], node_columns[0], 1, INT32_MAX, "node");
                                 r.x = in.number(f[1], node_columns[1]);
                                 r.y = in.number(f[2], node_columns[2]);
                                 return r;
                               });
}

expected<net_file, load_error> load_net(const std::filesystem::path& path) {
  return load_with<net_file>(path, parse_net);
}
expected<trips_file, load_error> load_trips(const std::filesystem::path& path) {
  return load_with<trips_file>(path, parse_trips);
}
expected<std::vector<flow_row>, load_error> load_flow(const std::filesystem::path& path) {
  return load_with<std::vector<flow_row>>(path, parse_flow);
}
expected<std::vector<node_row>, load_error> load_nodes(const std::filesystem::path& path) {
  return load_with<std::vector<node_row>>(path, parse_nodes);
}

}  // namespace twin::tntp
