#pragma once

#include <functional>
#include <utility>

namespace actors {

// A callback that runs exactly once. It travels inside messages; when the last copy of a
// message dies without it having run (the actor it was sent to stopped), it runs with the
// fallback value instead, so a caller is never left waiting.
template <class T>
class completion {
 public:
  completion(std::function<void(T)> fn, T fallback)
      : fn_(std::move(fn)), fallback_(std::move(fallback)) {}
  ~completion() {
    if (fn_) fn_(std::move(fallback_));
  }
  completion(const completion&) = delete;
  completion& operator=(const completion&) = delete;

  void complete(T value) {
    if (auto fn = std::exchange(fn_, nullptr)) fn(std::move(value));
  }

 private:
  std::function<void(T)> fn_;
  T fallback_;
};

}  // namespace actors
