#include "cluster/snapshot_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

#include "cluster/crc32c.hpp"
#include "cluster/little_endian.hpp"
#include "schemas/snapshot.capnp.h"
#include "twin/base/time_text.hpp"
#include "twin/city/fingerprint.hpp"

namespace cluster {

namespace {

namespace s = citytwin::schema;

using le::get_u32;
using le::get_u64;
using le::put_u32;
using le::put_u64;

std::string hex32(std::uint32_t v) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", v);
  return text;
}

storage_error corrupt(const std::string& name, const std::string& why) {
  return {storage_errc::corrupt, 0, "snapshot " + name + ": " + why};
}

storage_error sys_error(const std::string& what, const std::filesystem::path& file, int e) {
  storage_errc code = storage_errc::io_error;
  if (e == ENOSPC || e == EDQUOT) code = storage_errc::no_space;
  if (e == EFBIG) code = storage_errc::file_too_large;
  return {code, e, what + " snapshot " + file.string() + ": " + std::strerror(e)};
}

void put_dedup(s::BatchDedupImage::Builder b, const twin::batch_dedup_image& x) {
  b.setWindowBatchesMax(x.window_batches_max);
  b.setSessionsMax(x.sessions_max);
  b.setClock(x.clock);
  b.setSessionsEvicted(x.sessions_evicted);
  b.setBelowWindow(x.below_window);
  auto sessions = b.initSessions(static_cast<unsigned>(x.sessions.size()));
  for (unsigned i = 0; i < sessions.size(); ++i) {
    const auto& y = x.sessions[i];
    auto out = sessions[i];
    out.setGateway(y.gateway);
    out.setSession(y.session);
    out.setBase(y.base);
    out.setLastUsed(y.last_used);
    auto bits = out.initBits(static_cast<unsigned>(y.bits.size()));
    for (unsigned k = 0; k < bits.size(); ++k) bits.set(k, y.bits[k]);
  }
}

void put_window(s::WindowImage::Builder b, const twin::rolling_window_image& x) {
  b.setBucketMs(x.bucket_ms);
  b.setBucketsMax(x.buckets_max);
  b.setHead(x.head);
  b.setEmpty(x.empty);
  b.setDropped(x.dropped);
  auto buckets = b.initBuckets(static_cast<unsigned>(x.buckets.size()));
  for (unsigned i = 0; i < buckets.size(); ++i) {
    const auto& y = x.buckets[i];
    auto out = buckets[i];
    out.setIndex(y.index);
    out.setCount(y.count);
    out.setSum(y.sum);
    out.setMin(y.min);
    out.setMax(y.max);
    out.setEast(y.east);
    out.setNorth(y.north);
  }
}

void put_district(s::DistrictImage::Builder b, const twin::district_image& x) {
  b.setId(x.id.value);
  b.setKey(x.key);
  auto sensors = b.initSensors(static_cast<unsigned>(x.sensors.size()));
  for (unsigned i = 0; i < sensors.size(); ++i) {
    const auto& y = x.sensors[i];
    auto out = sensors[i];
    out.setId(y.id.value);
    out.setHasValue(y.has_value);
    out.setValue(y.value);
    out.setTimeMs(y.time);
    out.setReadings(y.readings);
    const twin::time_ms base = y.times.empty() ? 0 : y.times.front();
    out.setTimesBase(base);
    auto offsets = out.initTimeOffsets(static_cast<unsigned>(y.times.size()));
    for (unsigned k = 0; k < offsets.size(); ++k)
      offsets.set(k, static_cast<std::uint32_t>(y.times[k] - base));
    out.setCompleteFrom(y.complete_from);
  }
  auto links = b.initLinks(static_cast<unsigned>(x.links.size()));
  for (unsigned i = 0; i < links.size(); ++i) {
    const auto& y = x.links[i];
    auto out = links[i];
    out.setLink(y.link.value);
    out.setSpeedKmh(y.speed_kmh);
    out.setFlowVehH(y.flow_veh_h);
    out.setOccupancyPct(y.occupancy_pct);
    out.setSpeedTime(y.speed_time);
    out.setFlowTime(y.flow_time);
    out.setOccupancyTime(y.occupancy_time);
  }
  auto kinds = b.initKinds(static_cast<unsigned>(x.kinds.size()));
  for (unsigned i = 0; i < kinds.size(); ++i) {
    kinds[i].setKind(static_cast<std::uint8_t>(x.kinds[i].kind));
    put_window(kinds[i].initFine(), x.kinds[i].fine);
    put_window(kinds[i].initCoarse(), x.kinds[i].coarse);
  }
  auto rules = b.initRules(static_cast<unsigned>(x.rules.size()));
  for (unsigned i = 0; i < rules.size(); ++i) {
    rules[i].setKey(x.rules[i].key);
    rules[i].setFiring(x.rules[i].firing);
    rules[i].setSince(x.rules[i].since);
    rules[i].setValue(x.rules[i].value);
  }
  put_dedup(b.initDedup(), x.dedup);
  b.setKindsToEvaluate(x.kinds_to_evaluate);
  b.setEvaluatedAt(x.evaluated_at);
  b.setAlertsVersion(x.alerts_version);
  b.setReadingsApplied(x.readings_applied);
  b.setLateReadingsApplied(x.late_readings_applied);
  auto rejected = b.initRejected(twin::reject_reason_count);
  for (unsigned i = 0; i < twin::reject_reason_count; ++i) rejected.set(i, x.rejected.by_reason[i]);
}

// Reading: a field that cannot hold what the image needs throws field_error.
struct field_error {
  std::string field;
  std::string why;
};

twin::batch_dedup_image get_dedup(s::BatchDedupImage::Reader r) {
  twin::batch_dedup_image x;
  x.window_batches_max = r.getWindowBatchesMax();
  x.sessions_max = r.getSessionsMax();
  x.clock = r.getClock();
  x.sessions_evicted = r.getSessionsEvicted();
  x.below_window = r.getBelowWindow();
  for (auto y : r.getSessions()) {
    twin::dedup_session_image out;
    out.gateway = y.getGateway();
    out.session = y.getSession();
    out.base = y.getBase();
    out.last_used = y.getLastUsed();
    for (auto w : y.getBits()) out.bits.push_back(w);
    x.sessions.push_back(std::move(out));
  }
  return x;
}

twin::rolling_window_image get_window(s::WindowImage::Reader r) {
  twin::rolling_window_image x;
  x.bucket_ms = r.getBucketMs();
  x.buckets_max = r.getBucketsMax();
  x.head = r.getHead();
  x.empty = r.getEmpty();
  x.dropped = r.getDropped();
  for (auto b : r.getBuckets())
    x.buckets.push_back(twin::window_bucket_image{
        b.getIndex(), b.getCount(), b.getSum(), b.getMin(), b.getMax(), b.getEast(), b.getNorth()});
  return x;
}

twin::district_image get_district(s::DistrictImage::Reader r, const std::string& at) {
  twin::district_image x;
  x.id = twin::district_id{r.getId()};
  x.key = r.getKey();
  auto sensors = r.getSensors();
  for (unsigned i = 0; i < sensors.size(); ++i) {
    auto y = sensors[i];
    twin::sensor_image out;
    out.id = twin::sensor_id{y.getId()};
    out.has_value = y.getHasValue();
    out.value = y.getValue();
    out.time = y.getTimeMs();
    out.readings = y.getReadings();
    const auto base = y.getTimesBase();
    for (auto off : y.getTimeOffsets()) {
      if (base > std::numeric_limits<twin::time_ms>::max() - off)
        throw field_error{at + ".sensors[" + std::to_string(i) + "].timeOffsets",
                          "a time beyond the range of times"};
      out.times.push_back(base + off);
    }
    out.complete_from = y.getCompleteFrom();
    x.sensors.push_back(std::move(out));
  }
  for (auto y : r.getLinks())
    x.links.push_back(twin::link_image{twin::link_id{y.getLink()}, y.getSpeedKmh(), y.getFlowVehH(),
                                       y.getOccupancyPct(), y.getSpeedTime(), y.getFlowTime(),
                                       y.getOccupancyTime()});
  auto kinds = r.getKinds();
  for (unsigned i = 0; i < kinds.size(); ++i) {
    auto y = kinds[i];
    if (y.getKind() >= twin::sensor_kind_count)
      throw field_error{at + ".kinds[" + std::to_string(i) + "].kind",
                        "no sensor kind " + std::to_string(y.getKind())};
    x.kinds.push_back(twin::kind_image{static_cast<twin::sensor_kind>(y.getKind()),
                                       get_window(y.getFine()), get_window(y.getCoarse())});
  }
  for (auto y : r.getRules())
    x.rules.push_back(twin::rule_image{y.getKey(), y.getFiring(), y.getSince(), y.getValue()});
  x.dedup = get_dedup(r.getDedup());
  x.kinds_to_evaluate = r.getKindsToEvaluate();
  x.evaluated_at = r.getEvaluatedAt();
  x.alerts_version = r.getAlertsVersion();
  x.readings_applied = r.getReadingsApplied();
  x.late_readings_applied = r.getLateReadingsApplied();
  auto rejected = r.getRejected();
  if (rejected.size() != twin::reject_reason_count)
    throw field_error{at + ".rejected", std::to_string(rejected.size()) +
                                            " counts where there are " +
                                            std::to_string(twin::reject_reason_count) + " reasons"};
  for (unsigned i = 0; i < rejected.size(); ++i) x.rejected.by_reason[i] = rejected[i];
  return x;
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (unsigned char ch : text) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += static_cast<char>(ch);
    } else if (ch < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", ch);
      out += esc;
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out + "\"";
}

}  // namespace

std::vector<std::byte> encode_snapshot(const twin::node_snapshot& snapshot) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<s::Snapshot>();
  root.setFormatVersion(snapshot_format_version);
  root.setCityName(snapshot.city.name);
  root.setCityFingerprint(snapshot.city.fingerprint);
  root.setLsn(snapshot.lsn);
  root.setTakenMs(snapshot.taken_ms);
  auto districts = root.initDistricts(static_cast<unsigned>(snapshot.districts.size()));
  for (unsigned i = 0; i < districts.size(); ++i) put_district(districts[i], snapshot.districts[i]);
  root.setHasRouter(snapshot.router.has_value());
  if (snapshot.router) {
    auto router = root.initRouter();
    put_dedup(router.initPartless(), snapshot.router->partless);
    router.setUnknownSensorReadings(snapshot.router->unknown_sensor_readings);
  }
  auto words = capnp::messageToFlatArray(builder);
  auto payload = words.asBytes();
  std::vector<std::byte> out(snapshot_header_bytes + payload.size());
  std::memcpy(out.data(), snapshot_magic, sizeof snapshot_magic);
  put_u32(out.data() + 8, snapshot_format_version);
  std::memcpy(out.data() + snapshot_header_bytes, payload.begin(), payload.size());
  put_u32(out.data() + 12,
          crc32c(std::span<const std::byte>(out.data() + snapshot_header_bytes, payload.size())));
  put_u64(out.data() + 16, payload.size());
  return out;
}

twin::expected<loaded_snapshot, storage_error> decode_snapshot(std::span<const std::byte> bytes,
                                                               const std::string& name) {
  using failure = twin::unexpected<storage_error>;
  if (bytes.size() < snapshot_header_bytes)
    return failure{corrupt(name, "truncated: " + std::to_string(bytes.size()) +
                                     " bytes, the header alone is " +
                                     std::to_string(snapshot_header_bytes))};
  if (std::memcmp(bytes.data(), snapshot_magic, sizeof snapshot_magic) != 0)
    return failure{corrupt(name, "bad magic at offset 0: not a snapshot file (CTSNAP01)")};
  loaded_snapshot out;
  out.file.name = name;
  out.file.file_bytes = bytes.size();
  out.file.format_version = get_u32(bytes.data() + 8);
  if (out.file.format_version != snapshot_format_version)
    return failure{corrupt(name, "format version " + std::to_string(out.file.format_version) +
                                     " at offset 8: this build reads version " +
                                     std::to_string(snapshot_format_version))};
  const auto crc = get_u32(bytes.data() + 12);
  const auto length = get_u64(bytes.data() + 16);
  const auto after = bytes.size() - snapshot_header_bytes;
  if (length > after)
    return failure{corrupt(name, "truncated: the payload length at offset 16 is " +
                                     std::to_string(length) + " bytes, the file holds " +
                                     std::to_string(after) + " after the header")};
  if (length < after)
    return failure{corrupt(name, std::to_string(after - length) +
                                     " bytes after the payload at offset " +
                                     std::to_string(snapshot_header_bytes + length))};
  if (length % sizeof(capnp::word) != 0 || length == 0)
    return failure{corrupt(name, "payload length " + std::to_string(length) +
                                     " at offset 16 is not a whole number of 8-byte words")};
  out.file.payload_bytes = length;
  const auto payload = bytes.subspan(snapshot_header_bytes);
  if (const auto actual = crc32c(payload); actual != crc)
    return failure{corrupt(name, "CRC-32C mismatch: the header at offset 12 says " + hex32(crc) +
                                     ", the payload at offset 24 gives " + hex32(actual))};

  // Cap'n Proto reads whole words from aligned memory.
  const std::size_t words = length / sizeof(capnp::word);
  auto aligned = kj::heapArray<capnp::word>(words);
  std::memcpy(aligned.begin(), payload.data(), length);
  try {
    capnp::ReaderOptions options;
    // Each word is read once; the margin allows for small re-reads, not for the amplification of
    // a hostile message with overlapping pointers. A district is bounded on its own below.
    options.traversalLimitInWords = 2 * words + 1024;
    capnp::FlatArrayMessageReader reader(aligned.asPtr(), options);
    auto root = reader.getRoot<s::Snapshot>();
    auto& snap = out.snapshot;
    if (root.getFormatVersion() != out.file.format_version)
      return failure{corrupt(
          name, "field formatVersion " + std::to_string(root.getFormatVersion()) +
                    " differs from the header's " + std::to_string(out.file.format_version))};
    snap.city.name = root.getCityName();
    snap.city.fingerprint = root.getCityFingerprint();
    snap.lsn = root.getLsn();
    snap.taken_ms = root.getTakenMs();
    auto districts = root.getDistricts();
    for (unsigned i = 0; i < districts.size(); ++i) {
      const auto at = "districts[" + std::to_string(i) + "]";
      const auto size = districts[i].totalSize().wordCount * sizeof(capnp::word);
      if (size > snapshot_district_bytes_max)
        return failure{corrupt(name, "field " + at + ": " + std::to_string(size) +
                                         " bytes, more than the bound of " +
                                         std::to_string(snapshot_district_bytes_max))};
      out.file.district_bytes.push_back(size);
      snap.districts.push_back(get_district(districts[i], at));
    }
    if (root.getHasRouter()) {
      auto router = root.getRouter();
      snap.router =
          twin::router_image{get_dedup(router.getPartless()), router.getUnknownSensorReadings()};
    }
  } catch (const field_error& e) {
    return failure{corrupt(name, "field " + e.field + ": " + e.why)};
  } catch (const kj::Exception& e) {
    return failure{corrupt(name, std::string("the payload at offset 24 does not decode: ") +
                                     e.getDescription().cStr())};
  }
  return out;
}

std::optional<storage_error> check_snapshot_fits(const twin::node_snapshot& snapshot,
                                                 const std::string& name, const twin::city& city,
                                                 const twin::district_options& options) {
  const auto identity = twin::identity_of(city);
  if (snapshot.city.fingerprint != identity.fingerprint)
    return corrupt(name, "field cityFingerprint " +
                             twin::fingerprint_text(snapshot.city.fingerprint) + " (city '" +
                             snapshot.city.name + "'): the city '" + identity.name + "' has " +
                             twin::fingerprint_text(identity.fingerprint));
  if (snapshot.city.name != identity.name)
    return corrupt(
        name, "field cityName '" + snapshot.city.name + "': the city is '" + identity.name + "'");
  // The fingerprint covers sensors, not districts: the images must each name their district.
  std::vector<bool> seen(city.districts.size(), false);
  // A shared city pointer for district_state::restore, not owning the caller's city.
  const twin::city_ptr borrowed(std::shared_ptr<const twin::city>(), &city);
  for (std::size_t i = 0; i < snapshot.districts.size(); ++i) {
    const auto& d = snapshot.districts[i];
    const auto at = "field districts[" + std::to_string(i) + "]";
    auto id = city.find_district(d.key);
    if (!id) return corrupt(name, at + ": district key '" + d.key + "' the city does not have");
    if (*id != d.id)
      return corrupt(name, at + ": district '" + d.key + "' has id " + std::to_string(d.id.value) +
                               " where the city has " + std::to_string(id->value));
    if (seen[id->value]) return corrupt(name, at + ": district '" + d.key + "' twice");
    seen[id->value] = true;
    auto restored = twin::district_state::restore(borrowed, d, options);
    if (!restored) return corrupt(name, at + ": " + restored.error());
  }
  if (snapshot.router) {
    twin::batch_dedup partless(options.dedup_window_batches_max, options.dedup_sessions_max);
    if (auto e = partless.restore(snapshot.router->partless))
      return corrupt(name, "field router.partless: " + *e);
  }
  return std::nullopt;
}

twin::expected<std::uint64_t, storage_error> write_snapshot_file(
    const std::filesystem::path& path, const twin::node_snapshot& snapshot) {
  using failure = twin::unexpected<storage_error>;
  const auto bytes = encode_snapshot(snapshot);
  auto tmp = path;
  tmp += ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return failure{sys_error("cannot create", tmp, errno)};
  std::size_t done = 0;
  while (done < bytes.size()) {
    auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return failure{sys_error("cannot write", tmp, e)};
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fdatasync(fd) != 0) {
    const int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return failure{sys_error("cannot sync", tmp, e)};
  }
  if (::close(fd) != 0) return failure{sys_error("cannot close", tmp, errno)};
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return failure{sys_error("cannot rename to", path, e)};
  }
  auto dir = path.parent_path();
  if (dir.empty()) dir = ".";
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return failure{sys_error("cannot open the directory of", path, errno)};
  const int synced = ::fsync(dir_fd);
  const int e = errno;
  ::close(dir_fd);
  if (synced != 0) return failure{sys_error("cannot sync the directory of", path, e)};
  return static_cast<std::uint64_t>(bytes.size());
}

twin::expected<loaded_snapshot, storage_error> load_snapshot_file(
    const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return twin::unexpected{sys_error("cannot open", path, errno != 0 ? errno : ENOENT)};
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return twin::unexpected{sys_error("cannot read", path, errno != 0 ? errno : EIO)};
  return decode_snapshot(std::as_bytes(std::span<const char>(raw)), path.string());
}

twin::expected<twin::node_snapshot, storage_error> read_snapshot_file(
    const std::filesystem::path& path, const twin::city& city,
    const twin::district_options& options) {
  auto loaded = load_snapshot_file(path);
  if (!loaded) return twin::unexpected{loaded.error()};
  if (auto e = check_snapshot_fits(loaded->snapshot, path.string(), city, options))
    return twin::unexpected{*e};
  return std::move(loaded->snapshot);
}

std::string describe_snapshot(const loaded_snapshot& loaded, bool json) {
  const auto& snap = loaded.snapshot;
  const auto& file = loaded.file;
  std::ostringstream out;
  if (json) {
    out << "{\"file\":" << json_string(file.name) << ",\"format_version\":" << file.format_version
        << ",\"bytes\":" << file.file_bytes << ",\"city\":" << json_string(snap.city.name)
        << ",\"fingerprint\":" << json_string(twin::fingerprint_text(snap.city.fingerprint))
        << ",\"lsn\":" << snap.lsn << ",\"taken_ms\":" << snap.taken_ms << ",\"districts\":[";
    for (std::size_t i = 0; i < snap.districts.size(); ++i) {
      const auto& d = snap.districts[i];
      out << (i > 0 ? "," : "") << "{\"key\":" << json_string(d.key) << ",\"id\":" << d.id.value
          << ",\"sensors_reporting\":" << d.sensors_reporting()
          << ",\"readings_applied\":" << d.readings_applied
          << ",\"late_readings_applied\":" << d.late_readings_applied
          << ",\"dedup_sessions\":" << d.dedup.sessions.size()
          << ",\"times_remembered\":" << d.times_remembered()
          << ",\"alerts_active\":" << d.alerts_active() << ",\"bytes\":" << file.district_bytes[i]
          << "}";
    }
    out << "],\"router\":";
    if (snap.router)
      out << "{\"partless_sessions\":" << snap.router->partless.sessions.size()
          << ",\"unknown_sensor_readings\":" << snap.router->unknown_sensor_readings << "}";
    else
      out << "null";
    out << "}\n";
    return out.str();
  }
  out << "snapshot    " << file.name << " (format " << file.format_version << ", "
      << file.file_bytes << " bytes)\n"
      << "city        " << snap.city.name << " " << twin::fingerprint_text(snap.city.fingerprint)
      << "\n"
      << "lsn         " << snap.lsn << "\n"
      << "taken       " << twin::iso8601_utc(snap.taken_ms) << "\n";
  if (snap.router)
    out << "router      " << snap.router->partless.sessions.size() << " part-less sessions, "
        << snap.router->unknown_sensor_readings << " readings of unknown sensors\n";
  out << "districts   " << snap.districts.size() << "\n\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-20s %9s %12s %10s %8s %10s %7s %10s\n", "district",
                "reporting", "applied", "late", "sessions", "times", "alerts", "bytes");
  out << line;
  for (std::size_t i = 0; i < snap.districts.size(); ++i) {
    const auto& d = snap.districts[i];
    std::snprintf(line, sizeof line, "%-20s %9u %12llu %10llu %8zu %10llu %7u %10llu\n",
                  d.key.c_str(), d.sensors_reporting(),
                  static_cast<unsigned long long>(d.readings_applied),
                  static_cast<unsigned long long>(d.late_readings_applied), d.dedup.sessions.size(),
                  static_cast<unsigned long long>(d.times_remembered()), d.alerts_active(),
                  static_cast<unsigned long long>(file.district_bytes[i]));
    out << line;
  }
  return out.str();
}

}  // namespace cluster
