#pragma once

#include "cli/options.h"

namespace tcpscope {

// Runs `tcpscope synfail` until a stop signal, --duration, or a closed stdout.
// Throws StartupError / std::runtime_error; main() turns them into exit codes.
int run_command(const SynfailConfig& config);

}  // namespace tcpscope
