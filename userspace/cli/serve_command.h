#pragma once

#include <CLI/CLI.hpp>

#include "cli/options.h"

namespace tcpscope {

// Registers `serve` and its flags; the finisher builds its ServeConfig.
Finisher add_serve_command(CLI::App& app, CLI::App*& subcommand);

// "HOST:PORT" or "[V6ADDR]:PORT" with a port 1-65535: an error message, or
// empty when valid.
std::optional<std::string> check_metrics_address(const std::string& address);
// The port of an address check_metrics_address() accepted.
std::uint16_t metrics_port(const std::string& address);

}  // namespace tcpscope
