#include "cli/options.h"

#include <sys/socket.h>

#include <CLI/CLI.hpp>

#include "cli/exit_codes.h"

namespace tcpscope {
namespace {

struct RawFilters {
    bool v4 = false;
    bool v6 = false;
    std::vector<int> either;
    std::vector<int> local;
    std::vector<int> remote;
    std::string netns;
    std::uint32_t pid = 0;
};

void add_filter_flags(CLI::App& cmd, RawFilters& raw) {
    cmd.add_flag("-4", raw.v4, "IPv4 sockets only");
    cmd.add_flag("-6", raw.v6, "IPv6 sockets only");
    cmd.add_option("--port", raw.either, "port on either side (repeatable)")
        ->check(CLI::Range(1, 65535))
        ->type_name("PORT");
    cmd.add_option("--lport", raw.local, "local port (repeatable)")
        ->check(CLI::Range(1, 65535))
        ->type_name("PORT");
    cmd.add_option("--rport", raw.remote, "remote port (repeatable)")
        ->check(CLI::Range(1, 65535))
        ->type_name("PORT");
    cmd.add_option("--netns", raw.netns,
                   "network namespace: inode, or a path such as /run/netns/NAME or "
                   "/proc/PID/ns/net")
        ->type_name("INODE|PATH");
    cmd.add_option("--pid", raw.pid, "owning process id")->check(CLI::Range(1u, 0x7fffffffu));
}

FilterConfig finish_filters(const RawFilters& raw) {
    FilterConfig out;
    if (raw.v4 != raw.v6) {
        out.family = raw.v4 ? AF_INET : AF_INET6;
    }
    auto add = [&](const std::vector<int>& ports, PortSide side) {
        for (int p : ports) {
            out.ports.push_back({static_cast<std::uint16_t>(p), side});
        }
    };
    add(raw.either, PortSide::Either);
    add(raw.local, PortSide::Local);
    add(raw.remote, PortSide::Remote);
    if (!raw.netns.empty()) {
        out.netns = raw.netns;
    }
    out.pid = raw.pid;
    return out;
}

bool is_valid_ringbuf_size(std::uint64_t bytes) {
    // The kernel wants a power of two and a multiple of the page size.
    return bytes >= 4096 && (bytes & (bytes - 1)) == 0 && bytes <= (1ull << 30);
}

}  // namespace

ParseOutcome parse_command_line(const std::vector<std::string>& args) {
    CLI::App app{"tcpscope: eBPF TCP connection state tracer", "tcpscope"};
    app.require_subcommand(0, 1);

    TraceConfig trace;
    RawFilters raw;
    double duration = 0;
    std::uint64_t ringbuf = trace.ringbuf_bytes;

    CLI::App* cmd = app.add_subcommand("trace", "print every TCP state transition as it happens");
    add_filter_flags(*cmd, raw);
    cmd->add_flag("--json", trace.json, "JSON lines instead of text");
    cmd->add_option("--duration", duration, "stop after this many seconds")
        ->check(CLI::PositiveNumber)
        ->type_name("SECONDS");
    cmd->add_option("-o,--output", trace.output_path, "write transitions to FILE, not stdout")
        ->type_name("FILE");
    cmd->add_option("--rotate-size", trace.rotate_bytes, "rotate -o FILE past this many bytes")
        ->check(CLI::PositiveNumber)
        ->type_name("BYTES");
    cmd->add_option("--rotate-count", trace.rotate_files, "rotated files to keep")
        ->check(CLI::Range(1, 1000))
        ->type_name("N");
    cmd->add_flag("--stats", trace.stats, "print counters to stderr every second");
    cmd->add_flag("-v,--verbose", trace.verbose, "debug diagnostics, including libbpf's");
    cmd->add_option("--max-sockets", trace.max_sockets,
                    "sockets the live table (and the kernel's cache) can hold")
        ->check(CLI::Range(1024u, 1u << 24));
    cmd->add_option("--ringbuf-size", ringbuf,
                    "ring buffer bytes: a power of two, 4096 to 1 GiB (default 16 MiB)")
        ->type_name("BYTES");

    std::vector<std::string> reversed(args.rbegin(), args.rend());
    if (!reversed.empty()) {
        reversed.pop_back();  // argv[0]
    }
    try {
        app.parse(reversed);
    } catch (const CLI::CallForHelp&) {
        return {std::nullopt, exit_code::kOk, app.help()};
    } catch (const CLI::CallForAllHelp&) {
        return {std::nullopt, exit_code::kOk, app.help("", CLI::AppFormatMode::All)};
    } catch (const CLI::ParseError& e) {
        return {std::nullopt, exit_code::kUsage, e.what()};
    }

    if (!is_valid_ringbuf_size(ringbuf)) {
        return {std::nullopt, exit_code::kUsage,
                "--ringbuf-size: must be a power of two from 4096 to 1073741824"};
    }
    if (trace.rotate_bytes > 0 && !trace.output_path) {
        return {std::nullopt, exit_code::kUsage, "--rotate-size needs -o FILE"};
    }
    trace.ringbuf_bytes = static_cast<std::uint32_t>(ringbuf);
    trace.filters = finish_filters(raw);
    if (duration > 0) {
        trace.duration_s = duration;
    }
    return {trace, exit_code::kOk, ""};
}

}  // namespace tcpscope
