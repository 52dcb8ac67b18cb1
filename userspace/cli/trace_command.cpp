#include "cli/trace_command.h"

#include <memory>

#include "cli/common_flags.h"

namespace tcpscope {

Finisher add_trace_command(CLI::App& app, CLI::App*& subcommand) {
    auto flags = add_tracing_subcommand<TracingFlags<TraceConfig>>(
        app, subcommand, "trace", "print every TCP state transition as it happens");
    CLI::App* cmd = subcommand;
    TraceConfig& c = flags->config;
    cmd->add_flag("--json", c.json, "JSON lines instead of text");
    cmd->add_option("-o,--output", c.output_path, "write transitions to FILE, not stdout")
        ->type_name("FILE");
    auto record = std::make_shared<RecordFlags>();
    record->add_to(*cmd, false);
    cmd->add_flag("--print", c.print, "with -w: print transitions too (to stdout or -o)");
    cmd->add_option("--rotate-size", c.rotate_bytes,
                    "rotate -o FILE (and -w FILE) past this many bytes")
        ->check(CLI::PositiveNumber)
        ->type_name("BYTES");
    cmd->add_option("--rotate-count", c.rotate_files, "rotated files to keep")
        ->check(CLI::Range(1, 1000))
        ->type_name("N");
    cmd->add_flag("--stats", c.stats, "print counters to stderr every second");
    cmd->add_flag("--cgroup-column", c.cgroup_column,
                  "text output: a UNIT column, the owner's systemd unit (else its cgroup path)");
    add_reconcile_option(*cmd, c.reconcile_s,
                         "check the live table against the kernel every SECONDS and after any "
                         "loss (0: never)");

    return [flags, record]() -> Finished {
        TraceConfig config;
        if (auto error = flags->finish(config)) {
            return *error;
        }
        if (auto error = record->finish(config.filters, config.duration_s)) {
            return *error;
        }
        config.record = record->values;
        config.record.rotate_bytes = config.rotate_bytes;
        config.record.rotate_files = config.rotate_files;
        if (config.rotate_bytes > 0 && !config.output_path && !config.record.write_path) {
            return std::string("--rotate-size needs -o FILE or -w FILE");
        }
        if (config.print && !config.record.write_path) {
            return std::string("--print needs -w FILE (without -w transitions are printed)");
        }
        return CommandConfig{config};
    };
}

}  // namespace tcpscope
