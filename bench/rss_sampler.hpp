#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace bench {

// Resident set size of this process in bytes (VmRSS), or 0 when /proc cannot be read.
std::uint64_t rss_bytes();
// Bytes the allocator has handed out and not got back (glibc mallinfo2), whatever RSS holds.
std::uint64_t heap_in_use_bytes();
// Highest resident set size of this process so far (VmHWM), or 0.
std::uint64_t rss_peak_bytes();

struct rss_sample {
  double elapsed_s = 0;
  std::uint64_t rss_bytes = 0;
  std::uint64_t heap_bytes = 0;     // 0 when not read in this sample
  std::uint64_t readings_sent = 0;  // progress of the feed when the sample was taken
};

// Samples the process RSS on its own thread at a fixed interval, together with the feed's
// progress, so that memory can be compared at different points of one run.
class rss_sampler {
 public:
  rss_sampler(const std::atomic<std::uint64_t>& readings_sent, std::chrono::milliseconds interval);
  ~rss_sampler();
  rss_sampler(const rss_sampler&) = delete;
  rss_sampler& operator=(const rss_sampler&) = delete;

  // Stops sampling (idempotent), takes a last sample then, and returns every sample taken.
  std::vector<rss_sample> stop();
  std::uint64_t samples_dropped() const { return samples_dropped_; }

 private:
  void run();
  void take_sample(bool heap);

  const std::atomic<std::uint64_t>& readings_sent_;
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
  std::vector<rss_sample> samples_;
  std::uint64_t samples_dropped_ = 0;
  std::uint64_t samples_taken_ = 0;
  static constexpr std::uint64_t heap_every = 10;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// At most one hour of samples at 100 ms; later samples are counted, not kept.
inline constexpr std::size_t rss_samples_max = 36'000;

// The highest RSS among samples taken while at most `readings` had been sent.
std::uint64_t peak_until(const std::vector<rss_sample>& samples, std::uint64_t readings);
// The same for heap in use.
std::uint64_t heap_peak_until(const std::vector<rss_sample>& samples, std::uint64_t readings);

}  // namespace bench
