#include "twin/base/yaml_reader.hpp"

#include <algorithm>
#include <sstream>

#include "twin/base/csv.hpp"
#include "twin/base/text.hpp"
#include "twin/base/time_text.hpp"

namespace twin {

namespace {

std::size_t line_of(const YAML::Mark& m) {
  return m.line >= 0 ? static_cast<std::size_t>(m.line) + 1 : 0;
}

std::string word_list(const std::vector<std::string_view>& words) {
  std::string list;
  for (auto w : words) list += (list.empty() ? "" : ", ") + std::string(w);
  return list;
}

std::string number_text(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

}  // namespace

yaml_reader::yaml_reader(std::shared_ptr<const std::string> file, std::string path, YAML::Node node,
                         std::size_t line)
    : file_(std::move(file)), path_(std::move(path)), node_(std::move(node)), line_(line) {}

yaml_reader yaml_reader::load_text(const std::string& text, std::string name) {
  auto file = std::make_shared<const std::string>(std::move(name));
  try {
    YAML::Node root = YAML::Load(text);
    return yaml_reader(file, "", root, std::max<std::size_t>(line_of(root.Mark()), 1));
  } catch (const YAML::ParserException& e) {
    throw load_failure{{*file, line_of(e.mark), "", "malformed YAML: " + e.msg}};
  }
}

yaml_reader yaml_reader::load_file(const std::filesystem::path& path) {
  auto file = std::make_shared<const std::string>(path.string());
  try {
    YAML::Node root = YAML::LoadFile(*file);
    return yaml_reader(file, "", root, std::max<std::size_t>(line_of(root.Mark()), 1));
  } catch (const YAML::BadFile&) {
    throw load_failure{{*file, 0, "", "cannot open file"}};
  } catch (const YAML::ParserException& e) {
    throw load_failure{{*file, line_of(e.mark), "", "malformed YAML: " + e.msg}};
  }
}

std::string yaml_reader::dump() const {
  return present() ? YAML::Dump(node_) : std::string("(absent)");
}

load_error yaml_reader::error(std::string message) const {
  return load_error{*file_, line_, path_, std::move(message)};
}

void yaml_reader::fail(std::string message) const {
  throw load_failure{error(std::move(message))};
}

yaml_reader yaml_reader::child(std::string path, YAML::Node node) const {
  const std::size_t line = node.IsDefined() ? line_of(node.Mark()) : line_;
  return yaml_reader(file_, std::move(path), std::move(node), line);
}

std::string yaml_reader::child_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

// ---------------------------------------------------------------------------------------------
// Maps and lists

const yaml_reader& yaml_reader::expect_map() const {
  if (!present()) fail("missing");
  if (!node_.IsMap()) fail("expected a map");
  return *this;
}

yaml_reader yaml_reader::operator[](std::string_view key) const {
  if (!present()) return child(child_path(key), YAML::Node(YAML::NodeType::Undefined));
  expect_map();
  for (const auto& kv : node_) {
    if (!kv.first.IsScalar() || kv.first.Scalar() != key) continue;
    return member(kv.first, kv.second);
  }
  return child(child_path(key), YAML::Node(YAML::NodeType::Undefined));
}

yaml_reader yaml_reader::member(const YAML::Node& key, const YAML::Node& value) const {
  auto path = child_path(key.Scalar());
  // yaml-cpp marks an empty value ("key:") where the next token starts: name the key's line.
  if (value.IsNull()) return yaml_reader(file_, std::move(path), value, line_of(key.Mark()));
  return child(std::move(path), value);
}

yaml_reader yaml_reader::required(std::string_view key) const {
  expect_map();
  yaml_reader n = (*this)[key];
  if (!n) n.fail("missing");
  return n;
}

std::string yaml_reader::key_text(const YAML::Node& key) const {
  if (!key.IsScalar()) child(path_, key).fail("a key must be text");
  return key.as<std::string>();
}

void yaml_reader::allow_keys(std::initializer_list<std::string_view> allowed) const {
  expect_map();
  for (const auto& kv : node_) {
    auto key = key_text(kv.first);
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    child(child_path(key), kv.first)
        .fail("unknown key " + text::quoted(key) +
              " (known: " + word_list(std::vector<std::string_view>(allowed)) + ")");
  }
}

std::vector<yaml_entry> yaml_reader::entries() const {
  expect_map();
  std::vector<yaml_entry> out;
  for (const auto& kv : node_) {
    auto name = key_text(kv.first);
    out.push_back(yaml_entry{name, child(child_path(name), kv.first), member(kv.first, kv.second)});
  }
  return out;
}

std::vector<yaml_reader> yaml_reader::items() const {
  if (!present()) fail("missing");
  if (!node_.IsSequence()) fail("expected a list");
  std::vector<yaml_reader> out;
  for (std::size_t i = 0; i < node_.size(); ++i)
    out.push_back(child(path_ + "[" + std::to_string(i) + "]", node_[i]));
  return out;
}

std::vector<yaml_reader> yaml_reader::one_or_many() const {
  if (is_scalar()) return {*this};
  if (!is_sequence()) fail(present() ? "expected a value or a list of values" : "missing");
  auto out = items();
  if (out.empty()) fail("must not be an empty list");
  return out;
}

// ---------------------------------------------------------------------------------------------
// Scalars

std::string yaml_reader::scalar() const {
  if (!present()) fail("missing");
  if (!node_.IsScalar()) fail("expected text");
  return node_.as<std::string>();
}

std::string yaml_reader::text() const {
  auto s = scalar();
  if (trim(s).empty()) fail("must not be empty");
  return s;
}

double yaml_reader::number() const {
  if (!present()) fail("missing");
  if (!node_.IsScalar()) fail("expected a number");
  auto s = node_.as<std::string>();
  auto v = parse_double(s);
  if (!v) fail(text::quoted(s) + " is not a finite number");
  return *v;
}

time_ms yaml_reader::duration(time_ms max_ms) const {
  if (!present()) fail("missing");
  if (!node_.IsScalar()) fail("expected a duration");
  auto d = parse_duration_ms(node_.as<std::string>());
  if (!d) fail(d.error());
  if (*d <= 0 || *d > max_ms)
    fail("must be above 0 and at most " + duration_text(max_ms) + ", got " + scalar());
  return *d;
}

double yaml_reader::non_negative() const {
  double v = number();
  if (v < 0) fail("must not be negative, got " + scalar());
  return v;
}

double yaml_reader::positive() const {
  double v = number();
  if (!(v > 0)) fail("must be positive, got " + scalar());
  return v;
}

double yaml_reader::number_in(double min, double max) const {
  double v = number();
  if (v < min || v > max)
    fail("must be in [" + number_text(min) + ", " + number_text(max) + "], got " + scalar());
  return v;
}

std::int64_t yaml_reader::whole(std::int64_t min, std::int64_t max) const {
  if (!present()) fail("missing");
  if (!node_.IsScalar()) fail("expected a whole number");
  auto s = node_.as<std::string>();
  auto v = parse_int(s);
  if (!v || *v < min || *v > max)
    fail(text::quoted(s) + " is not a whole number in [" + std::to_string(min) + ", " +
         std::to_string(max) + "]");
  return *v;
}

std::size_t yaml_reader::choice(std::string_view what,
                                std::initializer_list<std::string_view> words) const {
  return choice_index(what, std::vector<std::string_view>(words));
}

std::size_t yaml_reader::choice_index(std::string_view what,
                                      const std::vector<std::string_view>& words) const {
  auto s = text();
  for (std::size_t i = 0; i < words.size(); ++i)
    if (words[i] == s) return i;
  fail("unknown " + std::string(what) + " " + text::quoted(s) + " (known: " + word_list(words) +
       ")");
}

time_ms yaml_reader::time() const {
  auto s = text();
  auto t = parse_iso8601_ms(s, std::nullopt);
  if (!t)
    fail(text::quoted(s) +
         " is not an ISO 8601 time with its zone, such as 2024-08-15T14:00:00+08:00");
  return *t;
}

}  // namespace twin
