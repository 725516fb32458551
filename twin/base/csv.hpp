#pragma once

#include <cstddef>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace twin {

// A streaming CSV reader: RFC 4180 quoting (commas, doubled quotes; no newlines inside quotes),
// '#' comment lines and blank lines skipped, CRLF tolerated, UTF-8 passed through. Knows the
// 1-based line number of the current row so that errors can name it.
class csv_reader {
 public:
  // Reads from a file; check is_open().
  explicit csv_reader(const std::string& path);
  // Reads from text in memory (tests).
  static csv_reader from_string(std::string text);

  bool is_open() const { return open_; }

  // Reads the header row. False when the input is empty.
  bool read_header();
  const std::vector<std::string>& header() const { return header_; }
  // Index of a header column, by exact name.
  std::optional<std::size_t> column(std::string_view name) const;

  // Reads the next data row into fields(). False at end of input.
  bool next();
  const std::vector<std::string>& fields() const { return fields_; }
  std::size_t line() const { return line_; }
  // True when the last row read was cut short: the input ended without a newline and the row has
  // fewer fields than the header (a truncated file).
  bool truncated() const { return truncated_; }

 private:
  csv_reader() = default;
  bool read_line(std::string& out);
  void split(std::string_view line, std::vector<std::string>& out) const;

  std::ifstream file_;
  std::string text_;
  std::size_t text_pos_ = 0;
  bool from_text_ = false;
  bool open_ = false;
  bool last_line_had_newline_ = true;
  bool truncated_ = false;
  std::size_t line_ = 0;
  std::string buf_;
  std::vector<std::string> header_;
  std::vector<std::string> fields_;
};

// Strict number parsing for data files: the whole (trimmed) text must be a finite number.
std::optional<double> parse_double(std::string_view s);
std::optional<long long> parse_int(std::string_view s);
std::string_view trim(std::string_view s);

}  // namespace twin
