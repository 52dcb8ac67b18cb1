#pragma once

#include "cli/options.h"

namespace tcpscope {

// Runs `tcpscope netstat`: one table from a sock_diag snapshot, or with -c a
// table every interval from the live table kept current by the tracer.
// Throws StartupError / std::runtime_error; main() turns them into exit codes.
int run_command(const NetstatConfig& config);

}  // namespace tcpscope
