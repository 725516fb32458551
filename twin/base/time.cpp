#include "twin/base/time.hpp"

#include <chrono>

namespace twin {

time_ms system_clock::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace twin
