// The only mutable global: set by SIGINT/SIGTERM, read by the event loop.
#pragma once

namespace tcpscope {

// Installs handlers for SIGINT and SIGTERM that only set the flag, and
// ignores SIGPIPE so a closed stdout shows up as EPIPE.
void install_stop_handlers();
bool stop_requested();

}  // namespace tcpscope
