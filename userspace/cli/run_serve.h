#pragma once

#include "cli/options.h"

namespace tcpscope {

// Runs `tcpscope serve` until SIGTERM/SIGINT or --duration: keeps the live
// table, serves its metrics, writes the optional JSON-lines log.
int run_command(const ServeConfig& config);

}  // namespace tcpscope
