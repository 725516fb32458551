#pragma once

// A node's snapshot file as the base of a scenario: the live state it holds, read as a running
// node's is read (cluster/live_fetch.hpp) from a runtime started from it in this process.

#include <filesystem>
#include <string>

#include "cluster/live_fetch.hpp"
#include "twin/base/expected.hpp"
#include "twin/city/city.hpp"
#include "twin/live/snapshot.hpp"

namespace node {

// The state of the snapshot file at `path` as a live snapshot for `bundle`. The file is read
// and checked against the bundle (errors name the file, and both cities when it is of another);
// a runtime is started from it on an actor system of its own, with a clock standing still at the
// moment the snapshot was taken (so that freshness is judged as of then), asked as a node is
// asked, and stopped. The snapshot's `node` is `path` as given, and its `snapshot` says the file,
// the LSN and the time it was taken.
twin::expected<twin::live_snapshot, std::string> live_snapshot_from_file(
    const std::filesystem::path& path, const twin::city& bundle,
    int timeout_ms = cluster::live_fetch_timeout_ms);

}  // namespace node
