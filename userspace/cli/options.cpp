#include "cli/options.h"

#include <CLI/CLI.hpp>

#include "cli/exit_codes.h"
#include "cli/listen_command.h"
#include "cli/netstat_command.h"
#include "cli/serve_command.h"
#include "cli/synfail_command.h"
#include "cli/timewait_command.h"
#include "cli/trace_command.h"

namespace tcpscope {

ParseOutcome parse_command_line(const std::vector<std::string>& args) {
    CLI::App app{"tcpscope: eBPF TCP connection state tracer", "tcpscope"};
    app.require_subcommand(0, 1);
    app.set_version_flag("--version", std::string("tcpscope ") + TCPSCOPE_VERSION);

    struct Registered {
        CLI::App* app = nullptr;
        Finisher finish;
    };
    std::vector<Registered> commands;
    auto add = [&](auto register_fn) {
        Registered r;
        r.finish = register_fn(app, r.app);
        commands.push_back(std::move(r));
    };
    add(add_trace_command);
    add(add_synfail_command);
    add(add_netstat_command);
    add(add_timewait_command);
    add(add_listen_command);
    add(add_serve_command);

    // CLI11 parses a reversed vector, without argv[0].
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    if (!reversed.empty()) {
        reversed.pop_back();
    }
    try {
        app.parse(reversed);
    } catch (const CLI::CallForVersion& e) {
        return {std::nullopt, exit_code::kOk, std::string(e.what()) + "\n"};
    } catch (const CLI::CallForHelp&) {
        return {std::nullopt, exit_code::kOk, app.help()};
    } catch (const CLI::CallForAllHelp&) {
        return {std::nullopt, exit_code::kOk, app.help("", CLI::AppFormatMode::All)};
    } catch (const CLI::ParseError& e) {
        return {std::nullopt, exit_code::kUsage, e.what()};
    }

    // No subcommand: trace with defaults, as `scripts/run` does.
    const Registered* chosen = &commands.front();
    for (const Registered& r : commands) {
        if (r.app->parsed()) {
            chosen = &r;
        }
    }
    Finished finished = chosen->finish();
    if (auto* error = std::get_if<std::string>(&finished)) {
        return {std::nullopt, exit_code::kUsage, *error};
    }
    return {std::get<CommandConfig>(std::move(finished)), exit_code::kOk, ""};
}

}  // namespace tcpscope
