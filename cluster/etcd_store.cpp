#include "cluster/etcd_store.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>

namespace cluster::coord {

namespace {

using json = nlohmann::json;

constexpr std::size_t response_bytes_max = 64 << 20;    // a range of the whole cluster prefix
constexpr std::size_t watch_line_bytes_max = 64 << 20;  // one watch message
constexpr std::size_t idle_handles_max = 8;             // curl handles kept for reuse

// gRPC status codes the gateway puts in an error body.
constexpr int grpc_deadline_exceeded = 4;
constexpr int grpc_not_found = 5;
constexpr int grpc_out_of_range = 11;
constexpr int grpc_unavailable = 14;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::int64_t number_field(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return 0;
  if (it->is_string()) return std::stoll(it->get<std::string>());
  return it->get<std::int64_t>();
}

std::string bytes_field(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return {};
  auto decoded = base64_decode(it->get<std::string>());
  if (!decoded) throw std::runtime_error(std::string("field ") + name + ": " + decoded.error());
  return std::move(*decoded);
}

key_value to_key_value(const json& kv) {
  key_value out;
  out.key = bytes_field(kv, "key");
  out.value = bytes_field(kv, "value");
  out.create_revision = number_field(kv, "create_revision");
  out.mod_revision = number_field(kv, "mod_revision");
  out.version = number_field(kv, "version");
  out.lease = number_field(kv, "lease");
  return out;
}

revision header_revision(const json& body) {
  auto it = body.find("header");
  return it == body.end() ? 0 : number_field(*it, "revision");
}

range_result to_range(const json& body) {
  range_result out;
  out.header_revision = header_revision(body);
  if (auto it = body.find("kvs"); it != body.end())
    for (const auto& kv : *it) out.kvs.push_back(to_key_value(kv));
  return out;
}

json range_request(const std::string& key, const std::string& range_end, revision at) {
  json request{{"key", base64_encode(key)}};
  if (!range_end.empty()) request["range_end"] = base64_encode(range_end);
  if (at > 0) request["revision"] = std::to_string(at);
  return request;
}

json put_request(const put_op& op) {
  json request{{"key", base64_encode(op.key)}, {"value", base64_encode(op.value)}};
  if (op.lease != 0) request["lease"] = std::to_string(op.lease);
  return request;
}

json erase_request(const std::string& key, const std::string& range_end) {
  json request{{"key", base64_encode(key)}};
  if (!range_end.empty()) request["range_end"] = base64_encode(range_end);
  return request;
}

json operation_request(const operation& op) {
  if (const auto* put = std::get_if<put_op>(&op)) return json{{"request_put", put_request(*put)}};
  if (const auto* erase = std::get_if<erase_op>(&op))
    return json{{"request_delete_range", erase_request(erase->key, erase->range_end)}};
  const auto& range = std::get<range_op>(op);
  return json{{"request_range", range_request(range.key, range.range_end, 0)}};
}

json compare_request(const compare& c) {
  static constexpr std::array<const char*, 5> targets{"CREATE", "MOD", "VERSION", "VALUE", "LEASE"};
  static constexpr std::array<const char*, 4> ops{"EQUAL", "NOT_EQUAL", "GREATER", "LESS"};
  json request{{"key", base64_encode(c.key)},
               {"target", targets[static_cast<std::size_t>(c.target)]},
               {"result", ops[static_cast<std::size_t>(c.op)]}};
  switch (c.target) {
    case compare_target::create_revision:
      request["create_revision"] = std::to_string(c.number);
      break;
    case compare_target::mod_revision:
      request["mod_revision"] = std::to_string(c.number);
      break;
    case compare_target::version:
      request["version"] = std::to_string(c.number);
      break;
    case compare_target::value:
      request["value"] = base64_encode(c.value);
      break;
    case compare_target::lease:
      request["lease"] = std::to_string(c.number);
      break;
  }
  return request;
}

size_t append_body(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() + size * count > response_bytes_max)
    return 0;  // curl fails the transfer: an answer this large is not one we asked for
  body->append(data, size * count);
  return size * count;
}

// An error body of the gateway ({"error": ..., "code": N, "message": ...}) as our error.
error gateway_error(const json& body, const std::string& where) {
  int code = body.value("code", 0);
  std::string message = body.value("message", body.value("error", std::string("unknown error")));
  errc kind = errc::rejected;
  if (code == grpc_not_found && message.find("lease") != std::string::npos)
    kind = errc::lease_not_found;
  else if (code == grpc_out_of_range && message.find("compacted") != std::string::npos)
    kind = errc::compacted;
  else if (code == grpc_unavailable || code == grpc_deadline_exceeded)
    kind = errc::unavailable;
  return error{kind, where + ": " + message};
}

void configure_endpoint(CURL* curl, const etcd_endpoint& endpoint, const std::string& path) {
  if (!endpoint.unix_socket.empty()) {
    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, endpoint.unix_socket.c_str());
    std::string url = "http://localhost" + path;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  } else {
    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, nullptr);
    std::string url = "http://" + endpoint.host_port + path;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  }
}

}  // namespace

std::string prefix_end(std::string prefix) {
  // The smallest key greater than every key that starts with the prefix: drop trailing 0xff
  // bytes, then increment the last one. A prefix of only 0xff bytes (or none) has no end: "\0"
  // asks etcd for every key from the prefix on.
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (prefix.empty()) return std::string(1, '\0');
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

std::string etcd_endpoint::to_string() const {
  return unix_socket.empty() ? "etcd://" + host_port : "etcd+unix://" + unix_socket;
}

twin::expected<std::vector<etcd_endpoint>, std::string> parse_etcd_url(const std::string& url) {
  static const std::string tcp_scheme = "etcd://";
  static const std::string unix_scheme = "etcd+unix://";
  auto fail = [&](const std::string& why) {
    return twin::unexpected(std::string("cluster address '") + url + "': " + why);
  };
  if (url.rfind(tcp_scheme, 0) != 0 && url.rfind(unix_scheme, 0) != 0)
    return fail(
        "expected etcd://HOST:PORT[,HOST:PORT...] or etcd+unix://PATH[,etcd+unix://PATH...]");
  // Items are separated by commas; an item without a scheme takes the previous item's (TCP).
  std::vector<etcd_endpoint> out;
  bool tcp = true;
  std::size_t start = 0;
  for (;;) {
    std::size_t comma = url.find(',', start);
    std::string item =
        url.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item.rfind(unix_scheme, 0) == 0) {
      tcp = false;
      std::string path = item.substr(unix_scheme.size());
      if (path.empty() || path.front() != '/')
        return fail(
            "etcd+unix:// takes an absolute socket path (etcd+unix:///run/etcd/client.sock)");
      out.push_back(etcd_endpoint{{}, path});
    } else {
      if (item.rfind(tcp_scheme, 0) == 0) {
        tcp = true;
        item = item.substr(tcp_scheme.size());
      } else if (!tcp) {
        return fail("endpoint '" + item + "' has no scheme after an etcd+unix:// one");
      }
      while (!item.empty() && item.back() == '/') item.pop_back();
      std::size_t colon = item.rfind(':');
      bool port_ok = colon != std::string::npos && colon > 0 && colon + 1 < item.size() &&
                     std::all_of(item.begin() + static_cast<std::ptrdiff_t>(colon) + 1, item.end(),
                                 [](char c) { return c >= '0' && c <= '9'; });
      if (!port_ok) return fail("endpoint '" + item + "' is not HOST:PORT");
      out.push_back(etcd_endpoint{item, {}});
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

struct etcd_store::impl {
  std::mutex handles_mutex;
  std::vector<CURL*> idle_handles;

  ~impl() {
    for (CURL* curl : idle_handles) curl_easy_cleanup(curl);
  }

  CURL* take_handle() {
    {
      std::lock_guard lock(handles_mutex);
      if (!idle_handles.empty()) {
        CURL* curl = idle_handles.back();
        idle_handles.pop_back();
        return curl;
      }
    }
    return curl_easy_init();
  }

  void give_back(CURL* curl) {
    std::lock_guard lock(handles_mutex);
    if (idle_handles.size() < idle_handles_max)
      idle_handles.push_back(curl);
    else
      curl_easy_cleanup(curl);
  }
};

etcd_store::etcd_store(etcd_options options)
    : options_(std::move(options)), impl_(std::make_unique<impl>()) {
  global_init();
  TWIN_REQUIRE(!options_.endpoints.empty());
}

etcd_store::~etcd_store() = default;

std::string etcd_store::describe() const {
  std::string out = "etcd at ";
  for (std::size_t i = 0; i < options_.endpoints.size(); ++i)
    out += (i ? "," : "") + options_.endpoints[i].to_string();
  return out;
}

namespace {

// One POST of a JSON body to the gateway, trying each endpoint once from the preferred one.
result<json> call(const etcd_options& options, std::atomic<std::size_t>& preferred,
                  etcd_store::impl& impl, const std::string& path, const json& request) {
  std::string body_text = request.dump();
  std::string failures;
  std::size_t count = options.endpoints.size();
  std::size_t first = preferred.load() % count;
  for (std::size_t attempt = 0; attempt < count; ++attempt) {
    std::size_t index = (first + attempt) % count;
    const etcd_endpoint& endpoint = options.endpoints[index];
    CURL* curl = impl.take_handle();
    if (curl == nullptr)
      return twin::unexpected(error{errc::unavailable, "cannot create an HTTP client handle"});
    curl_easy_reset(curl);
    std::string response;
    configure_endpoint(curl, endpoint, path);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body_text.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body_text.size()));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options.request_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode code = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    impl.give_back(curl);
    std::string where = endpoint.to_string() + path;
    if (code != CURLE_OK) {
      failures += (failures.empty() ? "" : "; ") + where + ": " + curl_easy_strerror(code);
      continue;
    }
    json body;
    try {
      body = json::parse(response);
    } catch (const json::exception& e) {
      return twin::unexpected(error{
          errc::bad_response,
          where + ": HTTP " + std::to_string(status) + ", not JSON: " + response.substr(0, 200)});
    }
    // Some answers carry an empty "error" string when all went well.
    auto error_field = body.find("error");
    bool has_error = error_field != body.end() &&
                     (error_field->is_object() ||
                      (error_field->is_string() && !error_field->get<std::string>().empty()));
    if (status != 200 || has_error) {
      error e = gateway_error(
          error_field != body.end() && error_field->is_object() ? *error_field : body, where);
      if (e.code == errc::unavailable) {
        failures += (failures.empty() ? "" : "; ") + e.message;
        continue;
      }
      return twin::unexpected(std::move(e));
    }
    preferred.store(index);
    return body;
  }
  return twin::unexpected(error{errc::unavailable, "no etcd endpoint answered: " + failures});
}

template <class T, class F>
result<T> parse_with(const result<json>& body, const char* what, F&& parse) {
  if (!body) return twin::unexpected(body.error());
  try {
    return parse(*body);
  } catch (const std::exception& e) {
    return twin::unexpected(error{errc::bad_response, std::string(what) + ": " + e.what()});
  }
}

}  // namespace

result<lease_id> etcd_store::lease_grant(std::chrono::milliseconds ttl) {
  auto seconds = std::max<std::int64_t>(1, (ttl.count() + 999) / 1000);
  auto body =
      call(options_, preferred_, *impl_, "/v3/lease/grant", json{{"TTL", std::to_string(seconds)}});
  return parse_with<lease_id>(body, "lease grant", [](const json& b) -> result<lease_id> {
    lease_id id = number_field(b, "ID");
    if (id == 0) return twin::unexpected(error{errc::rejected, "lease grant: " + b.dump()});
    return id;
  });
}

result<std::chrono::seconds> etcd_store::lease_keepalive(lease_id id) {
  auto body =
      call(options_, preferred_, *impl_, "/v3/lease/keepalive", json{{"ID", std::to_string(id)}});
  return parse_with<std::chrono::seconds>(
      body, "lease keepalive", [id](const json& b) -> result<std::chrono::seconds> {
        // A stream of one answer: {"result": {...}}. A lease that is gone answers without a TTL.
        const json& r = b.contains("result") ? b["result"] : b;
        std::int64_t ttl = number_field(r, "TTL");
        if (ttl <= 0)
          return twin::unexpected(
              error{errc::lease_not_found, "lease " + std::to_string(id) + " has expired"});
        return std::chrono::seconds(ttl);
      });
}

result<std::monostate> etcd_store::lease_revoke(lease_id id) {
  auto body =
      call(options_, preferred_, *impl_, "/v3/lease/revoke", json{{"ID", std::to_string(id)}});
  if (!body) return twin::unexpected(body.error());
  return std::monostate{};
}

result<range_result> etcd_store::range(const std::string& key, const std::string& range_end,
                                       revision at) {
  auto body = call(options_, preferred_, *impl_, "/v3/kv/range", range_request(key, range_end, at));
  return parse_with<range_result>(body, "range", [](const json& b) { return to_range(b); });
}

result<revision> etcd_store::put(const std::string& key, const std::string& value, lease_id lease) {
  auto body = call(options_, preferred_, *impl_, "/v3/kv/put", put_request({key, value, lease}));
  return parse_with<revision>(body, "put", [](const json& b) { return header_revision(b); });
}

result<revision> etcd_store::erase(const std::string& key, const std::string& range_end) {
  auto body =
      call(options_, preferred_, *impl_, "/v3/kv/deleterange", erase_request(key, range_end));
  return parse_with<revision>(body, "delete", [](const json& b) { return header_revision(b); });
}

result<txn_result> etcd_store::txn(const std::vector<compare>& compares,
                                   const std::vector<operation>& success,
                                   const std::vector<operation>& failure) {
  json request{{"compare", json::array()}, {"success", json::array()}, {"failure", json::array()}};
  for (const auto& c : compares) request["compare"].push_back(compare_request(c));
  for (const auto& op : success) request["success"].push_back(operation_request(op));
  for (const auto& op : failure) request["failure"].push_back(operation_request(op));
  auto body = call(options_, preferred_, *impl_, "/v3/kv/txn", request);
  return parse_with<txn_result>(body, "txn", [](const json& b) {
    txn_result out;
    // proto3 leaves out false: a failed comparison has no "succeeded" field.
    out.succeeded = b.value("succeeded", false);
    out.header_revision = header_revision(b);
    if (auto it = b.find("responses"); it != b.end())
      for (const auto& response : *it)
        if (auto range = response.find("response_range"); range != response.end())
          out.ranges.push_back(to_range(*range));
    return out;
  });
}

result<std::monostate> etcd_store::compact(revision rev) {
  auto body = call(options_, preferred_, *impl_, "/v3/kv/compaction",
                   json{{"revision", std::to_string(rev)}});
  if (!body) return twin::unexpected(body.error());
  return std::monostate{};
}

result<etcd_store::member_status> etcd_store::status(std::size_t endpoint) {
  TWIN_REQUIRE(endpoint < options_.endpoints.size());
  etcd_options one = options_;
  one.endpoints = {options_.endpoints[endpoint]};
  std::atomic<std::size_t> first{0};
  auto body = call(one, first, *impl_, "/v3/maintenance/status", json::object());
  return parse_with<member_status>(body, "status", [](const json& b) {
    member_status out;
    auto unsigned_field = [&](const json& o, const char* name) -> std::uint64_t {
      auto it = o.find(name);
      if (it == o.end()) return 0;
      return it->is_string() ? std::stoull(it->get<std::string>()) : it->get<std::uint64_t>();
    };
    out.member_id = unsigned_field(b.at("header"), "member_id");
    out.leader = unsigned_field(b, "leader");
    out.raft_term = number_field(b, "raftTerm") != 0 ? number_field(b, "raftTerm")
                                                     : number_field(b, "raft_term");
    out.header_revision = header_revision(b);
    out.version = b.value("version", std::string());
    return out;
  });
}

// ---------------------------------------------------------------------------------------------
// Watches: one thread per watch holding a streaming POST /v3/watch open; the gateway writes one
// JSON message per line. A lost stream is reopened from the revision after the last delivered.

namespace {

class etcd_watch final : public watch_handle {
 public:
  etcd_watch(etcd_options options, std::string key, std::string range_end, revision from,
             std::function<void(const watch_batch&)> on_batch)
      : options_(std::move(options)),
        key_(std::move(key)),
        range_end_(std::move(range_end)),
        next_(from),
        on_batch_(std::move(on_batch)) {
    multi_ = curl_multi_init();
    thread_ = std::thread([this] { run(); });
  }

  ~etcd_watch() override {
    stop_.store(true);
    curl_multi_wakeup(multi_);
    {
      std::lock_guard lock(mutex_);
      cv_.notify_all();
    }
    thread_.join();
    curl_multi_cleanup(multi_);
  }

 private:
  static size_t on_data(char* data, size_t size, size_t count, void* user) {
    auto* self = static_cast<etcd_watch*>(user);
    self->buffer_.append(data, size * count);
    if (self->buffer_.size() > watch_line_bytes_max) return 0;
    std::size_t newline;
    while ((newline = self->buffer_.find('\n')) != std::string::npos) {
      std::string line = self->buffer_.substr(0, newline);
      self->buffer_.erase(0, newline + 1);
      if (!self->handle_line(line)) return 0;
    }
    return size * count;
  }

  // False ends the stream (canceled, compacted or an error answer).
  bool handle_line(const std::string& line) {
    if (line.find_first_not_of(" \r\t") == std::string::npos) return true;
    json message;
    try {
      message = json::parse(line);
    } catch (const json::exception&) {
      return false;
    }
    if (message.contains("error")) return false;
    const json& r = message.contains("result") ? message["result"] : message;
    try {
      if (r.value("created", false)) {
        // From "now": later reconnects must start right after the revision the watch began at.
        if (next_ == 0) next_ = header_revision(r) + 1;
        connected_once_ = true;
      }
      if (std::int64_t compacted = number_field(r, "compact_revision"); compacted > 0) {
        watch_batch batch;
        batch.compact_revision = compacted;
        batch.header_revision = header_revision(r);
        on_batch_(batch);
        finished_ = true;
        return false;
      }
      if (r.value("canceled", false)) return false;
      auto events = r.find("events");
      if (events == r.end() || events->empty()) return true;
      watch_batch batch;
      batch.header_revision = header_revision(r);
      for (const auto& e : *events) {
        watch_event event;
        event.type = e.value("type", std::string()) == "DELETE" ? watch_event::kind::erase
                                                                : watch_event::kind::put;
        event.kv = to_key_value(e.at("kv"));
        next_ = std::max(next_, event.kv.mod_revision + 1);
        batch.events.push_back(std::move(event));
      }
      on_batch_(batch);
    } catch (const std::exception&) {
      return false;
    }
    return true;
  }

  void run() {
    std::chrono::milliseconds retry = options_.watch_retry_min;
    std::size_t endpoint = 0;
    while (!stop_.load() && !finished_) {
      stream(options_.endpoints[endpoint % options_.endpoints.size()]);
      if (stop_.load() || finished_) break;
      ++endpoint;
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, retry, [this] { return stop_.load(); });
      retry = std::min(retry * 2, options_.watch_retry_max);
      if (connected_once_) retry = options_.watch_retry_min;
      connected_once_ = false;
    }
  }

  void stream(const etcd_endpoint& endpoint) {
    CURL* curl = curl_easy_init();
    if (curl == nullptr) return;
    json create{{"key", base64_encode(key_)}};
    if (!range_end_.empty()) create["range_end"] = base64_encode(range_end_);
    if (next_ > 0) create["start_revision"] = std::to_string(next_);
    std::string body = json{{"create_request", create}}.dump();
    buffer_.clear();
    configure_endpoint(curl, endpoint, "/v3/watch");
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    // A watch on a quiet key sends nothing for long stretches; TCP keepalive finds a dead peer.
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_multi_add_handle(multi_, curl);
    int running = 1;
    while (running > 0 && !stop_.load()) {
      if (curl_multi_perform(multi_, &running) != CURLM_OK) break;
      if (running == 0) break;
      curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
    }
    curl_multi_remove_handle(multi_, curl);
    curl_easy_cleanup(curl);
  }

  etcd_options options_;
  std::string key_;
  std::string range_end_;
  revision next_;  // the first revision not yet delivered (0 = from now)
  std::function<void(const watch_batch&)> on_batch_;
  std::string buffer_;
  bool connected_once_ = false;
  bool finished_ = false;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable cv_;
  CURLM* multi_ = nullptr;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<watch_handle> etcd_store::watch(const std::string& key,
                                                const std::string& range_end, revision from,
                                                std::function<void(const watch_batch&)> on_batch) {
  return std::make_unique<etcd_watch>(options_, key, range_end, from, std::move(on_batch));
}

// ---------------------------------------------------------------------------------------------

namespace {
constexpr char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

std::string base64_encode(const std::string& bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    std::uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                      (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                      static_cast<unsigned char>(bytes[i + 2]);
    out += base64_alphabet[(v >> 18) & 63];
    out += base64_alphabet[(v >> 12) & 63];
    out += base64_alphabet[(v >> 6) & 63];
    out += base64_alphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    out += base64_alphabet[(v >> 18) & 63];
    out += base64_alphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    std::uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                      (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += base64_alphabet[(v >> 18) & 63];
    out += base64_alphabet[(v >> 12) & 63];
    out += base64_alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

twin::expected<std::string, std::string> base64_decode(const std::string& text) {
  auto value_of = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0)
    return twin::unexpected("base64 of length " + std::to_string(text.size()) +
                            " (not a multiple of 4)");
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int padding = 0;
    for (int k = 0; k < 4; ++k) {
      char c = text[i + static_cast<std::size_t>(k)];
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        v[k] = 0;
        ++padding;
        continue;
      }
      if (padding > 0 || (v[k] = value_of(c)) < 0)
        return twin::unexpected("base64: invalid character at offset " + std::to_string(i + k));
    }
    std::uint32_t word = (static_cast<std::uint32_t>(v[0]) << 18) |
                         (static_cast<std::uint32_t>(v[1]) << 12) |
                         (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    out += static_cast<char>((word >> 16) & 0xff);
    if (padding < 2) out += static_cast<char>((word >> 8) & 0xff);
    if (padding < 1) out += static_cast<char>(word & 0xff);
  }
  return out;
}

}  // namespace cluster::coord
