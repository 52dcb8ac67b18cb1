#include "cli/synfail_command.h"

#include <algorithm>
#include <cctype>

#include <memory>

#include "cli/common_flags.h"
#include "core/connect_outcome.h"

namespace tcpscope {
namespace {

struct SynfailFlags : TracingFlags<SynfailConfig> {
    double interval = 0;
    bool no_sync = false;
    std::vector<std::string> reasons;
};

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

}  // namespace

Finisher add_synfail_command(CLI::App& app, CLI::App*& subcommand) {
    auto flags = add_tracing_subcommand<SynfailFlags>(
        app, subcommand, "synfail",
        "print every failed connection attempt, with its reason, owner and timing");
    CLI::App* cmd = subcommand;
    SynfailConfig& c = flags->config;
    cmd->add_flag("--json", c.json, "JSON lines instead of text");
    add_seconds_option(*cmd, "--interval", flags->interval,
                       "print the per-destination summary every SECONDS (and a total at exit)");
    cmd->add_flag("--no-sync", flags->no_sync,
                  "do not hook connect() exits: no failures before any SYN, and no cost "
                  "(~90 ns) on every system call of the host");
    cmd->add_option("--reason", flags->reasons,
                    "print only failures with this reason: CANCELLED or an errno name such as "
                    "ECONNREFUSED (repeatable, or comma-separated)")
        ->delimiter(',')
        ->type_name("REASON");

    auto record = std::make_shared<RecordFlags>();
    record->add_to(*cmd, true);

    return [flags, record]() -> Finished {
        SynfailConfig config;
        if (auto error = flags->finish(config)) {
            return *error;
        }
        if (auto error = record->finish(config.filters, config.duration_s)) {
            return *error;
        }
        config.record = record->values;
        for (const std::string& given : flags->reasons) {
            std::string reason = upper(given);
            if (!is_known_failure_reason(reason)) {
                return "--reason: unknown reason '" + given +
                       "' (use CANCELLED or an errno name such as ECONNREFUSED, ETIMEDOUT)";
            }
            config.reasons.push_back(reason);
        }
        config.sync = !flags->no_sync;
        if (flags->interval > 0) {
            config.interval_s = flags->interval;
        }
        return CommandConfig{config};
    };
}

}  // namespace tcpscope
