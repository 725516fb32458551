#include "twin/base/yaml_reader.hpp"

#include <doctest/doctest.h>

#include <array>
#include <string>

namespace {

using twin::yaml_reader;

// The error a read throws, or an empty one when it does not throw.
template <class Read>
twin::load_error failure_of(Read read) {
  try {
    read();
  } catch (const twin::load_failure& f) {
    return f.error;
  }
  return {};
}

const char* const doc =
    "name: Macau\n"                          // 1
    "limit: 2.5\n"                           // 2
    "count: 12\n"                            // 3
    "rules:\n"                               // 4
    "  - id: a\n"                            // 5
    "    severity: info\n"                   // 6
    "  - id: b\n"                            // 7
    "    severity: urgent\n"                 // 8
    "    when: 2024-08-15T14:00:00+08:00\n"  // 9
    "blank: ' '\n"                           // 10
    "nothing:\n"                             // 11
    "one: x\n"                               // 12
    "many: [x, y]\n";                        // 13

enum class level { info, warning, critical };
std::string_view to_string(level l) {
  return l == level::info ? "info" : l == level::warning ? "warning" : "critical";
}

}  // namespace

TEST_CASE("yaml reader reads typed scalars") {
  auto root = yaml_reader::load_text(doc, "city.yaml");
  CHECK(root.file() == "city.yaml");
  CHECK(root["name"].text() == "Macau");
  CHECK(root["limit"].number() == 2.5);
  CHECK(root["limit"].positive() == 2.5);
  CHECK(root["limit"].number_in(0, 3) == 2.5);
  CHECK(root["count"].whole(0, 100) == 12);
  CHECK(root["one"].one_or_many().size() == 1);
  CHECK(root["many"].one_or_many().size() == 2);
  CHECK(root["many"].one_or_many()[1].path() == "many[1]");
  CHECK_FALSE(root["absent"].present());
  CHECK(root["nothing"].is_null());
  auto rules = root["rules"].items();
  REQUIRE(rules.size() == 2);
  CHECK(rules[0]["severity"].choice("severity", {"info", "warning", "critical"}) == 0);
  constexpr std::array<level, 3> levels{level::info, level::warning, level::critical};
  CHECK(rules[0]["severity"].choice_of<level>("severity", levels) == level::info);
  CHECK(rules[1]["when"].time() == 1723701600000);
  CHECK(rules[1]["when"].line() == 9);
  auto entries = root.entries();
  REQUIRE(entries.size() == 8);
  CHECK(entries[3].name == "rules");
  CHECK(entries[3].value.path() == "rules");
}

TEST_CASE("yaml reader names the file, the line and the field path of a failure") {
  auto root = yaml_reader::load_text(doc, "city.yaml");
  auto rules = root["rules"].items();

  auto e = failure_of([&] { rules[1]["severity"].choice("severity", {"info", "warning"}); });
  CHECK(e.to_string() ==
        "city.yaml:8: field 'rules[1].severity': unknown severity 'urgent' (known: info, warning)");
  e = failure_of([&] { root["name"].number(); });
  CHECK(e.to_string() == "city.yaml:1: field 'name': 'Macau' is not a finite number");
  e = failure_of([&] { root["count"].whole(0, 10); });
  CHECK(e.to_string() == "city.yaml:3: field 'count': '12' is not a whole number in [0, 10]");
  e = failure_of([&] { root["limit"].number_in(0, 1); });
  CHECK(e.to_string() == "city.yaml:2: field 'limit': must be in [0, 1], got 2.5");
  e = failure_of([&] { root["blank"].text(); });
  CHECK(e.to_string() == "city.yaml:10: field 'blank': must not be empty");
  e = failure_of([&] { root["nothing"].text(); });
  CHECK(e.to_string() == "city.yaml:11: field 'nothing': expected text");
  e = failure_of([&] { rules[0].required("window"); });
  CHECK(e.to_string() == "city.yaml:5: field 'rules[0].window': missing");
  e = failure_of([&] { rules[1]["id"].time(); });
  CHECK(e.message ==
        "'b' is not an ISO 8601 time with its zone, such as 2024-08-15T14:00:00+08:00");
  e = failure_of([&] { root["name"].items(); });
  CHECK(e.to_string() == "city.yaml:1: field 'name': expected a list");
  e = failure_of([&] { root["name"]["x"]; });
  CHECK(e.to_string() == "city.yaml:1: field 'name': expected a map");
  e = failure_of([&] { root["limit"].non_negative(); });
  CHECK(e.message.empty());
}

TEST_CASE("yaml reader refuses unknown keys, naming the key and the allowed ones") {
  auto root = yaml_reader::load_text(doc, "city.yaml");
  auto rules = root["rules"].items();
  auto e = failure_of([&] { rules[1].allow_keys({"id", "severity"}); });
  CHECK(e.to_string() ==
        "city.yaml:9: field 'rules[1].when': unknown key 'when' (known: id, severity)");
  e = failure_of([&] { rules[0].allow_keys({"id", "severity"}); });
  CHECK(e.message.empty());
}

TEST_CASE("yaml reader reports files it cannot open or parse") {
  auto e = failure_of([] { yaml_reader::load_file("/nonexistent/city.yaml"); });
  CHECK(e.to_string() == "/nonexistent/city.yaml: cannot open file");
  e = failure_of([] { yaml_reader::load_text("a: 1\nb: [1, 2\n", "x.yaml"); });
  CHECK(e.file == "x.yaml");
  CHECK(e.line == 3);
  CHECK(e.message.rfind("malformed YAML: ", 0) == 0);
}
