#include "cli/run_trace.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/event_loop.h"
#include "cli/exit_codes.h"
#include "cli/stop_signal.h"
#include "core/socket_table.h"
#include "kernel/ring_source.h"
#include "kernel/tracer.h"
#include "views/line_sink.h"
#include "views/table_snapshot.h"
#include "views/trace_format.h"

namespace tcpscope {

namespace {

void print_snapshot(const SocketTable& table, const WallClock& clock, bool json, LineSink& sink) {
    std::uint64_t now_ns = monotonic_now_ns();
    std::vector<SocketEntry> entries = table.snapshot();
    sort_for_snapshot(entries);
    for (const std::string& line :
         json ? snapshot_json(entries, now_ns, clock) : snapshot_text(entries, now_ns, clock)) {
        sink.write_line(line);
    }
    sink.flush();
}

}  // namespace

std::string loss_summary(std::uint64_t events, const KernelLosses& kernel, std::uint64_t malformed,
                         const SocketTable& table) {
    std::uint64_t lost = kernel.ringbuf_full + kernel.recursion_misses + malformed;
    return fmt::format(
        "events={} lost={} (ringbuf_full={} recursion_misses={} malformed={}) history_gaps={} "
        "sockets_seen={} sockets_live={} evicted={}",
        events, lost, kernel.ringbuf_full, kernel.recursion_misses, malformed,
        table.counters().gaps, table.counters().inserted, table.size(), table.counters().evictions);
}

std::unique_ptr<LineSink> open_output(const TraceConfig& config) {
    return config.output_path
               ? make_file_sink({*config.output_path, config.rotate_bytes, config.rotate_files})
               : make_stdout_sink();
}

int run_command(const TraceConfig& config) {
    install_snapshot_handler();
    TracerOptions options = tracer_options(config.filters, config.tuning);
    std::unique_ptr<LineSink> sink = open_output(config);

    Tracer tracer(options);
    SocketTable table(config.tuning.max_sockets);
    WallClock formatter_clock = WallClock::from_system();
    TraceFormatter formatter(formatter_clock);
    std::uint64_t events = 0;

    if (!config.json) {
        sink->write_line(TraceFormatter::text_header());
    }
    RingSource source(tracer.events_fd(), [&](const Transition& t) {
        ++events;
        table.apply(t);
        sink->write_line(config.json ? formatter.json_line(t) : formatter.text_line(t));
    });

    spdlog::info("tracing TCP state transitions{}; {}",
                 options.netns ? fmt::format(" in netns {}", options.netns) : std::string(),
                 tracer.describe());

    // Ticks every 100 ms: a SIGUSR1 prints the live table; --stats every 10th.
    LoopOptions loop;
    loop.duration_s = config.duration_s;
    loop.tick_every = std::chrono::milliseconds(100);
    std::uint64_t ticks = 0;
    loop.on_tick = [&] {
        if (snapshot_requested()) {
            print_snapshot(table, formatter_clock, config.json, *sink);
        }
        if (config.stats && ++ticks % 10 == 0) {
            spdlog::info("stats: {}",
                         loss_summary(events, tracer.losses(), source.malformed(), table));
        }
    };
    run_event_loop(source, *sink, loop);
    spdlog::info("{}", loss_summary(events, tracer.losses(), source.malformed(), table));
    return exit_code::kOk;
}

}  // namespace tcpscope
