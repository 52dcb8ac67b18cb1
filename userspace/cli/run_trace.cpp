#include "cli/run_trace.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/event_loop.h"
#include "cli/exit_codes.h"
#include "core/socket_table.h"
#include "kernel/ring_source.h"
#include "kernel/tracer.h"
#include "views/line_sink.h"
#include "views/trace_format.h"

namespace tcpscope {

std::string event_loss_summary(std::uint64_t events, const KernelLosses& kernel,
                               std::uint64_t malformed) {
    std::uint64_t lost = kernel.ringbuf_full + kernel.recursion_misses + malformed;
    return fmt::format("events={} lost={} (ringbuf_full={} recursion_misses={} malformed={})",
                       events, lost, kernel.ringbuf_full, kernel.recursion_misses, malformed);
}

std::string loss_summary(std::uint64_t events, const KernelLosses& kernel, std::uint64_t malformed,
                         const SocketTable& table) {
    return fmt::format("{} history_gaps={} sockets_seen={} sockets_live={} evicted={}",
                       event_loss_summary(events, kernel, malformed), table.counters().gaps,
                       table.counters().inserted, table.size(), table.counters().evictions);
}

std::unique_ptr<LineSink> open_output(const TraceConfig& config) {
    return config.output_path
               ? make_file_sink({*config.output_path, config.rotate_bytes, config.rotate_files})
               : make_stdout_sink();
}

int run_command(const TraceConfig& config) {
    TracerOptions options = tracer_options(config.filters, config.tuning);
    std::unique_ptr<LineSink> sink = open_output(config);

    Tracer tracer(options);
    SocketTable table(config.tuning.max_sockets);
    TraceFormatter formatter(WallClock::from_system());
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

    LoopOptions loop;
    loop.duration_s = config.duration_s;
    if (config.stats) {
        loop.tick_every = std::chrono::seconds(1);
        loop.on_tick = [&] {
            spdlog::info("stats: {}",
                         loss_summary(events, tracer.losses(), source.malformed(), table));
        };
    }
    run_event_loop(source, *sink, loop);
    spdlog::info("{}", loss_summary(events, tracer.losses(), source.malformed(), table));
    return exit_code::kOk;
}

}  // namespace tcpscope
