// The only mutable globals: flags set by signal handlers, read by the event loop.
#pragma once

namespace tcpscope {

// Installs handlers for SIGINT and SIGTERM that only set the flag, and
// ignores SIGPIPE so a closed stdout shows up as EPIPE.
void install_stop_handlers();
bool stop_requested();

// SIGUSR1 asks a tracing subcommand to print its live table. The handler only
// sets a flag; snapshot_requested() reports and clears it.
void install_snapshot_handler();
bool snapshot_requested();

// SIGHUP asks `serve` to reopen its log file (after logrotate moved it).
// reopen_requested() reports and clears the flag.
void install_reopen_handler();
bool reopen_requested();

}  // namespace tcpscope
