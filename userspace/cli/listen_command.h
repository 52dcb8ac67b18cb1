#pragma once

#include <CLI/CLI.hpp>

#include "cli/options.h"

namespace tcpscope {

// Registers `listen` and its flags; the finisher builds its ListenConfig.
Finisher add_listen_command(CLI::App& app, CLI::App*& subcommand);

}  // namespace tcpscope
