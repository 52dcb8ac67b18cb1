// Command-line parsing as a pure function: argv in, a config or an exit out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kernel/tracer.h"

namespace tcpscope {

// Filters shared by every subcommand that traces.
struct FilterConfig {
    int family = 0;                 // AF_INET, AF_INET6, or 0 for both
    std::vector<PortRule> ports;    // any rule matching selects the event
    std::optional<std::string> netns;  // INODE or a path, resolved later
    std::uint32_t pid = 0;
};

struct TraceConfig {
    FilterConfig filters;
    bool json = false;
    std::optional<double> duration_s;
    std::optional<std::string> output_path;
    std::size_t rotate_bytes = 0;
    std::size_t rotate_files = 3;
    bool stats = false;
    bool verbose = false;
    std::uint32_t max_sockets = 262144;
    std::uint32_t ringbuf_bytes = 16u << 20;
};

struct ParseOutcome {
    std::optional<TraceConfig> trace;  // set when the command should run
    int exit_code = 0;                 // otherwise: exit with this
    std::string output;                // help text (stdout) or one error line (stderr)
};

ParseOutcome parse_command_line(const std::vector<std::string>& args);

}  // namespace tcpscope
