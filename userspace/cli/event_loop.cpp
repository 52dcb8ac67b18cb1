#include "cli/event_loop.h"

#include "cli/cgroup_paths.h"
#include "cli/netns_path.h"
#include "cli/options.h"
#include "cli/stop_signal.h"
#include "core/table_watch.h"
#include "kernel/ring_source.h"
#include "kernel/tracer.h"
#include "views/line_sink.h"

namespace tcpscope {
namespace {

using Clock = std::chrono::steady_clock;

// How long the consumer sleeps between drains when nothing forces a wake-up:
// records are submitted without per-event wake-ups (2-3x cheaper on busy
// hosts), so this bounds the output latency.
constexpr std::chrono::milliseconds kDrainInterval{20};

}  // namespace

void run_event_loop(RingSource& source, LineSink& sink, const LoopOptions& options) {
    const auto start = Clock::now();
    auto next_tick = options.tick_every ? start + *options.tick_every : Clock::time_point::max();
    while (!stop_requested() && !sink.broken()) {
        source.poll(kDrainInterval);
        sink.flush();
        auto now = Clock::now();
        if (options.duration_s &&
            now - start >= std::chrono::duration<double>(*options.duration_s)) {
            break;
        }
        if (now >= next_tick) {
            if (options.on_tick) {
                options.on_tick();
            }
            next_tick += *options.tick_every;
        }
    }
    if (!sink.broken()) {
        source.drain();
        sink.flush();
    }
}

TableWatch watch_table(SocketTable& table, Reconciler* reconciler, RingSource& source,
                       const Tracer& tracer, ListingSchedule schedule) {
    return TableWatch(table, reconciler, source, schedule, [&tracer, &source] {
        KernelLosses kernel = tracer.losses();
        return StreamLosses{kernel.ringbuf_full, kernel.unrecovered(), source.malformed()};
    });
}

ListingSchedule reconcile_schedule(double reconcile_s) {
    return ListingSchedule::fixed(1'000'000'000ull, static_cast<std::uint64_t>(reconcile_s * 1e9));
}

TracerOptions tracer_options(const FilterConfig& filters, const TracerTuning& tuning) {
    TracerOptions options;
    options.family = filters.family;
    options.ports = filters.ports;
    options.pid = filters.pid;
    for (const std::string& spec : filters.cgroups) {
        options.cgroups.push_back(cgroup_directory(spec));
    }
    if (filters.netns) {
        options.netns = resolve_netns(*filters.netns);
    }
    options.max_sockets = tuning.max_sockets;
    options.ringbuf_bytes = tuning.ringbuf_bytes;
    return options;
}

}  // namespace tcpscope
