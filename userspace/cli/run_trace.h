#pragma once

#include "cli/options.h"

namespace tcpscope {

// Runs `tcpscope trace` until a stop signal, --duration, or a closed stdout.
// Throws StartupError / std::runtime_error; main() turns them into exit codes.
int run_command(const TraceConfig& config);

}  // namespace tcpscope
