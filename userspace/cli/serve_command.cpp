#include "cli/serve_command.h"

#include <arpa/inet.h>

#include <charconv>

#include "cli/common_flags.h"

namespace tcpscope {
namespace {

bool is_ip(const std::string& host, int family) {
    unsigned char buf[16];
    return inet_pton(family, host.c_str(), buf) == 1;
}

}  // namespace

std::optional<std::string> check_metrics_address(const std::string& address) {
    const std::string error =
        "--metrics-addr: expected IPV4:PORT or [IPV6]:PORT with a port 1-65535, got '" + address +
        "'";
    auto colon = address.rfind(':');
    if (colon == std::string::npos) {
        return error;
    }
    std::string host = address.substr(0, colon);
    std::string port_text = address.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 ||
        port > 65535) {
        return error;
    }
    bool v6 = host.size() > 2 && host.front() == '[' && host.back() == ']' &&
              is_ip(host.substr(1, host.size() - 2), AF_INET6);
    if (!v6 && !is_ip(host, AF_INET)) {
        return error;
    }
    return std::nullopt;
}

std::uint16_t metrics_port(const std::string& address) {
    return static_cast<std::uint16_t>(std::stoul(address.substr(address.rfind(':') + 1)));
}

Finisher add_serve_command(CLI::App& app, CLI::App*& subcommand) {
    auto flags = add_tracing_subcommand<TracingFlags<ServeConfig>>(
        app, subcommand, "serve",
        "always-on daemon: keep the live table and serve Prometheus metrics");
    CLI::App* cmd = subcommand;
    ServeConfig& c = flags->config;
    cmd->add_option("--metrics-addr", c.metrics_addr,
                    "where /metrics listens (default 127.0.0.1:9464)")
        ->type_name("HOST:PORT");
    cmd->add_option("--log", c.log_path,
                    "write every transition and every failed connect as JSON lines to FILE "
                    "(size-rotated; SIGHUP reopens it)")
        ->type_name("FILE");
    cmd->add_option("--log-size", c.log_rotate_bytes, "rotate --log FILE past this many bytes")
        ->check(CLI::PositiveNumber)
        ->type_name("BYTES");
    cmd->add_option("--log-count", c.log_rotate_files, "rotated log files to keep")
        ->check(CLI::Range(1, 1000))
        ->type_name("N");
    cmd->add_option("--top", c.top_n, "destinations with a port-range pressure gauge (default 10)")
        ->check(CLI::Range(0, 1000))
        ->type_name("N");
    cmd->add_flag("--listeners", c.listeners,
                  "export what `listen` shows (accept queues, accepts, drops, SYN-ACK "
                  "retransmits, refused SYNs) by listening port: the top --top ports");
    add_reconcile_option(*cmd, c.reconcile_s,
                         "check the live table against the kernel every SECONDS (0: never)");

    return [flags]() -> Finished {
        ServeConfig config;
        if (auto error = flags->finish(config)) {
            return *error;
        }
        if (auto error = check_metrics_address(config.metrics_addr)) {
            return *error;
        }
        return CommandConfig{config};
    };
}

}  // namespace tcpscope
