#include "cli/run_trace.h"

#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/exit_codes.h"
#include "cli/netns_path.h"
#include "cli/stop_signal.h"
#include "core/socket_table.h"
#include "kernel/ring_source.h"
#include "kernel/tracer.h"
#include "views/line_sink.h"
#include "views/trace_format.h"

namespace tcpscope {
namespace {

using Clock = std::chrono::steady_clock;

// How long the consumer sleeps between drains when nothing forces a wake-up.
constexpr std::chrono::milliseconds kDrainInterval{20};

TracerOptions tracer_options(const TraceConfig& config) {
    TracerOptions options;
    options.family = config.filters.family;
    options.ports = config.filters.ports;
    options.pid = config.filters.pid;
    if (config.filters.netns) {
        options.netns = resolve_netns(*config.filters.netns);
    }
    options.max_sockets = config.tuning.max_sockets;
    options.ringbuf_bytes = config.tuning.ringbuf_bytes;
    return options;
}

struct RunCounters {
    std::uint64_t events = 0;
};

std::string summary_line(const RunCounters& run, const KernelLosses& kernel,
                         std::uint64_t malformed, const SocketTable& table) {
    std::uint64_t lost = kernel.ringbuf_full + kernel.recursion_misses + malformed;
    return fmt::format(
        "events={} lost={} (ringbuf_full={} recursion_misses={} malformed={}) history_gaps={} "
        "sockets_seen={} sockets_live={} evicted={}",
        run.events, lost, kernel.ringbuf_full, kernel.recursion_misses, malformed,
        table.counters().gaps, table.counters().inserted, table.size(), table.counters().evictions);
}

}  // namespace

int run_command(const TraceConfig& config) {
    TracerOptions options = tracer_options(config);
    std::unique_ptr<LineSink> sink =
        config.output_path
            ? make_file_sink({*config.output_path, config.rotate_bytes, config.rotate_files})
            : make_stdout_sink();

    Tracer tracer(options);
    SocketTable table(config.tuning.max_sockets);
    TraceFormatter formatter(WallClock::from_system());
    RunCounters run;

    if (!config.json) {
        sink->write_line(TraceFormatter::text_header());
    }
    RingSource source(tracer.events_fd(), [&](const Transition& t) {
        ++run.events;
        table.apply(t);
        sink->write_line(config.json ? formatter.json_line(t) : formatter.text_line(t));
    });

    spdlog::info("tracing TCP state transitions{}; {}",
                 options.netns ? fmt::format(" in netns {}", options.netns) : std::string(),
                 tracer.describe());

    const auto start = Clock::now();
    auto next_stats = start + std::chrono::seconds(1);
    while (!stop_requested() && !sink->broken()) {
        source.poll(kDrainInterval);
        sink->flush();
        auto now = Clock::now();
        if (config.duration_s && now - start >= std::chrono::duration<double>(*config.duration_s)) {
            break;
        }
        if (config.stats && now >= next_stats) {
            spdlog::info("stats: {}",
                         summary_line(run, tracer.losses(), source.malformed(), table));
            next_stats += std::chrono::seconds(1);
        }
    }
    if (!sink->broken()) {
        source.drain();
        sink->flush();
    }
    spdlog::info("{}", summary_line(run, tracer.losses(), source.malformed(), table));
    return exit_code::kOk;
}

}  // namespace tcpscope
