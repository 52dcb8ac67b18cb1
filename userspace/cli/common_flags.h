// Flags that several subcommands share: filters and tracer tuning.
#pragma once

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

// Finishes the flags every tracing subcommand shares into its config
// (filters, tuning, duration_s); a usage error, or empty.
template <typename Config>
std::optional<std::string> finish_shared_flags(Config& config, const FilterFlags& filters,
                                               TuningFlags& tuning, double duration) {
    if (auto error = tuning.finish()) {
        return error;
    }
    config.tuning = tuning.values;
    config.filters = filters.finish();
    if (duration > 0) {
        config.duration_s = duration;
    }
    return std::nullopt;
}

}  // namespace tcpscope
