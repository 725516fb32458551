#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "twin/base/expected.hpp"
#include "twin/base/load_error.hpp"
#include "twin/city/city.hpp"

namespace twin {

// Loads a city bundle: a folder with city.yaml and the data files it names.
expected<city, load_error> load_city(const std::filesystem::path& dir);

}  // namespace twin
