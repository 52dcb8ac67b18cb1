#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cli/options.h"
#include "core/cgroup_name.h"
#include "core/listed_socket.h"
#include "core/wall_time.h"

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

// netstat -r FILE --at TIME: a trace recording replayed up to TIME, the
// first event stamped after it ending the replay. show gets the table then,
// its sockets as listings (the last listing's fields where it had the socket,
// else the table's tuple and state), that time (CLOCK_MONOTONIC of the
// recording) and the recording's cgroup names. Throws RecordingError when the
// recording ends before TIME.
struct TableAt {
    WallTime at;
    int family = 0;  // 0: both
    std::function<void(const SocketTable&, std::vector<ListedSocket>, std::uint64_t at_ns,
                       CgroupNames&)>
        show;
};
int replay_table_at(const std::vector<std::string>& paths, const TableAt& at);

// -o's file (given to `owner`, who rotates it after the switch), or stdout.
struct FileOwner;
std::unique_ptr<LineSink> open_output(const TraceConfig& config, const FileOwner& owner);

}  // namespace tcpscope
