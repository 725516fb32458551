#include "bench/rss_sampler.hpp"

#include <malloc.h>

#include <algorithm>
#include <fstream>
#include <string>

namespace bench {

namespace {

// Reads a "Name:   1234 kB" line of /proc/self/status.
std::uint64_t status_kb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) != 0) continue;
    return std::stoull(line.substr(field.size())) * 1024;
  }
  return 0;
}

}  // namespace

std::uint64_t rss_bytes() {
  return status_kb("VmRSS:");
}
std::uint64_t rss_peak_bytes() {
  return status_kb("VmHWM:");
}

std::uint64_t heap_in_use_bytes() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

rss_sampler::rss_sampler(const std::atomic<std::uint64_t>& readings_sent,
                         std::chrono::milliseconds interval)
    : readings_sent_(readings_sent),
      interval_(interval),
      start_(std::chrono::steady_clock::now()),
      thread_([this] { run(); }) {}

rss_sampler::~rss_sampler() {
  stop();
}

std::vector<rss_sample> rss_sampler::stop() {
  stopping_ = true;
  if (thread_.joinable()) {
    thread_.join();
    // The state at the stop is a sample too: the last interval before it may hold the peak.
    take_sample(true);
  }
  std::lock_guard lock(mutex_);
  return samples_;
}

void rss_sampler::take_sample(bool heap) {
  const auto now = std::chrono::steady_clock::now();
  rss_sample s{std::chrono::duration<double>(now - start_).count(), rss_bytes(),
               heap ? heap_in_use_bytes() : 0, readings_sent_.load(std::memory_order_relaxed)};
  std::lock_guard lock(mutex_);
  if (samples_.size() < rss_samples_max)
    samples_.push_back(s);
  else
    ++samples_dropped_;
}

void rss_sampler::run() {
  auto next = std::chrono::steady_clock::now();
  while (!stopping_) {
    // mallinfo2 walks the allocator's arenas under their locks, which slows a busy process: the
    // heap is read only every heap_every-th sample.
    take_sample(samples_taken_++ % heap_every == 0);
    next += interval_;
    std::this_thread::sleep_until(next);
  }
}

std::uint64_t peak_until(const std::vector<rss_sample>& samples, std::uint64_t readings) {
  std::uint64_t peak = 0;
  for (const auto& s : samples)
    if (s.readings_sent <= readings) peak = std::max(peak, s.rss_bytes);
  return peak;
}

std::uint64_t heap_peak_until(const std::vector<rss_sample>& samples, std::uint64_t readings) {
  std::uint64_t peak = 0;
  for (const auto& s : samples)
    if (s.readings_sent <= readings) peak = std::max(peak, s.heap_bytes);
  return peak;
}

}  // namespace bench
