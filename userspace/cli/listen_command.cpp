#include "cli/listen_command.h"

#include <memory>

#include "cli/common_flags.h"

namespace tcpscope {

Finisher add_listen_command(CLI::App& app, CLI::App*& subcommand) {
    auto flags = add_tracing_subcommand<TracingFlags<ListenConfig>>(
        app, subcommand, "listen",
        "per listening socket: accept queue, accepts and their wait, drops, SYN-ACK "
        "retransmits, dropped and refused SYNs, beside the namespace's counters");
    CLI::App* cmd = subcommand;
    ListenConfig& c = flags->config;
    cmd->add_option("--interval", c.interval_s, "seconds between reports (default 1)")
        ->check(CLI::Range(0.1, 3600.0))
        ->type_name("SECONDS");
    cmd->add_option("--sample", c.sample_s,
                    "seconds between listings of the listeners' queues (default 0.1)")
        ->check(CLI::Range(0.01, 60.0))
        ->type_name("SECONDS");
    cmd->add_flag("--json", c.json, "one JSON object per interval instead of text");

    auto record = std::make_shared<RecordFlags>();
    record->add_to(*cmd, true);

    return [flags, record]() -> Finished {
        ListenConfig config;
        if (auto error = flags->finish(config)) {
            return *error;
        }
        if (auto error = record->finish(config.filters, config.duration_s)) {
            return *error;
        }
        config.record = record->values;
        return CommandConfig{config};
    };
}

}  // namespace tcpscope
