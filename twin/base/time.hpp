#pragma once

#include <cstdint>

namespace twin {

// Milliseconds since the Unix epoch, UTC. Every timestamp in citytwin is one.
using time_ms = std::int64_t;

inline constexpr time_ms ms_per_second = 1000;
inline constexpr time_ms ms_per_minute = 60 * ms_per_second;
inline constexpr time_ms ms_per_hour = 60 * ms_per_minute;
inline constexpr time_ms ms_per_day = 24 * ms_per_hour;

// Time comes in through this interface so that tests and simulations control it.
class clock {
 public:
  virtual ~clock() = default;
  virtual time_ms now_ms() const = 0;
};

// The real wall clock.
class system_clock final : public clock {
 public:
  time_ms now_ms() const override;
};

// A clock that moves only when told to (tests, simulations, replays).
class manual_clock final : public clock {
 public:
  explicit manual_clock(time_ms start = 0) : now_(start) {}
  time_ms now_ms() const override { return now_; }
  void set(time_ms t) { now_ = t; }
  void advance(time_ms dt) { now_ += dt; }

 private:
  time_ms now_;
};

}  // namespace twin
