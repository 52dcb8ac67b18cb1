#pragma once

#include "cli/options.h"

namespace tcpscope {

// Runs `tcpscope listen` until a stop signal, --duration, or a closed stdout.
int run_command(const ListenConfig& config);

}  // namespace tcpscope
