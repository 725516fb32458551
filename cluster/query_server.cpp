#include "cluster/query_server.hpp"

#include <limits>
#include <utility>

#include "cluster/codec.hpp"
#include "twin/base/check.hpp"

namespace cluster {

namespace {

router_server_options router_options(const query_server_options& o) {
  router_server_options r;
  r.endpoint = o.endpoint;
  r.curve = o.curve;
  r.curve_refusals = o.curve_refusals;
  r.name = "query server";
  r.receive_hwm = o.receive_hwm;
  r.send_hwm = o.send_hwm;
  r.message_bytes_max = socket_bytes_max(o.request_bytes_max);
  r.inflight_max = o.inflight_max;
  // Queries are few and each is admitted only below the in-flight bound: read while room lasts.
  r.receive_burst_max = std::numeric_limits<std::uint32_t>::max();
  return r;
}

}  // namespace

query_server::query_server(twin::query_handler& handler, query_server_options options)
    : handler_(handler),
      options_(std::move(options)),
      decoder_(std::make_unique<decoder>(options_.request_bytes_max)),
      encoder_(std::make_unique<encoder>()),
      server_(router_options(options_), [this](const router_frame& f) { return handle_frame(f); }) {
}

query_server::~query_server() {
  stop();
}

twin::expected<std::string, std::string> query_server::start() {
  return server_.start();
}

void query_server::stop() {
  server_.stop();
}

query_server_stats query_server::stats() const {
  return {requests_, refused_, replies_sent_, replies_unsent_};
}

bool query_server::handle_frame(const router_frame& frame) {
  ++requests_;
  auto decoded = decoder_->decode_query_request(frame.payload);
  if (!decoded) {
    ++refused_;
    send_reply(frame.peer, decoded.error().request_id,
               twin::query_error{"request refused: " + decoded.error().message});
    return false;
  }
  const std::uint64_t request_id = decoded->request_id;
  handler_.query(std::move(decoded->request),
                 [this, complete = server_.completions(), peer = frame.peer,
                  request_id](twin::query_reply reply) {
                   // Runs on the I/O thread, and only while the server runs.
                   complete([this, peer, request_id, reply = std::move(reply)] {
                     send_reply(peer, request_id, reply);
                   });
                 });
  return true;
}

void query_server::send_reply(const std::string& peer, std::uint64_t request_id,
                              const twin::query_reply& reply) {
  if (server_.send(peer, encoder_->encode_query_reply(request_id, reply, reply_bytes_)))
    ++replies_sent_;
  else
    ++replies_unsent_;
}

}  // namespace cluster
