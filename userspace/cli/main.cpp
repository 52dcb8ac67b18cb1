// The CLI edge: every error becomes one line on stderr and an exit code
// (see cli/exit_codes.h and README.md).
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <variant>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/exit_codes.h"
#include "cli/options.h"
#include "cli/run_listen.h"
#include "cli/run_netstat.h"
#include "cli/run_serve.h"
#include "cli/run_synfail.h"
#include "cli/run_timewait.h"
#include "cli/run_trace.h"
#include "cli/stop_signal.h"
#include "kernel/tracer.h"
#include "record/record_reader.h"

namespace {

void set_up_diagnostics(bool verbose) {
    auto logger = spdlog::stderr_logger_st("tcpscope");
    logger->set_pattern("tcpscope: %^%l%$: %v");
    logger->set_level(verbose ? spdlog::level::debug : spdlog::level::info);
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(logger);
    tcpscope::route_libbpf_logs_to_spdlog();
}

int exit_code_for(tcpscope::StartupFailure kind) {
    using tcpscope::StartupFailure;
    namespace code = tcpscope::exit_code;
    switch (kind) {
        case StartupFailure::NotPermitted:
            return code::kNotPermitted;
        case StartupFailure::NoBtf:
        case StartupFailure::Unsupported:
            return code::kUnsupported;
        case StartupFailure::LoadFailed:
            break;
    }
    return code::kLoadFailed;
}

}  // namespace

int main(int argc, char** argv) {
    namespace code = tcpscope::exit_code;
    tcpscope::ParseOutcome parsed =
        tcpscope::parse_command_line(std::vector<std::string>(argv, argv + argc));
    if (!parsed.command) {
        if (parsed.exit_code == code::kOk) {
            std::fputs(parsed.output.c_str(), stdout);
        } else {
            std::fprintf(stderr, "tcpscope: %s\n", parsed.output.c_str());
        }
        return parsed.exit_code;
    }

    set_up_diagnostics(std::visit([](const auto& c) { return c.tuning.verbose; }, *parsed.command));
    tcpscope::install_stop_handlers();
    try {
        return std::visit([](const auto& config) { return tcpscope::run_command(config); },
                          *parsed.command);
    } catch (const tcpscope::RecordingError& e) {
        spdlog::error("{}", e.what());
        return code::kBadRecording;
    } catch (const tcpscope::StartupError& e) {
        spdlog::error("{}", e.what());
        return exit_code_for(e.kind());
    } catch (const std::invalid_argument& e) {
        spdlog::error("{}", e.what());
        return code::kUsage;
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return code::kRuntime;
    }
}
