#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

#include <doctest/doctest.h>
#include <zmq.hpp>

#include "cluster/gateway.hpp"
#include "cluster/ingest_server.hpp"

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// Sensors 0..999 exist; NaN values are rejected. Deduplicates by batch key as the twin does, and
// can hold completions back to play a slow twin.
class test_sink final : public twin::batch_sink {
 public:
  enum class mode { immediate, hold, hold_first };

  explicit test_sink(mode m = mode::immediate) : mode_(m) {}

  void submit(twin::reading_batch_ptr batch, std::function<void(twin::batch_ack)> done) override {
    std::unique_lock lock(mutex_);
    ++submits_;
    twin::batch_ack ack;
    ack.key = batch->key;
    const auto n = static_cast<std::uint32_t>(batch->readings.size());
    if (!applied_.insert(std::tuple(batch->key.gateway, batch->key.session, batch->key.sequence))
             .second) {
      ack.status = twin::ack_status::duplicate;
      ack.rejected[twin::reject_reason::duplicate] = n;
      ++duplicates_;
    } else {
      for (const auto& r : batch->readings) {
        if (r.sensor.value >= 1000)
          ++ack.rejected[twin::reject_reason::unknown_sensor];
        else if (!std::isfinite(r.value))
          ++ack.rejected[twin::reject_reason::non_finite];
        else
          ++ack.accepted;
      }
      readings_applied_ += ack.accepted;
    }
    ++outstanding_;
    outstanding_peak_ = std::max(outstanding_peak_, outstanding_);
    const bool hold = mode_ == mode::hold || (mode_ == mode::hold_first && submits_ == 1);
    if (hold) {
      held_.emplace_back(std::move(done), std::move(ack));
      changed_.notify_all();
      return;
    }
    --outstanding_;
    lock.unlock();
    done(std::move(ack));
  }

  // Completes everything held; with `then_immediate`, later batches complete at once.
  void release(bool then_immediate = false) {
    std::vector<std::pair<std::function<void(twin::batch_ack)>, twin::batch_ack>> held;
    {
      std::lock_guard lock(mutex_);
      held.swap(held_);
      outstanding_ -= held.size();
      if (then_immediate) mode_ = mode::immediate;
    }
    for (auto& [done, ack] : held) done(std::move(ack));
  }

  bool wait_held(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return held_.size() >= n; });
  }

  std::size_t held() {
    std::lock_guard lock(mutex_);
    return held_.size();
  }
  std::uint64_t readings_applied() {
    std::lock_guard lock(mutex_);
    return readings_applied_;
  }
  std::uint64_t duplicates() {
    std::lock_guard lock(mutex_);
    return duplicates_;
  }
  std::uint64_t submits() {
    std::lock_guard lock(mutex_);
    return submits_;
  }
  std::size_t outstanding_peak() {
    std::lock_guard lock(mutex_);
    return outstanding_peak_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  mode mode_;
  std::set<std::tuple<std::uint64_t, std::uint64_t, std::uint64_t>> applied_;
  std::vector<std::pair<std::function<void(twin::batch_ack)>, twin::batch_ack>> held_;
  std::uint64_t submits_ = 0;
  std::uint64_t duplicates_ = 0;
  std::uint64_t readings_applied_ = 0;
  std::size_t outstanding_ = 0;
  std::size_t outstanding_peak_ = 0;
};

class counting_observer final : public twin::ingest_observer {
 public:
  void batch_done(twin::ack_status status, std::uint32_t accepted,
                  const twin::reject_counts& rejected, double latency_s) override {
    ++batches;
    ++by_status[static_cast<std::size_t>(status)];
    if (status == twin::ack_status::malformed) ++malformed;
    if (status == twin::ack_status::wrong_version) ++wrong_version;
    this->accepted += accepted;
    for (std::size_t i = 0; i < twin::reject_reason_count; ++i)
      this->rejected[i] += rejected.by_reason[i];
    if (latency_s < 0) ++negative_latency;
  }
  void decode_failed() override { ++decode_failures; }
  void ack_unsent() override { ++acks_unsent; }
  void frame_dropped(twin::frame_drop) override { ++frames_dropped; }
  std::uint64_t rejected_of(twin::reject_reason r) const {
    return rejected[static_cast<std::size_t>(r)];
  }
  std::array<std::atomic<std::uint64_t>, twin::ack_status_count> by_status{};
  std::array<std::atomic<std::uint64_t>, twin::reject_reason_count> rejected{};
  std::atomic<std::uint64_t> acks_unsent{0}, frames_dropped{0};
  void in_flight(std::uint32_t n) override {
    std::uint32_t seen = in_flight_peak;
    while (n > seen && !in_flight_peak.compare_exchange_weak(seen, n)) {
    }
  }
  std::atomic<std::uint64_t> batches{0}, malformed{0}, wrong_version{0}, accepted{0},
      decode_failures{0}, negative_latency{0};
  std::atomic<std::uint32_t> in_flight_peak{0};
};

// 256 readings: every 16th of an unknown sensor, every 32nd (of the rest) NaN.
std::vector<twin::reading> make_batch(std::uint32_t salt) {
  std::vector<twin::reading> r(256);
  for (std::uint32_t i = 0; i < r.size(); ++i) {
    const bool unknown = i % 16 == 15;
    const bool nan = !unknown && i % 32 == 0;
    r[i] = {twin::sensor_id{unknown ? 5000 + i : (i + salt) % 1000}, 1'700'000'000'000 + i,
            nan ? std::nan("") : static_cast<double>(i)};
  }
  return r;
}
constexpr std::uint64_t unknown_per_batch = 16;
constexpr std::uint64_t nan_per_batch = 8;
constexpr std::uint64_t accepted_per_batch = 256 - unknown_per_batch - nan_per_batch;

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout) {
  const auto deadline = steady::now() + timeout;
  while (!pred()) {
    if (steady::now() >= deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

cluster::gateway_options gateway_to(const std::string& endpoint, std::uint64_t id) {
  cluster::gateway_options o;
  o.endpoint = endpoint;
  o.gateway_id = id;
  o.session = 100 + id;
  o.credit_wait_max_ms = 5000;
  return o;
}

// A bare DEALER, to send frames and read acks one by one without a gateway's own flow control.
struct raw_client {
  explicit raw_client(const std::string& endpoint) : dealer(context, zmq::socket_type::dealer) {
    dealer.set(zmq::sockopt::linger, 0);
    dealer.set(zmq::sockopt::rcvtimeo, 3000);
    dealer.connect(endpoint);
  }
  void send(const twin::batch_key& key, std::uint32_t salt, const twin::city_identity& city = {}) {
    std::vector<std::byte> frame;
    encoder.encode_batch(key, make_batch(salt), frame, city);
    send_bytes(frame);
  }
  void send_bytes(const std::vector<std::byte>& frame) {
    dealer.send(zmq::buffer(frame.data(), frame.size()), zmq::send_flags::none);
  }
  // The next ack, which must come.
  twin::batch_ack next() {
    auto ack = receive();
    REQUIRE(ack.has_value());
    return *ack;
  }
  // The next ack, or nothing when none comes in `flags`' time.
  std::optional<twin::batch_ack> receive(zmq::recv_flags flags = zmq::recv_flags::none) {
    zmq::message_t reply;
    if (!dealer.recv(reply, flags)) return std::nullopt;
    auto ack = decoder.decode_ack(cluster::bytes_of(reply));
    REQUIRE(ack.has_value());
    return *ack;
  }

  zmq::context_t context;
  zmq::socket_t dealer;
  cluster::encoder encoder;
  cluster::decoder decoder;
};

}  // namespace

TEST_CASE("batches reach the sink and the gateway counts exactly what was accepted") {
  test_sink sink;
  counting_observer observer;
  cluster::ingest_server server(sink, {}, &observer);
  auto endpoint = server.start();
  REQUIRE(endpoint.has_value());
  CHECK(endpoint->starts_with("tcp://127.0.0.1:"));
  CHECK(*endpoint != "tcp://127.0.0.1:0");

  cluster::gateway gw(gateway_to(*endpoint, 1));
  REQUIRE(gw.connect().has_value());
  for (std::uint32_t i = 0; i < 20; ++i) {
    auto sequence = gw.send(make_batch(i));
    REQUIRE(sequence.has_value());
    CHECK(*sequence == i);
  }
  auto stats = gw.flush(5000);
  REQUIRE(stats.has_value());
  CHECK(stats->batches_sent == 20);
  CHECK(stats->batches_acked == 20);
  CHECK(stats->batches_resent == 0);
  CHECK(stats->readings_sent == 20 * 256);
  CHECK(stats->readings_accepted == 20 * accepted_per_batch);
  CHECK(stats->rejected[static_cast<std::size_t>(twin::reject_reason::unknown_sensor)] ==
        20 * unknown_per_batch);
  CHECK(stats->rejected[static_cast<std::size_t>(twin::reject_reason::non_finite)] ==
        20 * nan_per_batch);
  CHECK(stats->rejected_total() == 20 * (unknown_per_batch + nan_per_batch));
  CHECK(stats->duplicates == 0);
  CHECK(stats->credit == cluster::ingest_server_options{}.inflight_per_gateway_max);
  CHECK(sink.readings_applied() == 20 * accepted_per_batch);
  CHECK(eventually([&] { return observer.batches == 20; }, 2000ms));
  CHECK(observer.accepted == 20 * accepted_per_batch);
  CHECK(observer.negative_latency == 0);
  // The I/O thread counts an ack once it has handed it to the socket: maybe after we got it.
  CHECK(eventually([&] { return server.stats().acks_sent == 20; }, 2000ms));
  const auto s = server.stats();
  CHECK(s.frames == 20);
  CHECK(s.batches_submitted == 20);
  CHECK(s.acks_sent == 20);
  CHECK(s.acks_unsent == 0);
  CHECK(s.inflight == 0);
  server.stop();
  server.stop();  // idempotent
}

TEST_CASE("a batch whose completion is withheld is resent and deduplicated, not counted twice") {
  test_sink sink(test_sink::mode::hold_first);
  cluster::ingest_server server(sink);
  auto endpoint = server.start();
  REQUIRE(endpoint.has_value());
  auto options = gateway_to(*endpoint, 2);
  options.credit_initial = 4;
  options.resend_timeout_ms = 100;
  cluster::gateway gw(options);
  REQUIRE(gw.connect().has_value());
  for (std::uint32_t i = 0; i < 3; ++i) REQUIRE(gw.send(make_batch(i)).has_value());

  // Batch 0 is resent after 100 ms; the sink knows its key and answers `duplicate`.
  auto stats = gw.flush(5000);
  REQUIRE(stats.has_value());
  CHECK(stats->batches_resent == 1);
  CHECK(stats->duplicates == 1);
  CHECK(stats->batches_acked == 3);
  CHECK(stats->rejected[static_cast<std::size_t>(twin::reject_reason::duplicate)] == 256);
  CHECK(stats->readings_accepted == 2 * accepted_per_batch);
  CHECK(sink.duplicates() == 1);
  CHECK(sink.submits() == 4);

  // The original completion still arrives and is counted once.
  sink.release();
  const auto deadline = steady::now() + 2s;
  while (gw.stats().readings_accepted < 3 * accepted_per_batch && steady::now() < deadline)
    REQUIRE(!gw.poll(10).has_value());
  CHECK(gw.stats().readings_accepted == 3 * accepted_per_batch);
  CHECK(sink.readings_applied() == 3 * accepted_per_batch);
  CHECK(gw.stats().acks_unmatched == 0);
}

TEST_CASE("a gateway out of credit blocks until acks return, then resumes") {
  test_sink sink(test_sink::mode::hold);
  cluster::ingest_server_options server_options;
  server_options.inflight_per_gateway_max = 2;
  cluster::ingest_server server(sink, server_options);
  auto endpoint = server.start();
  REQUIRE(endpoint.has_value());

  std::atomic<int> sent{0};
  std::atomic<bool> ok{true};
  std::thread sender([&] {
    cluster::gateway gw(gateway_to(*endpoint, 3));
    if (!gw.connect()) ok = false;
    for (std::uint32_t i = 0; i < 6; ++i) {
      if (!gw.send(make_batch(i))) ok = false;
      ++sent;
    }
    auto stats = gw.flush(5000);
    if (!stats || stats->readings_accepted != 6 * accepted_per_batch || stats->overloaded != 0)
      ok = false;
  });

  // Initial credit is 1: the second send waits for the first ack.
  REQUIRE(sink.wait_held(1, 2000ms));
  std::this_thread::sleep_for(150ms);
  CHECK(sent == 1);
  CHECK(sink.held() == 1);

  // The ack grants credit 2: two more go out, then the sender blocks again.
  sink.release();
  REQUIRE(sink.wait_held(2, 2000ms));
  std::this_thread::sleep_for(150ms);
  CHECK(sent == 3);
  CHECK(sink.held() == 2);

  sink.release(true);
  sender.join();
  CHECK(ok);
  CHECK(sent == 6);
  CHECK(sink.readings_applied() == 6 * accepted_per_batch);
  CHECK(server.stats().overloaded == 0);
  CHECK(server.stats().inflight_peak <= 2);
}

TEST_CASE("batches beyond a gateway's credit are acked overloaded and resent after a backoff") {
  test_sink sink(test_sink::mode::hold);
  cluster::ingest_server_options server_options;
  server_options.inflight_per_gateway_max = 2;
  cluster::ingest_server server(sink, server_options);
  auto endpoint = server.start();
  REQUIRE(endpoint.has_value());
  auto options = gateway_to(*endpoint, 4);
  options.credit_initial = 4;  // more than the node allows
  options.backoff_initial_ms = 10;
  cluster::gateway gw(options);
  REQUIRE(gw.connect().has_value());
  // On a thread of their own: once the node's first `overloaded` ack (credit 2) reaches the
  // gateway, the next send waits for credit, which only the release below gives.
  std::atomic<int> sent_ok{0};
  std::thread sender([&] {
    for (std::uint32_t i = 0; i < 4; ++i)
      if (gw.send(make_batch(i)).has_value()) ++sent_ok;
  });
  REQUIRE(sink.wait_held(2, 2000ms));
  REQUIRE(eventually([&] { return server.stats().overloaded >= 2; }, 2000ms));
  CHECK(sink.held() == 2);
  sink.release(true);
  sender.join();
  REQUIRE(sent_ok == 4);
  auto stats = gw.flush(5000);
  REQUIRE(stats.has_value());
  CHECK(stats->readings_accepted == 4 * accepted_per_batch);
  CHECK(stats->overloaded >= 2);
  CHECK(stats->batches_resent >= 2);
  CHECK(stats->duplicates == 0);
  CHECK(sink.readings_applied() == 4 * accepted_per_batch);
  CHECK(sink.duplicates() == 0);
}

TEST_CASE("in-flight batches never exceed the node's total bound") {
  test_sink sink(test_sink::mode::hold);
  counting_observer observer;
  cluster::ingest_server_options server_options;
  server_options.inflight_per_gateway_max = 2;
  server_options.inflight_total_max = 3;
  cluster::ingest_server server(sink, server_options, &observer);
  auto endpoint = server.start();
  REQUIRE(endpoint.has_value());

  constexpr int gateways = 3;
  constexpr std::uint32_t batches = 15;
  std::atomic<int> finished{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> senders;
  for (int g = 0; g < gateways; ++g) {
    senders.emplace_back([&, g] {
      auto options = gateway_to(*endpoint, 10 + g);
      options.credit_initial = 2;
      cluster::gateway gw(options);
      if (!gw.connect()) ++failures;
      for (std::uint32_t i = 0; i < batches; ++i)
        if (!gw.send(make_batch(i))) ++failures;
      auto stats = gw.flush(10000);
      if (!stats || stats->readings_accepted != batches * accepted_per_batch) ++failures;
      ++finished;
    });
  }
  // A slow twin: completes what it holds every few milliseconds.
  const auto deadline = steady::now() + 20s;
  while (finished < gateways && steady::now() < deadline) {
    std::this_thread::sleep_for(3ms);
    sink.release();
  }
  sink.release(true);
  for (auto& t : senders) t.join();
  CHECK(failures == 0);
  CHECK(sink.readings_applied() == gateways * batches * accepted_per_batch);
  CHECK(sink.outstanding_peak() <= 3);
  CHECK(server.stats().inflight_peak <= 3);
  CHECK(server.stats().inflight_peak >= 1);
  CHECK(observer.in_flight_peak <= 3);
}

TEST_CASE("at a gateway's credit the server admits exactly that many batches, refuses the rest") {
  test_sink sink(test_sink::mode::hold);
  counting_observer observer;
  cluster::ingest_server_options server_options;
  server_options.inflight_per_gateway_max = 2;
  cluster::ingest_server server(sink, server_options, &observer);
  auto endpoint = server.start();
  REQUIRE(endpoint.has_value());
  raw_client client(*endpoint);
  for (std::uint64_t seq = 1; seq <= 3; ++seq) client.send({5, 6, seq}, 0);

  // Two are admitted and held; the third is refused at once, whole.
  REQUIRE(sink.wait_held(2, 2000ms));
  auto refused = client.receive();
  REQUIRE(refused.has_value());
  CHECK(refused->key == twin::batch_key{5, 6, 3});
  CHECK(refused->status == twin::ack_status::overloaded);
  CHECK(refused->accepted == 0);
  CHECK(refused->rejected.total() == 256);
  CHECK(refused->rejected[twin::reject_reason::overloaded] == 256);
  CHECK(refused->credit == 2);
  CHECK(refused->message == "gateway has 2 unacked batches, the limit is 2");
  CHECK(sink.submits() == 2);
  CHECK(server.stats().overloaded == 1);
  CHECK(server.stats().inflight == 2);

  sink.release();
  for (std::uint64_t seq = 1; seq <= 2; ++seq) {
    auto ack = client.receive();
    REQUIRE(ack.has_value());
    CHECK(ack->key == twin::batch_key{5, 6, seq});
    CHECK(ack->status == twin::ack_status::applied);
    CHECK(ack->accepted == accepted_per_batch);
    CHECK(ack->credit == 2);
  }
  // The ack is counted as sent just after it leaves: wait for the count, not the ack.
  CHECK(eventually([&] { return server.stats().acks_sent == 3; }, 2000ms));
  CHECK(server.stats().inflight == 0);
  CHECK(observer.batches == 3);
  CHECK(observer.accepted == 2 * accepted_per_batch);
  CHECK(observer.in_flight_peak == 2);
}

TEST_CASE("at the node's in-flight bound the server stops reading until a batch completes") {
  test_sink sink(test_sink::mode::hold);
  counting_observer observer;
  cluster::ingest_server_options server_options;
  server_options.inflight_total_max = 2;
  cluster::ingest_server server(sink, server_options, &observer);
  auto endpoint = server.start();
  REQUIRE(endpoint.has_value());
  raw_client client(*endpoint);
  for (std::uint64_t seq = 1; seq <= 3; ++seq) client.send({7, 8, seq}, 0);

  // At the bound the third frame stays in the socket: neither admitted nor refused.
  REQUIRE(sink.wait_held(2, 2000ms));
  std::this_thread::sleep_for(100ms);
  CHECK(sink.submits() == 2);
  CHECK(server.stats().frames == 2);
  CHECK(server.stats().overloaded == 0);
  CHECK(server.stats().inflight_peak == 2);
  CHECK_FALSE(client.receive(zmq::recv_flags::dontwait).has_value());

  // One completion makes room: the third is read and admitted, never refused.
  sink.release(true);
  std::set<std::uint64_t> applied;
  for (int i = 0; i < 3; ++i) {
    auto ack = client.receive();
    REQUIRE(ack.has_value());
    CHECK(ack->status == twin::ack_status::applied);
    CHECK(ack->credit == cluster::credit_default);
    applied.insert(ack->key.sequence);
  }
  CHECK(applied == std::set<std::uint64_t>{1, 2, 3});
  CHECK(sink.submits() == 3);
  CHECK(server.stats().frames == 3);
  CHECK(server.stats().inflight_peak == 2);
  CHECK(observer.in_flight_peak == 2);
  CHECK(observer.batches == 3);
}

TEST_CASE("garbage and foreign versions are acked at once with the reason and counted") {
  test_sink sink;
  counting_observer observer;
  cluster::ingest_server server(sink, {}, &observer);
  auto endpoint = server.start();
  REQUIRE(endpoint.has_value());

  zmq::context_t context;
  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.set(zmq::sockopt::rcvtimeo, 3000);
  dealer.connect(*endpoint);
  cluster::decoder decoder;

  const char junk[] = "definitely not a batch!";
  dealer.send(zmq::buffer(junk, 23), zmq::send_flags::none);
  zmq::message_t reply;
  REQUIRE(dealer.recv(reply).has_value());
  auto ack = decoder.decode_ack(cluster::bytes_of(reply));
  REQUIRE(ack.has_value());
  CHECK(ack->status == twin::ack_status::malformed);
  CHECK(ack->message == "truncated frame: 23 bytes is not a whole number of 8-byte words");

  // Version 2 of a batch: same framing, protocolVersion 2.
  cluster::encoder encoder;
  std::vector<std::byte> frame;
  encoder.encode_batch({42, 43, 44}, make_batch(0), frame);
  const std::uint16_t two = 2;
  // Field @0 sits at the start of the root struct's data: segment table (8) + root pointer (8).
  std::memcpy(frame.data() + 16, &two, sizeof two);
  dealer.send(zmq::buffer(frame.data(), frame.size()), zmq::send_flags::none);
  REQUIRE(dealer.recv(reply).has_value());
  ack = decoder.decode_ack(cluster::bytes_of(reply));
  REQUIRE(ack.has_value());
  CHECK(ack->status == twin::ack_status::wrong_version);
  CHECK(ack->key == twin::batch_key{42, 43, 44});
  CHECK(ack->message == "protocol version 2, this node speaks 1");

  CHECK(sink.submits() == 0);
  CHECK(server.stats().decode_failures == 1);
  CHECK(server.stats().wrong_version == 1);
  CHECK(observer.decode_failures == 1);
  CHECK(observer.malformed == 1);
  CHECK(observer.wrong_version == 1);
}

TEST_CASE("flush reports batches the node never acked") {
  test_sink sink;
  cluster::ingest_server server(sink);
  auto endpoint = server.start();
  REQUIRE(endpoint.has_value());
  auto options = gateway_to(*endpoint, 5);
  cluster::gateway gw(options);
  REQUIRE(gw.connect().has_value());
  server.stop();
  REQUIRE(gw.send(make_batch(0)).has_value());
  auto flushed = gw.flush(200);
  REQUIRE(!flushed.has_value());
  CHECK(flushed.error().what == cluster::gateway_error::kind::timeout);
  CHECK(flushed.error().message == "1 batches still unacked by " + *endpoint + " after 200 ms" +
                                       cluster::curve_timeout_hint(false));
}

TEST_CASE("binding an unusable endpoint is an error naming it") {
  test_sink sink;
  cluster::ingest_server_options options;
  options.endpoint = "tcp://256.0.0.1:1";
  cluster::ingest_server server(sink, options);
  auto endpoint = server.start();
  REQUIRE(!endpoint.has_value());
  CHECK(endpoint.error().starts_with("ingest server cannot bind tcp://256.0.0.1:1: "));
}

namespace {

// Readings a frame held against what its ack says became of them.
std::uint64_t accounted(const twin::batch_ack& ack) {
  return ack.accepted + ack.rejected.total();
}

twin::reject_counts rejected_only(twin::reject_reason r, std::uint64_t n) {
  twin::reject_counts c;
  c[r] = n;
  return c;
}

const twin::city_identity small_city{"Vila Pequena", 0x3e9e956ee242685fULL};
const twin::city_identity macau{"Macau", 0x3f3d3f9170a6ee94ULL};

}  // namespace

TEST_CASE("a frame over the size limit is acked malformed naming its size, its readings counted") {
  test_sink sink;
  counting_observer observer;
  cluster::ingest_server server(sink, {}, &observer);
  auto endpoint = server.start();
  REQUIRE(endpoint.has_value());
  raw_client client(*endpoint);

  // 700,000 readings: 16,800,080 bytes, just over the documented 16 MiB (and far over the
  // readings limit: the size is what the node says first).
  std::vector<twin::reading> readings(700'000, twin::reading{twin::sensor_id{1}, 1, 1.0});
  std::vector<std::byte> frame;
  client.encoder.encode_batch({9, 8, 7}, readings, frame);
  REQUIRE(frame.size() == 16'800'080);
  client.send_bytes(frame);
  auto ack = client.next();
  CHECK(ack.status == twin::ack_status::malformed);
  CHECK(ack.key == twin::batch_key{9, 8, 7});
  CHECK(ack.message == "frame of 16800080 bytes exceeds the limit of 16777216 bytes");
  CHECK(ack.accepted == 0);
  CHECK(ack.rejected == rejected_only(twin::reject_reason::malformed, 700'000));

  // At the limit's other side, a smaller limit: the same answer, and a frame within it applies.
  cluster::ingest_server_options small;
  small.frame_bytes_max = 4096;
  cluster::ingest_server tight(sink, small, &observer);
  auto tight_endpoint = tight.start();
  REQUIRE(tight_endpoint.has_value());
  raw_client tight_client(*tight_endpoint);
  tight_client.send({9, 8, 8}, 0);  // 256 readings: 6,224 bytes
  ack = tight_client.next();
  CHECK(ack.status == twin::ack_status::malformed);
  CHECK(ack.message == "frame of 6224 bytes exceeds the limit of 4096 bytes");
  CHECK(ack.rejected == rejected_only(twin::reject_reason::malformed, 256));
  std::vector<std::byte> fits;
  tight_client.encoder.encode_batch({9, 8, 9}, std::vector<twin::reading>(100), fits);
  REQUIRE(fits.size() <= 4096);
  tight_client.send_bytes(fits);
  ack = tight_client.next();
  CHECK(ack.status == twin::ack_status::applied);
  CHECK(accounted(ack) == 100);

  CHECK(sink.submits() == 1);
  CHECK(observer.by_status[static_cast<std::size_t>(twin::ack_status::malformed)] == 2);
  CHECK(observer.rejected_of(twin::reject_reason::malformed) == 700'256);
  CHECK(server.stats().decode_failures == 1);
  CHECK(tight.stats().decode_failures == 1);
}

TEST_CASE("every frame's readings are in its ack, and the totals equal the sums over the acks") {
  test_sink sink(test_sink::mode::hold_first);
  counting_observer observer;
  cluster::ingest_server_options options;
  options.inflight_per_gateway_max = 1;
  options.city = small_city;
  cluster::ingest_server server(sink, options, &observer);
  auto endpoint = server.start();
  REQUIRE(endpoint.has_value());
  raw_client client(*endpoint);
  std::vector<twin::batch_ack> acks;

  client.send({1, 1, 0}, 0);  // held: the gateway's one credit is taken
  REQUIRE(sink.wait_held(1, 5000ms));
  client.send({1, 1, 1}, 1);  // overloaded
  acks.push_back(client.next());
  sink.release(true);
  acks.push_back(client.next());  // the held one, applied
  client.send({1, 1, 0}, 0);      // a resend: duplicate
  acks.push_back(client.next());

  std::vector<std::byte> frame;
  client.encoder.encode_batch({1, 1, 2}, make_batch(2), frame);
  const std::uint16_t two = 2;
  auto foreign = frame;
  std::memcpy(foreign.data() + 16, &two, sizeof two);
  client.send_bytes(foreign);  // wrong_version
  acks.push_back(client.next());
  auto trailing = frame;
  trailing.resize(trailing.size() + 16);
  client.send_bytes(trailing);  // garbage after a readable header: malformed
  acks.push_back(client.next());
  client.dealer.send(zmq::buffer(frame.data(), frame.size()), zmq::send_flags::sndmore);
  client.dealer.send(zmq::str_buffer("extra"), zmq::send_flags::none);  // two parts: malformed
  acks.push_back(client.next());
  std::vector<twin::reading> too_many(cluster::batch_readings_max + 1,
                                      twin::reading{twin::sensor_id{1}, 1, 1.0});
  client.encoder.encode_batch({1, 1, 3}, too_many, frame);
  client.send_bytes(frame);  // over the readings limit: malformed
  acks.push_back(client.next());
  client.send({1, 1, 4}, 4, macau);  // wrong_city
  acks.push_back(client.next());
  server.begin_stop();
  client.send({1, 1, 5}, 5);  // stopping
  acks.push_back(client.next());
  REQUIRE(server.wait_drained(5000ms));

  using s = twin::ack_status;
  const std::vector<s> statuses{s::overloaded,    s::applied,    s::duplicate,
                                s::wrong_version, s::malformed,  s::malformed,
                                s::malformed,     s::wrong_city, s::stopping};
  const std::vector<std::uint64_t> readings{256, 256, 256, 256, 256, 256, 65537, 256, 256};
  REQUIRE(acks.size() == statuses.size());
  twin::reject_counts rejected;
  std::uint64_t accepted = 0;
  for (std::size_t i = 0; i < acks.size(); ++i) {
    CAPTURE(i);
    CHECK(acks[i].status == statuses[i]);
    CHECK(accounted(acks[i]) == readings[i]);
    CHECK(acks[i].city == small_city);
    accepted += acks[i].accepted;
    rejected += acks[i].rejected;
  }
  CHECK(acks[1].accepted == accepted_per_batch);
  CHECK(acks[3].rejected == rejected_only(twin::reject_reason::wrong_version, 256));
  CHECK(acks[6].rejected == rejected_only(twin::reject_reason::malformed, 65537));
  CHECK(acks[7].rejected == rejected_only(twin::reject_reason::wrong_city, 256));
  CHECK(acks[8].rejected == rejected_only(twin::reject_reason::stopping, 256));
  CHECK(acks[8].message == "the node is stopping: nothing applied, resend elsewhere or later");
  std::uint64_t held = 0;
  for (auto n : readings) held += n;
  CHECK(held == 67'585);
  CHECK(accepted == accepted_per_batch);
  CHECK(accepted + rejected.total() == held);

  const auto stats = server.stats();
  CHECK(stats.readings_accepted == accepted);
  CHECK(stats.readings_rejected == rejected);
  CHECK(observer.accepted == accepted);
  for (std::size_t i = 0; i < twin::reject_reason_count; ++i) {
    CAPTURE(i);
    CHECK(observer.rejected[i] == rejected.by_reason[i]);
  }
  CHECK(stats.acks_of(s::malformed) == 3);
  CHECK(observer.by_status[static_cast<std::size_t>(s::malformed)] == 3);
  // The client may hold the last ack before the server counted its send.
  CHECK(eventually([&] { return server.stats().acks_sent == 9; }, 2000ms));
  CHECK(server.stats().acks_unsent == 0);
  CHECK(sink.submits() == 2);
}

TEST_CASE("a batch for another city is refused whole, one without a city is taken") {
  test_sink sink;
  counting_observer observer;
  cluster::ingest_server_options options;
  options.city = small_city;
  cluster::ingest_server server(sink, options, &observer);
  auto endpoint = server.start();
  REQUIRE(endpoint.has_value());

  auto go = gateway_to(*endpoint, 21);
  go.city = macau;
  cluster::gateway gw(go);
  REQUIRE(gw.connect().has_value());
  REQUIRE(gw.send(make_batch(0)).has_value());
  auto flushed = gw.flush(5000);
  REQUIRE(!flushed.has_value());
  CHECK(flushed.error().what == cluster::gateway_error::kind::wrong_city);
  CHECK(flushed.error().message ==
        *endpoint +
            " refused batch 0: batch for city 'Macau' (0x3f3d3f9170a6ee94), this node runs city "
            "'Vila Pequena' (0x3e9e956ee242685f)");
  CHECK(gw.stats().node_city == small_city);
  CHECK(sink.submits() == 0);
  CHECK(sink.readings_applied() == 0);
  CHECK(observer.rejected_of(twin::reject_reason::wrong_city) == 256);
  CHECK(observer.by_status[static_cast<std::size_t>(twin::ack_status::wrong_city)] == 1);

  // No city named (an older gateway, or one that has not learnt it): taken, and the ack says
  // which city it went to. The node's own city: taken.
  raw_client client(*endpoint);
  client.send({22, 1, 0}, 0);
  auto ack = client.next();
  CHECK(ack.status == twin::ack_status::applied);
  CHECK(ack.accepted == accepted_per_batch);
  CHECK(ack.city == small_city);
  client.send({22, 1, 1}, 1, small_city);
  ack = client.next();
  CHECK(ack.status == twin::ack_status::applied);
  CHECK(ack.accepted == accepted_per_batch);
  CHECK(sink.submits() == 2);
  CHECK(sink.readings_applied() == 2 * accepted_per_batch);
}

TEST_CASE("a stop refuses every later batch at once and finishes those in flight") {
  test_sink sink(test_sink::mode::hold);
  counting_observer observer;
  cluster::ingest_server server(sink, {}, &observer);
  auto endpoint = server.start();
  REQUIRE(endpoint.has_value());
  raw_client client(*endpoint);
  client.send({3, 1, 0}, 0);
  client.send({3, 1, 1}, 1);
  REQUIRE(sink.wait_held(2, 5000ms));

  server.begin_stop();
  for (std::uint64_t seq = 2; seq < 5; ++seq) {
    client.send({3, 1, seq}, static_cast<std::uint32_t>(seq));
    auto ack = client.next();
    CHECK(ack.status == twin::ack_status::stopping);
    CHECK(ack.key == twin::batch_key{3, 1, seq});
    CHECK(ack.rejected == rejected_only(twin::reject_reason::stopping, 256));
  }
  CHECK(!server.wait_drained(20ms));
  CHECK(server.finished_while_stopping() == 0);
  sink.release();
  for (std::uint64_t seq = 0; seq < 2; ++seq) {
    auto ack = client.next();
    CHECK(ack.status == twin::ack_status::applied);
    CHECK(ack.accepted == accepted_per_batch);
  }
  CHECK(server.wait_drained(5000ms));
  CHECK(server.finished_while_stopping() == 2);
  const auto stats = server.stats();
  CHECK(stats.acks_of(twin::ack_status::applied) == 2);
  CHECK(stats.acks_of(twin::ack_status::stopping) == 3);
  CHECK(stats.readings_rejected[twin::reject_reason::stopping] == 768);
  CHECK(stats.readings_accepted == 2 * accepted_per_batch);
  CHECK(sink.submits() == 2);
}

TEST_CASE("acks a gateway stopped reading are counted unsent, and still in the totals") {
  test_sink sink;
  counting_observer observer;
  cluster::ingest_server_options options;
  options.send_hwm = 1;
  cluster::ingest_server server(sink, options, &observer);
  auto endpoint = server.start();
  REQUIRE(endpoint.has_value());

  // A client that never reads, with the smallest queues: the node's sends to it fail once the
  // kernel's buffers are full, and ROUTER_MANDATORY makes them errors instead of silent drops.
  zmq::context_t context;
  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.set(zmq::sockopt::rcvhwm, 1);
  dealer.set(zmq::sockopt::rcvbuf, 1024);
  dealer.connect(*endpoint);
  cluster::encoder encoder;
  std::vector<std::byte> frame;
  const std::vector<twin::reading> one{{twin::sensor_id{1}, 1, 1.0}};
  std::uint64_t sent = 0;
  const auto deadline = steady::now() + 60s;
  while (server.stats().acks_unsent == 0 && steady::now() < deadline && sent < 400'000) {
    for (int i = 0; i < 1000; ++i, ++sent) {
      encoder.encode_batch({4, 1, sent}, one, frame);
      dealer.send(zmq::buffer(frame.data(), frame.size()), zmq::send_flags::none);
    }
  }
  REQUIRE(eventually(
      [&] {
        auto st = server.stats();
        return st.acks_sent + st.acks_unsent == sent;
      },
      20000ms));
  const auto stats = server.stats();
  CHECK(stats.acks_unsent > 0);
  CHECK(stats.acks_sent + stats.acks_unsent == sent);
  CHECK(observer.acks_unsent == stats.acks_unsent);
  CHECK(observer.batches == sent);
  CHECK(stats.readings_accepted == sent);
  CHECK(observer.accepted == sent);
  MESSAGE("acks unsent after " << sent << " batches to a client that stopped reading: "
                               << stats.acks_unsent);
}
