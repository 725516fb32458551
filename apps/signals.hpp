#pragma once

#include <chrono>

namespace apps {

// SIGINT and SIGTERM are blocked in every thread (call before any thread starts) and collected
// here, so that Ctrl-C always ends the program through its normal, clean shutdown path.
void block_termination_signals();
// From now on SIGHUP asks for a reload instead of ending the program (`citytwin node` re-reads
// its allow-list). Call on the main thread before any thread starts.
void block_reload_signal();
// True once per SIGHUP received since the last call (seen while waiting for termination).
bool take_reload_request();
// Waits up to `timeout` for SIGINT or SIGTERM; true when one arrived (now or earlier).
bool wait_for_termination(std::chrono::milliseconds timeout);
bool termination_requested();
// The signal that asked for termination (SIGINT or SIGTERM), 0 before one arrived.
int termination_signal();

}  // namespace apps
