#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "cli/options.h"

namespace tcpscope {

class LineSink;
class SocketTable;
struct KernelLosses;

// Runs `tcpscope trace` until a stop signal, --duration, or a closed stdout.
// Throws StartupError / std::runtime_error; main() turns them into exit codes.
int run_command(const TraceConfig& config);

// "events=N lost=N (ringbuf_full=N recursion_misses=N malformed=N) history_gaps=N ..."
// printed to stderr at exit by every tracing subcommand.
std::string loss_summary(std::uint64_t events, const KernelLosses& kernel, std::uint64_t malformed,
                         const SocketTable& table);

std::unique_ptr<LineSink> open_output(const TraceConfig& config);

}  // namespace tcpscope
