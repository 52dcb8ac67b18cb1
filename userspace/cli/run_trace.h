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

// "events=N lost=N (ringbuf_full=N unrecovered=N malformed=N) recursion_misses=N
// recovered=N": the part of the exit summary every tracing subcommand prints.
std::string event_loss_summary(std::uint64_t events, const KernelLosses& kernel,
                               std::uint64_t malformed);

// event_loss_summary + " history_gaps=N sockets_seen=N ...", trace's exit summary.
std::string loss_summary(std::uint64_t events, const KernelLosses& kernel, std::uint64_t malformed,
                         const SocketTable& table);

std::unique_ptr<LineSink> open_output(const TraceConfig& config);

}  // namespace tcpscope
