#pragma once

#include <cstddef>
#include <string>

namespace twin {

// Why a file could not be loaded: which file, where in it, which field, and what is wrong.
struct load_error {
  std::string file;
  std::size_t line = 0;  // 1-based; 0 when not known
  std::string field;     // a column, or a path into a document such as "rules[1].severity"
  std::string message;
  // "examples/macau/sensors.csv:12: field 'kind': unknown sensor kind 'pm3'"
  std::string to_string() const;
};

// Thrown by the readers of a file deep inside a loader; the loader's public function catches it
// and returns the load_error. It never crosses a loader's interface.
struct load_failure {
  load_error error;
};

}  // namespace twin
