#pragma once

#include <string>

namespace cluster {

// What the node's storage (data directory, write-ahead log) can report. Expected outcomes, not
// bugs: the caller maps them to an ack (`storage_unavailable`) or a refusal to start.
enum class storage_errc {
  io_error,        // a system call failed (errno in the message)
  no_space,        // ENOSPC / EDQUOT: the write was rolled back; retry when space comes back
  file_too_large,  // EFBIG (a file size limit): rolled back like no_space
  sync_failed,     // fdatasync failed: nothing after the last durable LSN can be trusted
  corrupt,         // a record or segment that does not verify, where it cannot be a torn tail
  locked,          // the data directory is held by another process
};

struct storage_error {
  storage_errc code;
  int sys_errno = 0;    // 0 when no system call is involved
  std::string message;  // names the file (and offset) involved

  std::string to_string() const { return message; }
};

}  // namespace cluster
