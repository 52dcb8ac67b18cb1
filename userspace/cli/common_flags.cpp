#include "cli/common_flags.h"

#include <sys/socket.h>

namespace tcpscope {
namespace {

bool is_valid_ringbuf_size(std::uint64_t bytes) {
    // The kernel wants a power of two and a multiple of the page size.
    return bytes >= 4096 && (bytes & (bytes - 1)) == 0 && bytes <= (1ull << 30);
}

}  // namespace

void FilterFlags::add_to(CLI::App& cmd) {
    cmd.add_flag("-4", v4, "IPv4 sockets only");
    cmd.add_flag("-6", v6, "IPv6 sockets only");
    cmd.add_option("--port", either, "port on either side (repeatable)")
        ->check(CLI::Range(1, 65535))
        ->type_name("PORT");
    cmd.add_option("--lport", local, "local port (repeatable)")
        ->check(CLI::Range(1, 65535))
        ->type_name("PORT");
    cmd.add_option("--rport", remote, "remote port (repeatable)")
        ->check(CLI::Range(1, 65535))
        ->type_name("PORT");
    cmd.add_option("--netns", netns,
                   "network namespace: inode, or a path such as /run/netns/NAME or "
                   "/proc/PID/ns/net")
        ->type_name("INODE|PATH");
    cmd.add_option("--pid", pid, "owning process id")->check(CLI::Range(1u, 0x7fffffffu));
    cmd.add_option("--cgroup", cgroups,
                   "sockets whose owner is in this cgroup v2 subtree: a directory, or a path "
                   "under the cgroup2 mount such as /system.slice/nginx.service (repeatable, "
                   "up to 8); filtered in the kernel")
        ->type_name("PATH");
}

FilterConfig FilterFlags::finish() const {
    FilterConfig out;
    if (v4 != v6) {
        out.family = v4 ? AF_INET : AF_INET6;
    }
    auto add = [&](const std::vector<int>& ports, PortSide side) {
        for (int p : ports) {
            out.ports.push_back({static_cast<std::uint16_t>(p), side});
        }
    };
    add(either, PortSide::Either);
    add(local, PortSide::Local);
    add(remote, PortSide::Remote);
    if (!netns.empty()) {
        out.netns = netns;
    }
    out.pid = pid;
    out.cgroups = cgroups;
    return out;
}

CLI::Option* add_seconds_option(CLI::App& cmd, const std::string& name, double& value,
                                const std::string& help) {
    // CLI11's PositiveNumber would print DBL_MAX in full as the upper bound.
    const CLI::Validator positive(
        [](std::string& text) {
            double seconds = 0;
            return CLI::detail::lexical_cast(text, seconds) && seconds > 0
                       ? std::string()
                       : "expected a positive number of seconds, got '" + text + "'";
        },
        "", "positive seconds");
    return cmd.add_option(name, value, help)->check(positive)->type_name("SECONDS");
}

CLI::Option* add_reconcile_option(CLI::App& cmd, double& seconds, const std::string& help) {
    return cmd.add_option("--reconcile", seconds, help)
        ->check(CLI::Range(0.0, 86400.0))
        ->type_name("SECONDS");
}

void TuningFlags::add_to(CLI::App& cmd) {
    cmd.add_flag("-v,--verbose", values.verbose, "debug diagnostics, including libbpf's");
    cmd.add_option("--user", values.user,
                   "the user to run as once attached (default: tcpscope if it exists, else "
                   "nobody)")
        ->type_name("NAME");
    cmd.add_option("--max-sockets", values.max_sockets,
                   "sockets the live table (and the kernel's cache) can hold")
        ->check(CLI::Range(1024u, 1u << 24));
    cmd.add_option("--ringbuf-size", ringbuf_bytes,
                   "ring buffer bytes: a power of two, 4096 to 1 GiB (default 16 MiB)")
        ->type_name("BYTES");
}

std::optional<std::string> TuningFlags::finish() {
    if (!is_valid_ringbuf_size(ringbuf_bytes)) {
        return "--ringbuf-size: must be a power of two from 4096 to 1073741824";
    }
    values.ringbuf_bytes = static_cast<std::uint32_t>(ringbuf_bytes);
    return std::nullopt;
}

void RecordFlags::add_to(CLI::App& cmd, bool add_rotation) {
    cmd.add_option("-w,--write", values.write_path,
                   "record the kernel's events and listings into FILE (binary; replay with -r)")
        ->type_name("FILE");
    cmd.add_option("-r,--read", values.read_paths,
                   "replay a recording instead of tracing (a rotated one: its files oldest "
                   "first); needs no privilege")
        ->type_name("FILE");
    if (add_rotation) {
        cmd.add_option("--rotate-size", values.rotate_bytes, "rotate -w FILE past this many bytes")
            ->check(CLI::PositiveNumber)
            ->type_name("BYTES");
        cmd.add_option("--rotate-count", values.rotate_files, "rotated files to keep")
            ->check(CLI::Range(1, 1000))
            ->type_name("N");
    }
}

std::optional<std::string> RecordFlags::finish(const FilterConfig& filters,
                                               const std::optional<double>& duration_s) const {
    if (values.write_path && values.replaying()) {
        return std::string("-w and -r: record or replay, not both");
    }
    if (!values.replaying()) {
        return std::nullopt;
    }
    // What the kernel side filtered is fixed in the recording.
    const char* fixed = filters.netns              ? "--netns"
                        : filters.pid != 0         ? "--pid"
                        : !filters.cgroups.empty() ? "--cgroup"
                        : duration_s               ? "--duration"
                                                   : nullptr;
    if (fixed != nullptr) {
        return std::string(fixed) + ": not with -r (the recording fixed it)";
    }
    return std::nullopt;
}

}  // namespace tcpscope
