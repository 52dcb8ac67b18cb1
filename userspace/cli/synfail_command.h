#pragma once

#include <CLI/CLI.hpp>

#include "cli/options.h"

namespace tcpscope {

// Registers `synfail` and its flags; the finisher builds its SynfailConfig.
Finisher add_synfail_command(CLI::App& app, CLI::App*& subcommand);

}  // namespace tcpscope
