#pragma once

// Snapshot files: a node's live state (twin::node_snapshot: every district's image and the
// router's) after its write-ahead log up to an LSN, so that a restart reads the newest snapshot
// and replays only the log after it. The layout is in docs/STORAGE.md, "Snapshots":
//
//   offset  bytes  field
//   0       8      magic "CTSNAP01"
//   8       4      format version (little-endian), snapshot_format_version
//   12      4      CRC-32C of the payload (little-endian)
//   16      8      payload length in bytes (little-endian), a multiple of 8
//   24      ...    payload: one flat Cap'n Proto message of schemas/snapshot.capnp's Snapshot
//
// Every error names the file and the offset or field that is wrong.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "cluster/storage_error.hpp"
#include "twin/base/expected.hpp"
#include "twin/city/city.hpp"
#include "twin/live/district_image.hpp"
#include "twin/live/district_state.hpp"

namespace cluster {

inline constexpr char snapshot_magic[8] = {'C', 'T', 'S', 'N', 'A', 'P', '0', '1'};
inline constexpr std::uint32_t snapshot_format_version = 1;
inline constexpr std::size_t snapshot_header_bytes = 24;
// The bound on one district's image in the payload (its Cap'n Proto size): far above what a
// district of 100,000 sensors remembering an hour of times needs, and what keeps a corrupt or
// hostile file from making the reader allocate without end.
inline constexpr std::uint64_t snapshot_district_bytes_max = 16u << 20;

// The file's bytes: header and payload.
std::vector<std::byte> encode_snapshot(const twin::node_snapshot& snapshot);

// What a file holds besides the state, for `citytwin snapshot inspect`.
struct snapshot_file_info {
  std::string name;  // the file, as errors name it
  std::uint32_t format_version = 0;
  std::uint64_t file_bytes = 0;
  std::uint64_t payload_bytes = 0;
  std::vector<std::uint64_t> district_bytes;  // each district image's size in the payload
};

struct loaded_snapshot {
  twin::node_snapshot snapshot;
  snapshot_file_info file;
};

// Checks the header, the CRC and the payload's shape; not the city. `name` goes into errors.
twin::expected<loaded_snapshot, storage_error> decode_snapshot(std::span<const std::byte> bytes,
                                                               const std::string& name);

// Checks that a snapshot is of this city (name and fingerprint), that every district image names
// a district of the city under its id, and that each restores (district_state::restore with these
// options). The error names `name` and the district.
std::optional<storage_error> check_snapshot_fits(const twin::node_snapshot& snapshot,
                                                 const std::string& name, const twin::city& city,
                                                 const twin::district_options& options);

// Writes `path`.tmp, syncs it (fdatasync), renames it to `path` and syncs the directory: the file
// at `path` is either the old one or the whole new one, and durable on success. Returns the
// file's size.
twin::expected<std::uint64_t, storage_error> write_snapshot_file(
    const std::filesystem::path& path, const twin::node_snapshot& snapshot);

// Reads a file without judging it against a city (for inspection).
twin::expected<loaded_snapshot, storage_error> load_snapshot_file(
    const std::filesystem::path& path);
// Reads a file and checks it fits `city` and `options` (check_snapshot_fits).
twin::expected<twin::node_snapshot, storage_error> read_snapshot_file(
    const std::filesystem::path& path, const twin::city& city,
    const twin::district_options& options = {});

// What `citytwin snapshot inspect` prints: a text table, or one JSON object.
std::string describe_snapshot(const loaded_snapshot& loaded, bool json);

}  // namespace cluster
