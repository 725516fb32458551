#include "bench/raw_transport.hpp"

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <zmq.hpp>

#include "twin/base/check.hpp"

namespace bench {

raw_result run_raw_transport(const std::vector<std::vector<std::byte>>& frames,
                             std::uint64_t frames_total, std::uint32_t readings_per_frame) {
  TWIN_CHECK(!frames.empty());
  zmq::context_t context(1);
  zmq::socket_t pull(context, zmq::socket_type::pull);
  pull.set(zmq::sockopt::linger, 0);
  pull.bind("tcp://127.0.0.1:0");
  const std::string endpoint = pull.get(zmq::sockopt::last_endpoint);

  // The receiver confirms the connection first so that the clock starts with data flowing.
  zmq::socket_t push(context, zmq::socket_type::push);
  push.set(zmq::sockopt::linger, 0);
  push.connect(endpoint);
  {
    zmq::message_t hello(std::size_t{0});
    push.send(hello, zmq::send_flags::none);
    zmq::message_t got;
    (void)pull.recv(got, zmq::recv_flags::none);
  }

  raw_result result;
  std::uint64_t bytes_received = 0;
  std::thread receiver([&] {
    zmq::message_t m;
    for (std::uint64_t i = 0; i < frames_total; ++i) {
      (void)pull.recv(m, zmq::recv_flags::none);
      bytes_received += m.size();
    }
  });
  const auto start = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < frames_total; ++i) {
    const auto& f = frames[i % frames.size()];
    // Copied into the message as a gateway does with its encoded batch.
    zmq::message_t m(f.data(), f.size());
    push.send(m, zmq::send_flags::none);
  }
  receiver.join();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.frames = frames_total;
  result.readings = frames_total * readings_per_frame;
  result.bytes = bytes_received;
  return result;
}

}  // namespace bench
