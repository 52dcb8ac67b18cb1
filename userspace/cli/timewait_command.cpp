#include "cli/timewait_command.h"

#include <memory>

#include "cli/common_flags.h"

namespace tcpscope {

Finisher add_timewait_command(CLI::App& app, CLI::App*& subcommand) {
    auto flags = add_tracing_subcommand<TracingFlags<TimewaitConfig>>(
        app, subcommand, "timewait",
        "TIME_WAIT churn: rates, live count, who and where, lifetimes, pressure");
    CLI::App* cmd = subcommand;
    TimewaitConfig& c = flags->config;
    cmd->add_option("--interval", c.interval_s, "seconds between reports (default 1)")
        ->check(CLI::Range(0.1, 3600.0))
        ->type_name("SECONDS");
    cmd->add_option("--top", c.top_n, "endpoints, ports and closers to list (default 5)")
        ->check(CLI::Range(1, 1000))
        ->type_name("N");
    cmd->add_option("--warn-pct", c.warn_pct,
                    "warn when TIME_WAIT reaches this share of tcp_max_tw_buckets, or a "
                    "destination this share of the ephemeral port range (default 80)")
        ->check(CLI::Range(0.0, 100.0))
        ->type_name("P");
    cmd->add_option("--list-every", c.list_every_s,
                    "seconds between sock_diag listings that confirm the table (default: "
                    "every interval while listings cost under 1% of a CPU, else less often, at "
                    "most 10 s apart)")
        ->check(CLI::Range(0.1, 3600.0))
        ->type_name("SECONDS");
    cmd->add_flag("--json", c.json, "one JSON object per interval instead of text");

    auto record = std::make_shared<RecordFlags>();
    record->add_to(*cmd, true);

    return [flags, record]() -> Finished {
        TimewaitConfig config;
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
