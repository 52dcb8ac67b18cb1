// Command-line parsing as a pure function: argv in, a command's config or an
// exit out. Each subcommand registers its flags in its own *_command.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/wall_time.h"
#include "kernel/tracer.h"
#include "views/netstat_format.h"

namespace tcpscope {

// Filters shared by every subcommand that traces.
struct FilterConfig {
    int family = 0;                    // AF_INET, AF_INET6, or 0 for both
    std::vector<PortRule> ports;       // any rule matching selects the event
    std::optional<std::string> netns;  // INODE or a path, resolved at start
    std::uint32_t pid = 0;
    std::vector<std::string> cgroups;  // --cgroup, as given
};

// Settings of the BPF side and the live table shared by tracing subcommands.
struct TracerTuning {
    bool verbose = false;
    std::uint32_t max_sockets = 262144;
    std::uint32_t ringbuf_bytes = 16u << 20;
    // Who the command runs as once attached (--user); empty: the default
    // account (see account_for()).
    std::optional<std::string> user;
};

// -w FILE records what a tracing command reads; -r FILE replays it.
struct RecordConfig {
    std::optional<std::string> write_path;  // -w
    std::vector<std::string> read_paths;    // -r: a rotated recording's files, oldest first
    std::size_t rotate_bytes = 0;           // -w's --rotate-size, 0: never
    std::size_t rotate_files = 3;
    bool replaying() const { return !read_paths.empty(); }
};

struct TraceConfig {
    FilterConfig filters;
    TracerTuning tuning;
    RecordConfig record;
    bool print = false;  // -w: print transitions too (as without -w)
    bool json = false;
    std::optional<double> duration_s;
    std::optional<std::string> output_path;
    std::size_t rotate_bytes = 0;
    std::size_t rotate_files = 3;
    bool stats = false;
    bool cgroup_column = false;  // --cgroup-column
    double reconcile_s = 10;     // 0: never reconcile against sock_diag
};

struct SynfailConfig {
    FilterConfig filters;
    TracerTuning tuning;
    RecordConfig record;
    bool json = false;
    std::optional<double> duration_s;
    std::optional<double> interval_s;  // per-destination summary every N seconds
    std::vector<std::string> reasons;  // print only these failures; empty: all
    bool sync = true;                  // hook connect() exits for failures before any SYN
};

struct NetstatConfig {
    NetstatFlags flags;
    int family = 0;                    // AF_INET, AF_INET6, or 0 for both
    std::optional<std::string> netns;  // INODE or a path; default: our own
    std::optional<double> interval_s;  // -c: repeat every this many seconds
    bool short_lived = false;          // --short-lived: born+died between tables
    // -r FILE --at TIME: the table a trace recording had at TIME.
    std::vector<std::string> replay_paths;
    std::optional<WallTime> at;
    std::optional<std::uint32_t> count;  // --count: stop after this many tables
    TracerTuning tuning;
};

struct TimewaitConfig {
    FilterConfig filters;
    TracerTuning tuning;
    RecordConfig record;
    bool json = false;
    double interval_s = 1.0;
    std::size_t top_n = 5;
    double warn_pct = 80.0;
    // --list-every: a fixed period between kernel listings; by default the
    // period adapts to what a listing costs (ListingSchedule).
    std::optional<double> list_every_s;
    std::optional<double> duration_s;
};

struct ListenConfig {
    FilterConfig filters;
    TracerTuning tuning;
    RecordConfig record;
    bool json = false;
    double interval_s = 1.0;
    // Seconds between listings of the listeners: queue depth between accepts.
    double sample_s = 0.1;
    std::optional<double> duration_s;
};

struct ServeConfig {
    FilterConfig filters;
    TracerTuning tuning;
    std::string metrics_addr = "127.0.0.1:9464";  // HOST:PORT, [V6]:PORT
    std::optional<std::string> log_path;          // JSON lines, size-rotated
    std::size_t log_rotate_bytes = 100u << 20;
    std::size_t log_rotate_files = 5;
    std::size_t top_n = 10;   // destinations with a port-range pressure gauge
    double reconcile_s = 10;  // 0: never reconcile against sock_diag
    // --listeners: listen's per-listener figures as metrics (the listen probes
    // attach, including an accept() exit hook on every syscall exit).
    bool listeners = false;
    std::optional<double> duration_s;
};

using CommandConfig = std::variant<TraceConfig, SynfailConfig, NetstatConfig, TimewaitConfig,
                                   ListenConfig, ServeConfig>;

struct ParseOutcome {
    std::optional<CommandConfig> command;  // set when a command should run
    int exit_code = 0;                     // otherwise: exit with this
    std::string output;                    // help text (stdout) or one error line (stderr)
};

ParseOutcome parse_command_line(const std::vector<std::string>& args);

// What a subcommand's flag parsing produces: its config, or a usage error.
using Finished = std::variant<CommandConfig, std::string>;
using Finisher = std::function<Finished()>;

}  // namespace tcpscope
