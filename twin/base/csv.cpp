#include "twin/base/csv.hpp"

#include <charconv>
#include <cmath>

namespace twin {

csv_reader::csv_reader(const std::string& path) : file_(path, std::ios::binary) {
  open_ = file_.is_open();
}

csv_reader csv_reader::from_string(std::string text) {
  csv_reader r;
  r.text_ = std::move(text);
  r.from_text_ = true;
  r.open_ = true;
  return r;
}

bool csv_reader::read_line(std::string& out) {
  out.clear();
  if (from_text_) {
    if (text_pos_ >= text_.size()) return false;
    auto nl = text_.find('\n', text_pos_);
    if (nl == std::string::npos) {
      out.assign(text_, text_pos_, std::string::npos);
      text_pos_ = text_.size();
      last_line_had_newline_ = false;
    } else {
      out.assign(text_, text_pos_, nl - text_pos_);
      text_pos_ = nl + 1;
      last_line_had_newline_ = true;
    }
  } else {
    if (!std::getline(file_, out)) return false;
    last_line_had_newline_ = !file_.eof();
  }
  if (!out.empty() && out.back() == '\r') out.pop_back();
  ++line_;
  return true;
}

void csv_reader::split(std::string_view line, std::vector<std::string>& out) const {
  out.clear();
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field.push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(std::move(field));
      field.clear();
    } else {
      field.push_back(c);
    }
  }
  out.push_back(std::move(field));
}

bool csv_reader::read_header() {
  while (read_line(buf_)) {
    auto t = trim(buf_);
    if (t.empty() || t.front() == '#') continue;
    // A UTF-8 byte order mark before the first column name is not part of the name.
    std::string_view line = buf_;
    if (line.size() >= 3 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    split(line, header_);
    for (auto& h : header_) h = std::string(trim(h));
    return true;
  }
  return false;
}

std::optional<std::size_t> csv_reader::column(std::string_view name) const {
  for (std::size_t i = 0; i < header_.size(); ++i)
    if (header_[i] == name) return i;
  return std::nullopt;
}

bool csv_reader::next() {
  while (read_line(buf_)) {
    auto t = trim(buf_);
    if (t.empty() || t.front() == '#') continue;
    split(buf_, fields_);
    truncated_ = !last_line_had_newline_ && fields_.size() < header_.size();
    return true;
  }
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::optional<double> parse_double(std::string_view s) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  if (s.front() == '+') s.remove_prefix(1);
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<long long> parse_int(std::string_view s) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  if (s.front() == '+') s.remove_prefix(1);
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace twin
