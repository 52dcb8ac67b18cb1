#pragma once

#include <CLI/CLI.hpp>

#include "cli/options.h"

namespace tcpscope {

// Registers `timewait` and its flags; the finisher builds its TimewaitConfig.
Finisher add_timewait_command(CLI::App& app, CLI::App*& subcommand);

}  // namespace tcpscope
