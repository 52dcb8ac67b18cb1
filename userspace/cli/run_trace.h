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

// "events=N lost=N (ringbuf_full=N unrecovered=N malformed=N found_by_listing=N)
// recursion_misses=N recovered=N": the part of the exit summary every tracing
// subcommand prints. lost is the sum of its causes: found_by_listing counts
// transitions only reconciliation showed were never delivered.
std::string event_loss_summary(std::uint64_t events, const KernelLosses& kernel,
                               std::uint64_t malformed, std::uint64_t found_by_listing = 0);

// event_loss_summary + " history_gaps=N sockets_seen=N ...", trace's exit summary.
std::string loss_summary(std::uint64_t events, const KernelLosses& kernel, std::uint64_t malformed,
                         std::uint64_t found_by_listing, const SocketTable& table);

// -o's file (given to `owner`, who rotates it after the switch), or stdout.
struct FileOwner;
std::unique_ptr<LineSink> open_output(const TraceConfig& config, const FileOwner& owner);

}  // namespace tcpscope
