#include "cli/netstat_command.h"

#include <sys/socket.h>

#include <charconv>
#include <memory>

#include "cli/common_flags.h"

namespace tcpscope {
namespace {

struct NetstatFlagSet {
    NetstatConfig config;
    TuningFlags tuning;
    bool tcp = false;
    bool v4 = false;
    bool v6 = false;
    int extend = 0;
    std::vector<std::string> interval;  // -c's optional value
    std::uint32_t count = 0;
    std::string netns;
    CLI::Option* continuous = nullptr;
    std::string at;
};

}  // namespace

Finisher add_netstat_command(CLI::App& app, CLI::App*& subcommand) {
    auto flags = std::make_shared<NetstatFlagSet>();
    CLI::App* cmd = app.add_subcommand(
        "netstat", "TCP sockets as net-tools netstat prints them, from the live socket table");
    subcommand = cmd;
    NetstatFlags& f = flags->config.flags;
    flags->tuning.add_to(*cmd);
    cmd->add_flag("-t,--tcp", flags->tcp, "TCP sockets (always; accepted for netstat's sake)");
    cmd->add_flag("-a,--all", f.all, "listening and non-listening sockets");
    cmd->add_flag("-l,--listening", f.listening, "only sockets with no remote port");
    cmd->add_flag("-n,--numeric", f.numeric, "numeric hosts, ports and users");
    cmd->add_flag("-e,--extend", flags->extend, "User and Inode columns");
    cmd->add_flag("-p,--programs", f.programs, "PID/Program name column");
    cmd->add_flag("-o,--timers", f.timers, "Timer column");
    cmd->add_flag("-W,--wide", f.wide, "do not truncate addresses");
    cmd->add_flag("-4", flags->v4, "IPv4 sockets only");
    cmd->add_flag("-6", flags->v6, "IPv6 sockets only");
    flags->continuous = cmd->add_option("-c,--continuous", flags->interval,
                                        "print a table every SECONDS (default 1)")
                            ->expected(0, 1)
                            ->type_name("SECONDS");
    cmd->add_option("--count", flags->count, "with -c: stop after N tables")
        ->check(CLI::Range(1u, 1u << 30))
        ->type_name("N");
    cmd->add_option("--netns", flags->netns,
                    "network namespace: inode, or a path such as /run/netns/NAME or "
                    "/proc/PID/ns/net (default: the one tcpscope runs in)")
        ->type_name("INODE|PATH");
    cmd->add_flag("--age", f.age, "extra column: time in the current state ('-' if unknown)");
    cmd->add_flag("--owner", f.owner, "extra column: owning pid/comm from the live table");
    cmd->add_flag("--cgroup", f.cgroup,
                  "extra column: the socket's systemd unit, else its cgroup path ('-' if "
                  "unknown)");
    cmd->add_flag("--short-lived", flags->config.short_lived,
                  "with -c: after each table, the sockets born and closed since the last one");
    cmd->add_option("-r,--read", flags->config.replay_paths,
                    "with --at: a `trace -w` recording (its files oldest first) instead of the "
                    "kernel")
        ->type_name("FILE");
    cmd->add_option("--at", flags->at,
                    "with -r: the table as it was at TIME (UTC: 2026-12-03T17:32:50.19Z, or "
                    "17:32:50 on the recording's day)")
        ->type_name("TIME");

    return [flags]() -> Finished {
        NetstatConfig config = flags->config;
        if (auto error = flags->tuning.finish()) {
            return *error;
        }
        config.tuning = flags->tuning.values;
        config.flags.extend = flags->extend > 0;
        if (flags->v4 != flags->v6) {
            config.family = flags->v4 ? AF_INET : AF_INET6;
        }
        if (!flags->netns.empty()) {
            config.netns = flags->netns;
        }
        if (flags->continuous->count() > 0) {
            std::string text = flags->interval.empty() ? "" : flags->interval.back();
            double seconds = 1;
            if (!text.empty()) {
                auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
                if (ec != std::errc() || end != text.data() + text.size()) {
                    seconds = 0;
                }
            }
            config.interval_s = seconds;
            if (!(seconds > 0 && seconds <= 86400)) {
                return std::string("-c: SECONDS must be a positive number up to 86400");
            }
        }
        if (flags->count > 0) {
            if (!config.interval_s) {
                return std::string("--count needs -c");
            }
            config.count = flags->count;
        }
        if (config.short_lived && !config.interval_s) {
            return std::string("--short-lived needs -c");
        }
        if (!flags->at.empty()) {
            config.at = parse_wall_time(flags->at);
            if (!config.at) {
                return "--at: '" + flags->at +
                       "' is no time (UTC: 2026-12-03T17:32:50.192717Z, or 17:32:50)";
            }
        }
        if (config.at.has_value() != !config.replay_paths.empty()) {
            return std::string("-r FILE and --at TIME go together");
        }
        if (config.at) {
            const char* live_only = config.interval_s       ? "-c"
                                    : config.flags.programs ? "-p"
                                    : config.netns          ? "--netns"
                                                            : nullptr;
            if (live_only != nullptr) {
                return std::string(live_only) + ": not with -r (a recording's table)";
            }
        }
        return CommandConfig{config};
    };
}

}  // namespace tcpscope
