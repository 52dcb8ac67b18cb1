#pragma once

#include "cli/options.h"

namespace tcpscope {

// Runs `tcpscope timewait` until a stop signal, --duration, or a closed stdout.
int run_command(const TimewaitConfig& config);

}  // namespace tcpscope
