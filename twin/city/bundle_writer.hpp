#pragma once

#include <filesystem>
#include <variant>

#include "twin/base/expected.hpp"
#include "twin/city/bundle.hpp"
#include "twin/city/city.hpp"

namespace twin {

// Nothing to return on success.
using write_result = expected<std::monostate, load_error>;

// Writes a city as a bundle folder (city.yaml, districts.geojson and the CSV files), creating the
// folder when missing and replacing files of the same names. load_city reads it back identically:
// numbers are written in their shortest exact form. A failure names the file that could not be
// written, or the field that cannot be represented (text with a line break).
write_result write_city(const city& c, const std::filesystem::path& dir);

}  // namespace twin
