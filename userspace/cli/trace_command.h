#pragma once

#include <CLI/CLI.hpp>

#include "cli/options.h"

namespace tcpscope {

// Registers `trace` and its flags; the finisher builds its TraceConfig.
Finisher add_trace_command(CLI::App& app, CLI::App*& subcommand);

}  // namespace tcpscope
