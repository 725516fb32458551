#include "twin/base/load_error.hpp"

namespace twin {

std::string load_error::to_string() const {
  std::string where = file;
  if (line > 0) where += (where.empty() ? "line " : ":") + std::to_string(line);
  std::string out;
  if (!where.empty()) out = where + ": ";
  if (!field.empty()) out += "field '" + field + "': ";
  out += message;
  return out;
}

}  // namespace twin
