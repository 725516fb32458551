#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "twin/base/expected.hpp"
#include "twin/city/city.hpp"

namespace twin {

// Why a file could not be loaded: which file, where in it, which field, and what is wrong.
struct load_error {
  std::string file;
  std::size_t line = 0;  // 1-based; 0 when not known
  std::string field;
  std::string message;
  // "examples/macau/sensors.csv:12: field 'kind': unknown sensor kind 'pm3'"
  std::string to_string() const;
};

// Loads a city bundle: a folder with city.yaml and the data files it names.
expected<city, load_error> load_city(const std::filesystem::path& dir);

}  // namespace twin
