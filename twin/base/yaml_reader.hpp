#pragma once

// Reading YAML files that people write: every read checks the type and the value, and every
// failure names the file, the line and the path of the field ("rules[1].severity").

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "twin/base/load_error.hpp"
#include "twin/base/time.hpp"

namespace twin {

struct yaml_entry;

// One node of a document, with where it is. A node may be absent (a key the map does not have):
// it is then false, and reading it fails with "missing" at its parent's line.
//
// A failed read throws load_failure (twin/base/load_error.hpp): a loader reads with these and
// catches load_failure at its boundary, returning the load_error it holds.
class yaml_reader {
 public:
  // The root of a file: "cannot open file" or "malformed YAML: ..." (with the line) when it
  // cannot be read.
  static yaml_reader load_file(const std::filesystem::path& path);
  // The root of a document in memory; `name` stands for the file name in errors.
  static yaml_reader load_text(const std::string& text, std::string name);

  const std::string& file() const { return *file_; }
  // The path from the root, e.g. "rules[1].severity"; empty at the root.
  const std::string& path() const { return path_; }
  // 1-based; 0 when not known.
  std::size_t line() const { return line_; }

  bool present() const { return node_.IsDefined(); }
  explicit operator bool() const { return present(); }
  bool is_map() const { return present() && node_.IsMap(); }
  bool is_sequence() const { return present() && node_.IsSequence(); }
  bool is_scalar() const { return present() && node_.IsScalar(); }
  bool is_null() const { return present() && node_.IsNull(); }
  // The node itself, for what the reader does not cover.
  const YAML::Node& node() const { return node_; }
  // The node as YAML text, for messages.
  std::string dump() const;

  // The error at this node: "file:line: field 'path': message".
  load_error error(std::string message) const;
  [[noreturn]] void fail(std::string message) const;

  // --- maps
  // The member `key`; absent when the map has no such key. Fails when this is not a map.
  yaml_reader operator[](std::string_view key) const;
  // The member `key`; fails with "missing" when absent.
  yaml_reader required(std::string_view key) const;
  // Fails with "expected a map" unless this is a map.
  const yaml_reader& expect_map() const;
  // A misspelt key must not be dropped silently: every key must be one of `allowed`, else the
  // read fails at that key, naming it and the allowed ones. Also checks that this is a map.
  void allow_keys(std::initializer_list<std::string_view> allowed) const;
  // The members in file order.
  std::vector<yaml_entry> entries() const;

  // --- lists
  // The items of a list (paths "name[0]", "name[1]", ...); fails with "expected a list".
  std::vector<yaml_reader> items() const;
  // A scalar as a list of one, or a non-empty list.
  std::vector<yaml_reader> one_or_many() const;
  std::size_t size() const { return present() ? node_.size() : 0; }

  // --- scalars
  // The text of a scalar, possibly empty; fails with "expected text" for a map, list or null.
  std::string scalar() const;
  // Text that is not blank.
  std::string text() const;
  // A finite number.
  double number() const;
  double non_negative() const;
  double positive() const;
  // A finite number in [min, max].
  double number_in(double min, double max) const;
  // A whole number in [min, max].
  std::int64_t whole(std::int64_t min, std::int64_t max) const;
  // One of `words`: its index. Fails with "unknown <what> 'x' (known: a, b, c)".
  std::size_t choice(std::string_view what, std::initializer_list<std::string_view> words) const;
  // One of `values`, each written as to_string(value) says.
  template <class E, class Values>
  E choice_of(std::string_view what, const Values& values) const {
    std::vector<std::string_view> words;
    for (const E& v : values) words.push_back(to_string(v));
    return *(std::begin(values) + static_cast<std::ptrdiff_t>(choice_index(what, words)));
  }
  // An ISO 8601 date-time with its zone ("2024-08-15T14:00:00+08:00", "2024-08-15T06:00Z").
  time_ms time() const;
  // A duration as parse_duration_ms reads it ("90s", "15m", "1h"), in (0, max_ms].
  time_ms duration(time_ms max_ms) const;

 private:
  yaml_reader(std::shared_ptr<const std::string> file, std::string path, YAML::Node node,
              std::size_t line);
  yaml_reader child(std::string path, YAML::Node node) const;
  std::string child_path(std::string_view key) const;
  std::string key_text(const YAML::Node& key) const;
  yaml_reader member(const YAML::Node& key, const YAML::Node& value) const;
  std::size_t choice_index(std::string_view what, const std::vector<std::string_view>& words) const;

  std::shared_ptr<const std::string> file_;
  std::string path_;
  YAML::Node node_;
  std::size_t line_ = 0;
};

// A member of a map: its key (as text and as a node, to fail at the key) and its value.
struct yaml_entry {
  std::string name;
  yaml_reader key;
  yaml_reader value;
};

}  // namespace twin
