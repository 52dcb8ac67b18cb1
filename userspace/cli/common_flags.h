// Flags that several subcommands share: filters and tracer tuning.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/options.h"

namespace tcpscope {

struct FilterFlags {
    bool v4 = false;
    bool v6 = false;
    std::vector<int> either;
    std::vector<int> local;
    std::vector<int> remote;
    std::string netns;
    std::uint32_t pid = 0;
    std::vector<std::string> cgroups;

    void add_to(CLI::App& cmd);
    FilterConfig finish() const;
};

// A positive number of seconds (--duration, --interval).
CLI::Option* add_seconds_option(CLI::App& cmd, const std::string& name, double& value,
                                const std::string& help);

struct TuningFlags {
    TracerTuning values;
    std::uint64_t ringbuf_bytes = 16u << 20;

    void add_to(CLI::App& cmd);
    // A usage error, or empty when the values are valid.
    std::optional<std::string> finish();
};

// A tracing subcommand's flags: its own config, which its options fill in,
// and the flags every tracing subcommand shares (filters, tuning, --duration).
template <typename Config>
struct TracingFlags {
    Config config;
    FilterFlags filters;
    TuningFlags tuning;
    double duration = 0;

    void add_shared_to(CLI::App& cmd) {
        filters.add_to(cmd);
        tuning.add_to(cmd);
        add_seconds_option(cmd, "--duration", duration, "stop after this many seconds");
    }

    // The config with the shared flags applied into out; a usage error, or empty.
    std::optional<std::string> finish(Config& out) {
        if (auto error = tuning.finish()) {
            return error;
        }
        out = config;
        out.tuning = tuning.values;
        out.filters = filters.finish();
        if (duration > 0) {
            out.duration_s = duration;
        }
        return std::nullopt;
    }
};

// Creates a tracing subcommand (the one parse_command_line reports in
// `subcommand`) with its flags, the shared ones already added.
template <typename Flags>
std::shared_ptr<Flags> add_tracing_subcommand(CLI::App& app, CLI::App*& subcommand,
                                              const std::string& name,
                                              const std::string& description) {
    auto flags = std::make_shared<Flags>();
    subcommand = app.add_subcommand(name, description);
    flags->add_shared_to(*subcommand);
    return flags;
}

// -w FILE and -r FILE (and, with add_rotation, --rotate-size/--rotate-count
// for -w).
struct RecordFlags {
    RecordConfig values;
    void add_to(CLI::App& cmd, bool add_rotation);
    // A usage error (-w with -r; -r with flags a recording fixes), or empty.
    std::optional<std::string> finish(const FilterConfig& filters,
                                      const std::optional<double>& duration_s) const;
};

// --reconcile SECONDS: how often the live table is checked against a listing.
CLI::Option* add_reconcile_option(CLI::App& cmd, double& seconds, const std::string& help);

}  // namespace tcpscope
