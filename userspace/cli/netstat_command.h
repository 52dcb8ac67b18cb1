#pragma once

#include <CLI/CLI.hpp>

#include "cli/options.h"

namespace tcpscope {

// Registers `netstat` and its flags; the finisher builds its NetstatConfig.
Finisher add_netstat_command(CLI::App& app, CLI::App*& subcommand);

}  // namespace tcpscope
