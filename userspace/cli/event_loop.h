// The consumer loop every tracing subcommand shares: drain the ring buffer on
// a short timer until a stop signal, --duration, or a closed output; call a
// periodic tick (intervals, --stats) on the way.
#pragma once

#include <chrono>
#include <functional>
#include <optional>

namespace tcpscope {

class RingSource;
class LineSink;

struct LoopOptions {
    std::optional<double> duration_s;
    std::optional<std::chrono::milliseconds> tick_every;
    std::function<void()> on_tick;  // called every tick_every
};

// Returns after draining what is left (unless the output is gone).
void run_event_loop(RingSource& source, LineSink& sink, const LoopOptions& options);

// The one watch over the table (core/table_watch.h), reading the tracer's
// and the ring's loss counters. reconciler may be null.
class Reconciler;
class SocketTable;
class Tracer;
class TableWatch;
class ListingSchedule;
TableWatch watch_table(SocketTable& table, Reconciler* reconciler, RingSource& source,
                       const Tracer& tracer, ListingSchedule schedule);

// --reconcile S on the watch's one-second ticks.
ListingSchedule reconcile_schedule(double reconcile_s);

// Resolves the filter flags (the netns path, say) into the loader's options.
struct FilterConfig;
struct TracerTuning;
struct TracerOptions;
TracerOptions tracer_options(const FilterConfig& filters, const TracerTuning& tuning);

}  // namespace tcpscope
