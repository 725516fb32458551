#include "cluster/codec.hpp"

#include <zmq.hpp>

#include <optional>

#include <algorithm>
#include <bit>
#include <cstring>
#include <stdexcept>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include "schemas/ingest.capnp.h"
#include "schemas/query.capnp.h"

namespace cluster {

static_assert(std::endian::native == std::endian::little,
              "frames are written by copying segments; a big-endian host needs byte swaps");

namespace {

namespace s = ::citytwin::schema;

static_assert(static_cast<int>(s::AckStatus::STORAGE_UNAVAILABLE) ==
              static_cast<int>(twin::ack_status::storage_unavailable));
static_assert(twin::ack_status_count ==
              static_cast<std::size_t>(twin::ack_status::storage_unavailable) + 1);

constexpr std::size_t word_bytes = sizeof(capnp::word);
constexpr std::size_t severity_count = 3;
// Small frames (acks, requests) fit here; batches grow the scratch to their size once.
constexpr std::size_t scratch_words_min = 1024;

kj::Array<capnp::word> zeroed_words(std::size_t n) {
  auto a = kj::heapArray<capnp::word>(n);
  std::memset(a.begin(), 0, n * word_bytes);
  return a;
}

// Thrown only inside decoding, for a value no schema-valid message can hold, and caught at the
// decoding boundary like a kj::Exception.
struct invalid_value : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string text(capnp::Text::Reader t) {
  return std::string(t.begin(), t.size());
}
kj::StringPtr text_ptr(const std::string& s) {
  return kj::StringPtr(s.c_str(), s.size());
}

// --- twin -> Cap'n Proto -------------------------------------------------------------------------

// Acks carry per-batch counts (UInt32); views carry running totals (UInt64).
template <class T>
void write_rejected(const twin::reject_counts& c, typename capnp::List<T>::Builder list) {
  for (std::size_t i = 0; i < twin::reject_reason_count; ++i)
    list.set(i, static_cast<T>(c.by_reason[i]));
}

void write_window(const twin::window_stats& w, s::WindowStats::Builder b) {
  b.setCount(w.count);
  b.setMean(w.mean);
  b.setMin(w.min);
  b.setMax(w.max);
}

void write_district(const twin::district_view& d, s::DistrictView::Builder b) {
  b.setId(d.id.value);
  b.setKey(text_ptr(d.key));
  b.setName(text_ptr(d.name));
  b.setAsOfMs(d.as_of);
  b.setPopulation(d.population);
  b.setAreaKm2(d.area_km2);
  b.setReadingsApplied(d.readings_applied);
  write_rejected<std::uint64_t>(d.rejected, b.initRejected(twin::reject_reason_count));
  b.setSensors(d.sensors);
  b.setSensorsReporting(d.sensors_reporting);
  auto in = b.initIndicators();
  const auto& i = d.indicators;
  in.setCongestionIndex(i.congestion_index);
  in.setMeanSpeedKmh(i.mean_speed_kmh);
  in.setPm25UgM3(i.pm25_ug_m3);
  in.setNo2UgM3(i.no2_ug_m3);
  in.setCo2Ppm(i.co2_ppm);
  in.setNoiseDb(i.noise_db);
  in.setCrowding(i.crowding);
  in.setVisitors(i.visitors);
  in.setWasteFillPct(i.waste_fill_pct);
  in.setBinsFull(i.bins_full);
  in.setStaleSensors(i.stale_sensors);
  in.setActiveAlerts(i.active_alerts);
  auto kinds = b.initKinds(d.kinds.size());
  for (std::size_t k = 0; k < d.kinds.size(); ++k) {
    const auto& ks = d.kinds[k];
    auto kb = kinds[k];
    kb.setKind(static_cast<std::uint8_t>(ks.kind));
    kb.setSensors(ks.sensors);
    write_window(ks.last_1m, kb.initLast1m());
    write_window(ks.last_15m, kb.initLast15m());
    write_window(ks.last_1h, kb.initLast1h());
  }
  auto links = b.initLinks(d.links.size());
  for (std::size_t k = 0; k < d.links.size(); ++k) {
    const auto& l = d.links[k];
    auto lb = links[k];
    lb.setLink(l.link.value);
    lb.setKey(text_ptr(l.key));
    lb.setSpeedKmh(l.speed_kmh);
    lb.setFlowVehH(l.flow_veh_h);
    lb.setOccupancyPct(l.occupancy_pct);
    lb.setTimeMs(l.time);
  }
  auto alerts = b.initAlerts(d.alerts.size());
  for (std::size_t k = 0; k < d.alerts.size(); ++k) {
    const auto& a = d.alerts[k];
    auto ab = alerts[k];
    ab.setRule(text_ptr(a.rule));
    ab.setDistrict(a.district.value);
    ab.setKind(static_cast<std::uint8_t>(a.kind));
    ab.setLevel(static_cast<std::uint8_t>(a.level));
    ab.setValue(a.value);
    ab.setThreshold(a.threshold);
    ab.setSinceMs(a.since);
    ab.setMessage(text_ptr(a.message));
  }
}

void write_sensor(const twin::sensor_view& v, s::SensorView::Builder b) {
  b.setId(v.id.value);
  b.setKey(text_ptr(v.key));
  b.setKind(static_cast<std::uint8_t>(v.kind));
  b.setDistrict(v.district.value);
  b.setDistrictKey(text_ptr(v.district_key));
  b.setHasValue(v.has_value);
  b.setValue(v.value);
  b.setTimeMs(v.time);
  b.setReadings(v.readings);
}

void write_cluster(const twin::cluster_status_view& c, s::ClusterStatus::Builder b) {
  b.setAlone(c.alone);
  b.setNode(text_ptr(c.node));
  b.setCluster(text_ptr(c.cluster));
  b.setStore(text_ptr(c.store));
  b.setStoreReachable(c.store_reachable);
  b.setRevision(c.revision);
  b.setEpoch(c.epoch);
  b.setCoordinator(text_ptr(c.coordinator));
  b.setTerm(c.term);
  b.setReplicationFactor(c.replication_factor);
  auto members = b.initMembers(static_cast<unsigned>(c.members.size()));
  for (unsigned i = 0; i < c.members.size(); ++i) {
    const auto& m = c.members[i];
    auto o = members[i];
    o.setId(text_ptr(m.id));
    o.setIncarnation(text_ptr(m.incarnation));
    o.setState(text_ptr(m.state));
    o.setZone(text_ptr(m.zone));
    o.setIngest(text_ptr(m.ingest));
    o.setQuery(text_ptr(m.query));
    o.setMetrics(text_ptr(m.metrics));
    o.setOwns(m.owns);
    o.setReplicates(m.replicates);
    o.setCity(text_ptr(m.city));
    o.setFingerprint(text_ptr(m.fingerprint));
    o.setStartedMs(m.started_ms);
  }
  auto districts = b.initDistricts(static_cast<unsigned>(c.districts.size()));
  for (unsigned i = 0; i < c.districts.size(); ++i) {
    const auto& d = c.districts[i];
    auto o = districts[i];
    o.setDistrict(text_ptr(d.district));
    o.setOwner(text_ptr(d.owner));
    o.setIndex(d.index);
    auto replicas = o.initReplicas(static_cast<unsigned>(d.replicas.size()));
    for (unsigned j = 0; j < d.replicas.size(); ++j) replicas.set(j, text_ptr(d.replicas[j]));
  }
}

void write_city(const twin::city_view& c, s::CityView::Builder b) {
  b.setName(text_ptr(c.name));
  b.setAsOfMs(c.as_of);
  b.setReadingsApplied(c.readings_applied);
  write_rejected<std::uint64_t>(c.rejected, b.initRejected(twin::reject_reason_count));
  auto list = b.initDistricts(c.districts.size());
  for (std::size_t k = 0; k < c.districts.size(); ++k) write_district(c.districts[k], list[k]);
}

// --- Cap'n Proto -> twin -------------------------------------------------------------------------

template <class T>
twin::reject_counts read_rejected(typename capnp::List<T>::Reader list) {
  twin::reject_counts c;
  // A longer list comes from a newer peer whose extra reasons this build cannot name.
  auto n = std::min<std::size_t>(list.size(), twin::reject_reason_count);
  for (std::size_t i = 0; i < n; ++i) c.by_reason[i] = list[i];
  return c;
}

twin::sensor_kind read_kind(std::uint8_t k) {
  if (k >= twin::sensor_kind_count)
    throw invalid_value("sensor kind " + std::to_string(k) + " is not one of the " +
                        std::to_string(twin::sensor_kind_count) + " kinds this node knows");
  return static_cast<twin::sensor_kind>(k);
}

twin::severity read_severity(std::uint8_t v) {
  if (v >= severity_count) throw invalid_value("severity " + std::to_string(v) + " is unknown");
  return static_cast<twin::severity>(v);
}

twin::window_stats read_window(s::WindowStats::Reader r) {
  return {r.getCount(), r.getMean(), r.getMin(), r.getMax()};
}

twin::district_view read_district(s::DistrictView::Reader r) {
  twin::district_view d;
  d.id = twin::district_id{r.getId()};
  d.key = text(r.getKey());
  d.name = text(r.getName());
  d.as_of = r.getAsOfMs();
  d.population = r.getPopulation();
  d.area_km2 = r.getAreaKm2();
  d.readings_applied = r.getReadingsApplied();
  d.rejected = read_rejected<std::uint64_t>(r.getRejected());
  d.sensors = r.getSensors();
  d.sensors_reporting = r.getSensorsReporting();
  auto in = r.getIndicators();
  auto& i = d.indicators;
  i.congestion_index = in.getCongestionIndex();
  i.mean_speed_kmh = in.getMeanSpeedKmh();
  i.pm25_ug_m3 = in.getPm25UgM3();
  i.no2_ug_m3 = in.getNo2UgM3();
  i.co2_ppm = in.getCo2Ppm();
  i.noise_db = in.getNoiseDb();
  i.crowding = in.getCrowding();
  i.visitors = in.getVisitors();
  i.waste_fill_pct = in.getWasteFillPct();
  i.bins_full = in.getBinsFull();
  i.stale_sensors = in.getStaleSensors();
  i.active_alerts = in.getActiveAlerts();
  auto kinds = r.getKinds();
  d.kinds.reserve(kinds.size());
  for (auto k : kinds) {
    d.kinds.push_back({read_kind(k.getKind()), k.getSensors(), read_window(k.getLast1m()),
                       read_window(k.getLast15m()), read_window(k.getLast1h())});
  }
  auto links = r.getLinks();
  d.links.reserve(links.size());
  for (auto l : links) {
    d.links.push_back({twin::link_id{l.getLink()}, text(l.getKey()), l.getSpeedKmh(),
                       l.getFlowVehH(), l.getOccupancyPct(), l.getTimeMs()});
  }
  auto alerts = r.getAlerts();
  d.alerts.reserve(alerts.size());
  for (auto a : alerts) {
    d.alerts.push_back({text(a.getRule()), twin::district_id{a.getDistrict()},
                        read_kind(a.getKind()), read_severity(a.getLevel()), a.getValue(),
                        a.getThreshold(), a.getSinceMs(), text(a.getMessage())});
  }
  return d;
}

twin::sensor_view read_sensor(s::SensorView::Reader r) {
  twin::sensor_view v;
  v.id = twin::sensor_id{r.getId()};
  v.key = text(r.getKey());
  v.kind = read_kind(r.getKind());
  v.district = twin::district_id{r.getDistrict()};
  v.district_key = text(r.getDistrictKey());
  v.has_value = r.getHasValue();
  v.value = r.getValue();
  v.time = r.getTimeMs();
  v.readings = r.getReadings();
  return v;
}

twin::city_view read_city(s::CityView::Reader r) {
  twin::city_view c;
  c.name = text(r.getName());
  c.as_of = r.getAsOfMs();
  c.readings_applied = r.getReadingsApplied();
  c.rejected = read_rejected<std::uint64_t>(r.getRejected());
  auto list = r.getDistricts();
  c.districts.reserve(list.size());
  for (auto d : list) c.districts.push_back(read_district(d));
  return c;
}

twin::cluster_status_view read_cluster(s::ClusterStatus::Reader r) {
  twin::cluster_status_view c;
  c.alone = r.getAlone();
  c.node = text(r.getNode());
  c.cluster = text(r.getCluster());
  c.store = text(r.getStore());
  c.store_reachable = r.getStoreReachable();
  c.revision = r.getRevision();
  c.epoch = r.getEpoch();
  c.coordinator = text(r.getCoordinator());
  c.term = r.getTerm();
  c.replication_factor = r.getReplicationFactor();
  for (auto m : r.getMembers())
    c.members.push_back({text(m.getId()), text(m.getIncarnation()), text(m.getState()),
                         text(m.getZone()), text(m.getIngest()), text(m.getQuery()),
                         text(m.getMetrics()), m.getOwns(), m.getReplicates(), text(m.getCity()),
                         text(m.getFingerprint()), m.getStartedMs()});
  for (auto d : r.getDistricts()) {
    twin::cluster_district_roles roles{text(d.getDistrict()), text(d.getOwner()), {}, d.getIndex()};
    for (auto replica : d.getReplicas()) roles.replicas.push_back(text(replica));
    c.districts.push_back(std::move(roles));
  }
  return c;
}

twin::query_request read_request(s::QueryRequest::Reader r) {
  switch (r.which()) {
    case s::QueryRequest::CITY:
      return twin::query_city{};
    case s::QueryRequest::DISTRICT:
      return twin::query_district{text(r.getDistrict())};
    case s::QueryRequest::SENSOR:
      return twin::query_sensor{text(r.getSensor())};
    case s::QueryRequest::CLUSTER:
      return twin::query_cluster{};
  }
  throw invalid_value("query kind " + std::to_string(static_cast<unsigned>(r.which())) +
                      " is unknown");
}

std::string version_message(std::uint16_t theirs, std::uint16_t ours) {
  return "protocol version " + std::to_string(theirs) + ", this node speaks " +
         std::to_string(ours);
}

// Query requests and replies carry the same version field; another version is refused by name.
std::optional<decode_error> wrong_query_version(std::uint16_t theirs, std::uint64_t request_id) {
  if (theirs == query_protocol_version) return std::nullopt;
  return decode_error{decode_failure::wrong_version,
                      version_message(theirs, query_protocol_version),
                      {},
                      0,
                      request_id};
}

}  // namespace

std::string_view to_string(decode_failure f) {
  switch (f) {
    case decode_failure::truncated:
      return "truncated";
    case decode_failure::garbage:
      return "garbage";
    case decode_failure::wrong_version:
      return "wrong_version";
    case decode_failure::too_large:
      return "too_large";
  }
  return "?";
}

twin::ack_status ack_status_for(decode_failure f) {
  return f == decode_failure::wrong_version ? twin::ack_status::wrong_version
                                            : twin::ack_status::malformed;
}

// --- encoder -------------------------------------------------------------------------------------

struct encoder::state {
  // Zeroed first segment, lent to each MallocMessageBuilder (which zeroes what it used again).
  kj::Array<capnp::word> scratch = zeroed_words(scratch_words_min);

  // Builds a message with `fill` and writes it in the standard framing (segment table, then
  // segments) into memory obtained from `allocate(bytes)`.
  template <class Fill, class Allocate>
  void build(std::size_t words_hint, Fill&& fill, Allocate&& allocate) {
    if (scratch.size() < words_hint)
      scratch = zeroed_words(std::max(words_hint, scratch.size() * 2));
    capnp::MallocMessageBuilder builder(scratch.asPtr());
    fill(builder);
    auto segments = builder.getSegmentsForOutput();
    const std::size_t table_words = (segments.size() + 2) / 2;
    std::size_t total_words = table_words;
    for (auto seg : segments) total_words += seg.size();
    auto* out = static_cast<std::byte*>(allocate(total_words * word_bytes));
    std::uint32_t table[2] = {static_cast<std::uint32_t>(segments.size() - 1), 0};
    std::size_t offset = 0;
    // The table: segment count - 1, then each segment's size in words, padded to a whole word.
    for (std::size_t i = 0; i <= segments.size(); ++i) {
      std::uint32_t v = i == 0 ? table[0] : static_cast<std::uint32_t>(segments[i - 1].size());
      std::memcpy(out + offset, &v, sizeof v);
      offset += sizeof v;
    }
    if (offset % word_bytes != 0) {
      std::memcpy(out + offset, &table[1], sizeof table[1]);
      offset += sizeof table[1];
    }
    for (auto seg : segments) {
      std::memcpy(out + offset, seg.begin(), seg.size() * word_bytes);
      offset += seg.size() * word_bytes;
    }
  }
};

namespace {

auto vector_output(std::vector<std::byte>& out) {
  return [&out](std::size_t bytes) -> void* {
    out.resize(bytes);
    return out.data();
  };
}

auto message_output(zmq::message_t& out) {
  return [&out](std::size_t bytes) -> void* {
    out.rebuild(bytes);
    return out.data();
  };
}

// Root pointer + ReadingBatch struct + list tag, then 3 words a reading, then the city's name.
std::size_t batch_words(std::size_t readings, const twin::city_identity& city) {
  return 10 + 3 * readings + city.name.size() / 8 + 1;
}

auto batch_fill(const twin::batch_key& key, std::span<const twin::reading> readings,
                const twin::city_identity& city) {
  return [&key, readings, &city](capnp::MessageBuilder& m) {
    auto b = m.initRoot<s::ReadingBatch>();
    b.setProtocolVersion(ingest_protocol_version);
    b.setGateway(key.gateway);
    b.setSession(key.session);
    b.setSequence(key.sequence);
    if (city.fingerprint != 0) {
      b.setCity(text_ptr(city.name));
      b.setCityFingerprint(city.fingerprint);
    }
    auto list = b.initReadings(static_cast<unsigned>(readings.size()));
    for (std::size_t i = 0; i < readings.size(); ++i) {
      auto r = list[i];
      r.setSensor(readings[i].sensor.value);
      r.setTimeMs(readings[i].time);
      r.setValue(readings[i].value);
    }
  };
}

auto ack_fill(const twin::batch_ack& ack) {
  return [&ack](capnp::MessageBuilder& m) {
    auto b = m.initRoot<s::BatchAck>();
    b.setProtocolVersion(ingest_protocol_version);
    b.setGateway(ack.key.gateway);
    b.setSession(ack.key.session);
    b.setSequence(ack.key.sequence);
    b.setStatus(static_cast<s::AckStatus>(ack.status));
    b.setAccepted(ack.accepted);
    write_rejected<std::uint32_t>(ack.rejected, b.initRejected(twin::reject_reason_count));
    b.setCredit(ack.credit);
    b.setMessage(text_ptr(ack.message));
    b.setCity(text_ptr(ack.city.name));
    b.setCityFingerprint(ack.city.fingerprint);
  };
}

std::size_t ack_words(const twin::batch_ack& ack) {
  return 34 + ack.message.size() / 8 + ack.city.name.size() / 8;
}

auto request_fill(std::uint64_t request_id, const twin::query_request& request) {
  return [request_id, &request](capnp::MessageBuilder& m) {
    auto b = m.initRoot<s::QueryRequest>();
    b.setProtocolVersion(query_protocol_version);
    b.setRequestId(request_id);
    if (std::holds_alternative<twin::query_city>(request)) {
      b.setCity();
    } else if (auto* d = std::get_if<twin::query_district>(&request)) {
      b.setDistrict(text_ptr(d->key));
    } else if (auto* q = std::get_if<twin::query_sensor>(&request)) {
      b.setSensor(text_ptr(q->key));
    } else {
      b.setCluster();
    }
  };
}

auto reply_fill(std::uint64_t request_id, const twin::query_reply& reply) {
  return [request_id, &reply](capnp::MessageBuilder& m) {
    auto b = m.initRoot<s::QueryReply>();
    b.setProtocolVersion(query_protocol_version);
    b.setRequestId(request_id);
    if (auto* c = std::get_if<twin::city_view>(&reply)) {
      write_city(*c, b.initCity());
    } else if (auto* d = std::get_if<twin::district_view>(&reply)) {
      write_district(*d, b.initDistrict());
    } else if (auto* v = std::get_if<twin::sensor_view>(&reply)) {
      write_sensor(*v, b.initSensor());
    } else if (auto* k = std::get_if<twin::cluster_status_view>(&reply)) {
      write_cluster(*k, b.initCluster());
    } else {
      b.setError(text_ptr(std::get<twin::query_error>(reply).message));
    }
  };
}

std::size_t reply_words(const twin::query_reply& reply) {
  if (auto* c = std::get_if<twin::city_view>(&reply)) return 256 + 128 * c->districts.size();
  if (auto* d = std::get_if<twin::district_view>(&reply))
    return 256 + 16 * d->links.size() + 16 * d->alerts.size();
  if (auto* k = std::get_if<twin::cluster_status_view>(&reply))
    return 256 + 64 * k->members.size() + 32 * k->districts.size();
  return 128;
}

}  // namespace

encoder::encoder() : state_(std::make_unique<state>()) {}
encoder::~encoder() = default;

std::span<const std::byte> encoder::encode_batch(const twin::batch_key& key,
                                                 std::span<const twin::reading> readings,
                                                 std::vector<std::byte>& out,
                                                 const twin::city_identity& city) {
  state_->build(batch_words(readings.size(), city), batch_fill(key, readings, city),
                vector_output(out));
  return out;
}

void encoder::encode_batch(const twin::batch_key& key, std::span<const twin::reading> readings,
                           zmq::message_t& out, const twin::city_identity& city) {
  state_->build(batch_words(readings.size(), city), batch_fill(key, readings, city),
                message_output(out));
}

std::span<const std::byte> encoder::encode_ack(const twin::batch_ack& ack,
                                               std::vector<std::byte>& out) {
  state_->build(ack_words(ack), ack_fill(ack), vector_output(out));
  return out;
}

void encoder::encode_ack(const twin::batch_ack& ack, zmq::message_t& out) {
  state_->build(ack_words(ack), ack_fill(ack), message_output(out));
}

std::span<const std::byte> encoder::encode_query_request(std::uint64_t request_id,
                                                         const twin::query_request& request,
                                                         std::vector<std::byte>& out) {
  state_->build(128, request_fill(request_id, request), vector_output(out));
  return out;
}

void encoder::encode_query_request(std::uint64_t request_id, const twin::query_request& request,
                                   zmq::message_t& out) {
  state_->build(128, request_fill(request_id, request), message_output(out));
}

std::span<const std::byte> encoder::encode_query_reply(std::uint64_t request_id,
                                                       const twin::query_reply& reply,
                                                       std::vector<std::byte>& out) {
  state_->build(reply_words(reply), reply_fill(request_id, reply), vector_output(out));
  return out;
}

void encoder::encode_query_reply(std::uint64_t request_id, const twin::query_reply& reply,
                                 zmq::message_t& out) {
  state_->build(reply_words(reply), reply_fill(request_id, reply), message_output(out));
}

// --- decoder -------------------------------------------------------------------------------------

struct decoder::state {
  kj::Array<capnp::word> aligned;  // grown to the largest misaligned frame seen, then reused
};

namespace {

decode_error failure(decode_failure f, std::string message) {
  return decode_error{f, std::move(message), {}, 0, 0};
}

// The same failure, addressed to what the header of the refused message said.
decode_error failure(const decode_error& header, decode_failure f, std::string message) {
  decode_error e = header;
  e.failure = f;
  e.message = std::move(message);
  return e;
}

std::string too_large_message(std::size_t bytes, std::size_t bytes_max) {
  return "frame of " + std::to_string(bytes) + " bytes exceeds the limit of " +
         std::to_string(bytes_max) + " bytes";
}

// GCC 12 warns of a maybe-uninitialized string inside the std::variant of a query request moved
// into expected<>; the value is always constructed (a known false positive of
// -Wmaybe-uninitialized).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// Checks the framing of `frame`, realigns it when needed, reads the message's header with
// `header(root, error)` first (so that every later failure still names the message: its batch
// key and reading count, or its request id), then calls `body(root, header)`; all inside the
// boundary that turns every exception of the parser into a decode_error. A frame over `bytes_max`
// is refused after its header alone is read.
template <class Root, class Result, class Header, class Body>
twin::expected<Result, decode_error> read_frame(decoder::state& st, std::size_t bytes_max,
                                                std::uint64_t& realigned,
                                                std::span<const std::byte> frame, Header&& header,
                                                Body&& body) {
  using twin::unexpected;
  const std::size_t bytes = frame.size();
  const bool oversize = bytes > bytes_max;
  if (bytes == 0) return unexpected{failure(decode_failure::truncated, "truncated frame: empty")};
  if (bytes % word_bytes != 0) {
    if (oversize)
      return unexpected{failure(decode_failure::too_large, too_large_message(bytes, bytes_max))};
    return unexpected{
        failure(decode_failure::truncated, "truncated frame: " + std::to_string(bytes) +
                                               " bytes is not a whole number of 8-byte words")};
  }
  const std::size_t words = bytes / word_bytes;
  const auto* data = reinterpret_cast<const capnp::word*>(frame.data());
  if (reinterpret_cast<std::uintptr_t>(frame.data()) % alignof(capnp::word) != 0) {
    // Cap'n Proto 0.9 refuses unaligned input, and ZeroMQ frames often are.
    if (st.aligned.size() < words)
      st.aligned = kj::heapArray<capnp::word>(std::max(words, st.aligned.size() * 2));
    std::memcpy(st.aligned.begin(), frame.data(), bytes);
    data = st.aligned.begin();
    ++realigned;
  }
  kj::ArrayPtr<const capnp::word> array(data, words);
  decode_error head = failure(decode_failure::garbage, "");
  try {
    const std::size_t announced = capnp::expectedSizeInWordsFromPrefix(array);
    if (announced > words) {
      if (oversize)
        return unexpected{failure(decode_failure::too_large, too_large_message(bytes, bytes_max))};
      return unexpected{
          failure(decode_failure::truncated, "truncated frame: " + std::to_string(bytes) +
                                                 " bytes, its segment table announces " +
                                                 std::to_string(announced * word_bytes))};
    }
    capnp::ReaderOptions options;
    // Each part of a frame is read once; the margin allows for small re-reads, not for the
    // amplification a hostile frame with overlapping pointers would cause.
    options.traversalLimitInWords = 2 * words + 1024;
    options.nestingLimit = frame_nesting_max;
    capnp::FlatArrayMessageReader reader(array.slice(0, announced), options);
    auto root = reader.getRoot<Root>();
    header(root, head);
    if (oversize)
      return unexpected{
          failure(head, decode_failure::too_large, too_large_message(bytes, bytes_max))};
    if (announced < words)
      return unexpected{failure(head, decode_failure::garbage,
                                "garbage: " + std::to_string((words - announced) * word_bytes) +
                                    " bytes after the end of the message")};
    return body(root, head);
  } catch (const kj::Exception& e) {
    if (oversize)
      return unexpected{
          failure(head, decode_failure::too_large, too_large_message(bytes, bytes_max))};
    return unexpected{failure(head, decode_failure::garbage,
                              std::string("garbage: ") + e.getDescription().cStr())};
  } catch (const std::exception& e) {
    if (oversize)
      return unexpected{
          failure(head, decode_failure::too_large, too_large_message(bytes, bytes_max))};
    return unexpected{failure(head, decode_failure::garbage, std::string("garbage: ") + e.what())};
  }
}
#pragma GCC diagnostic pop

// A batch's header: its key, then how many readings it holds. The key's fields keep their
// ordinals in every version; the readings' may not, so a list that cannot be read leaves the
// count at 0 here and lets the version check (or the body) say what is wrong.
void batch_header(s::ReadingBatch::Reader r, decode_error& head) {
  head.key = {r.getGateway(), r.getSession(), r.getSequence()};
  try {
    head.readings = r.getReadings().size();
  } catch (const kj::Exception&) {
    head.readings = 0;
  }
}

void ack_header(s::BatchAck::Reader r, decode_error& head) {
  head.key = {r.getGateway(), r.getSession(), r.getSequence()};
}

template <class Reader>
void request_header(Reader r, decode_error& head) {
  head.request_id = r.getRequestId();
}

}  // namespace

decoder::decoder(std::size_t bytes_max)
    : state_(std::make_unique<state>()), bytes_max_(bytes_max) {}
decoder::~decoder() = default;

twin::expected<twin::reading_batch, decode_error> decoder::decode_batch(
    std::span<const std::byte> frame) {
  using result = twin::expected<twin::reading_batch, decode_error>;
  return read_frame<s::ReadingBatch, twin::reading_batch>(
      *state_, bytes_max_, realigned_, frame, batch_header,
      [](s::ReadingBatch::Reader r, const decode_error& head) -> result {
        if (r.getProtocolVersion() != ingest_protocol_version)
          return twin::unexpected{
              failure(head, decode_failure::wrong_version,
                      version_message(r.getProtocolVersion(), ingest_protocol_version))};
        auto list = r.getReadings();
        if (list.size() > batch_readings_max)
          return twin::unexpected{failure(head, decode_failure::too_large,
                                          "batch of " + std::to_string(list.size()) +
                                              " readings exceeds the limit of " +
                                              std::to_string(batch_readings_max))};
        twin::reading_batch batch;
        batch.key = head.key;
        batch.city.fingerprint = r.getCityFingerprint();
        if (r.hasCity()) batch.city.name = text(r.getCity());
        batch.readings.reserve(list.size());
        for (auto x : list)
          batch.readings.push_back({twin::sensor_id{x.getSensor()}, x.getTimeMs(), x.getValue()});
        return batch;
      });
}

twin::expected<twin::batch_ack, decode_error> decoder::decode_ack(
    std::span<const std::byte> frame) {
  using result = twin::expected<twin::batch_ack, decode_error>;
  return read_frame<s::BatchAck, twin::batch_ack>(
      *state_, bytes_max_, realigned_, frame, ack_header,
      [](s::BatchAck::Reader r, const decode_error& head) -> result {
        twin::batch_ack ack;
        ack.key = head.key;
        if (r.getProtocolVersion() != ingest_protocol_version)
          return twin::unexpected{
              failure(head, decode_failure::wrong_version,
                      version_message(r.getProtocolVersion(), ingest_protocol_version))};
        auto status = static_cast<unsigned>(r.getStatus());
        if (status >= twin::ack_status_count)
          throw invalid_value("ack status " + std::to_string(status) + " is unknown");
        ack.status = static_cast<twin::ack_status>(status);
        ack.accepted = r.getAccepted();
        ack.rejected = read_rejected<std::uint32_t>(r.getRejected());
        ack.credit = r.getCredit();
        ack.message = text(r.getMessage());
        ack.city.name = text(r.getCity());
        ack.city.fingerprint = r.getCityFingerprint();
        return ack;
      });
}

twin::expected<query_request_frame, decode_error> decoder::decode_query_request(
    std::span<const std::byte> frame) {
  using result = twin::expected<query_request_frame, decode_error>;
  return read_frame<s::QueryRequest, query_request_frame>(
      *state_, bytes_max_, realigned_, frame, request_header<s::QueryRequest::Reader>,
      [](s::QueryRequest::Reader r, const decode_error& head) -> result {
        query_request_frame q;
        q.request_id = head.request_id;
        if (auto e = wrong_query_version(r.getProtocolVersion(), q.request_id))
          return twin::unexpected{std::move(*e)};
        q.request = read_request(r);
        return q;
      });
}

twin::expected<query_reply_frame, decode_error> decoder::decode_query_reply(
    std::span<const std::byte> frame) {
  using result = twin::expected<query_reply_frame, decode_error>;
  return read_frame<s::QueryReply, query_reply_frame>(
      *state_, bytes_max_, realigned_, frame, request_header<s::QueryReply::Reader>,
      [](s::QueryReply::Reader r, const decode_error& head) -> result {
        query_reply_frame q;
        q.request_id = head.request_id;
        if (auto e = wrong_query_version(r.getProtocolVersion(), q.request_id))
          return twin::unexpected{std::move(*e)};
        switch (r.which()) {
          case s::QueryReply::CITY:
            q.reply = read_city(r.getCity());
            break;
          case s::QueryReply::DISTRICT:
            q.reply = read_district(r.getDistrict());
            break;
          case s::QueryReply::SENSOR:
            q.reply = read_sensor(r.getSensor());
            break;
          case s::QueryReply::ERROR:
            q.reply = twin::query_error{text(r.getError())};
            break;
          case s::QueryReply::CLUSTER:
            q.reply = read_cluster(r.getCluster());
            break;
          default:
            throw invalid_value("reply kind " + std::to_string(static_cast<unsigned>(r.which())) +
                                " is unknown");
        }
        return q;
      });
}

std::span<const std::byte> bytes_of(const zmq::message_t& m) {
  return {static_cast<const std::byte*>(m.data()), m.size()};
}

}  // namespace cluster
