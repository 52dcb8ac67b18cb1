#include "cli/run_trace.h"

#include <chrono>
#include <functional>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/event_loop.h"
#include "cli/exit_codes.h"
#include "cli/privileges.h"
#include "cli/reconciler.h"
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

std::string event_loss_summary(std::uint64_t events, const KernelLosses& kernel,
                               std::uint64_t malformed) {
    return fmt::format(
        "events={} lost={} (ringbuf_full={} unrecovered={} malformed={}) recursion_misses={} "
        "recovered={}",
        events, kernel.lost() + malformed, kernel.ringbuf_full, kernel.unrecovered(), malformed,
        kernel.recursion_misses, kernel.recovered);
}

std::string loss_summary(std::uint64_t events, const KernelLosses& kernel, std::uint64_t malformed,
                         const SocketTable& table) {
    return fmt::format("{} history_gaps={} sockets_seen={} sockets_live={} evicted={}",
                       event_loss_summary(events, kernel, malformed), table.counters().gaps,
                       table.counters().inserted, table.size(), table.counters().evictions);
}

std::unique_ptr<LineSink> open_output(const TraceConfig& config) {
    if (!config.output_path) {
        return make_stdout_sink();
    }
    try {
        return make_file_sink({*config.output_path, config.rotate_bytes, config.rotate_files});
    } catch (const std::runtime_error& e) {
        throw std::invalid_argument(std::string("-o: ") + e.what());  // a usage error: exit 2
    }
}

namespace {

// Watches the counters once a second: warns when events are lost or the
// table evicts, and reconciles the table after a loss or on its schedule.
class Watchdog {
  public:
    // inferred: where the TIME_WAIT->CLOSE of each timewait socket found
    // ended goes (the kernel reports none).
    Watchdog(const Tracer& tracer, SocketTable& table, RingSource& source, Reconciler* reconciler,
             double reconcile_s, std::function<void(const Transition&)> inferred)
        : tracer_(tracer),
          table_(table),
          source_(source),
          reconciler_(reconciler),
          inferred_(std::move(inferred)),
          reconcile_every_(std::chrono::duration_cast<Clock::duration>(
              std::chrono::duration<double>(reconcile_s))),
          next_reconcile_(Clock::now() + reconcile_every_) {}

    void tick() {
        KernelLosses losses = tracer_.losses();
        const TableCounters& table = table_.counters();
        bool lost_more = losses.lost() > last_.lost() || table.gaps > last_gaps_;
        if (lost_more) {
            spdlog::warn("events lost: ringbuf_full={} unrecovered={} history_gaps={}",
                         losses.ringbuf_full, losses.unrecovered(), table.gaps);
        }
        if (table.evictions > last_evictions_) {
            spdlog::warn("live table full at {} sockets: evicted {} idlest; raise --max-sockets",
                         table_.capacity(), table.evictions - last_evictions_);
        }
        last_ = losses;
        last_gaps_ = table.gaps;
        last_evictions_ = table.evictions;

        auto now = Clock::now();
        if (reconciler_ != nullptr && (lost_more || now >= next_reconcile_)) {
            ReconcileResult r = reconciler_->run(table_, source_);
            reconciler_->release_listing();
            for (const TimewaitEnd& end : r.timewait_ended) {
                inferred_(timewait_end_transition(end));
            }
            if (r.total() > 0) {
                spdlog::info("reconciled the live table: {} added, {} removed, {} fixed", r.added,
                             r.removed, r.fixed);
            }
            next_reconcile_ = now + reconcile_every_;
        }
        // Timewait sockets no listing covers (other namespaces, or no
        // reconciliation) end at their expiry.
        auto grace = std::chrono::duration_cast<std::chrono::nanoseconds>(
            (reconciler_ != nullptr ? reconcile_every_ : Clock::duration::zero()) +
            std::chrono::seconds(2));
        for (const TimewaitEnd& end : table_.expire_timewait(
                 monotonic_now_ns(), static_cast<std::uint64_t>(grace.count()))) {
            inferred_(timewait_end_transition(end));
        }
    }

  private:
    using Clock = std::chrono::steady_clock;
    const Tracer& tracer_;
    SocketTable& table_;
    RingSource& source_;
    Reconciler* reconciler_;
    std::function<void(const Transition&)> inferred_;
    Clock::duration reconcile_every_;
    Clock::time_point next_reconcile_;
    KernelLosses last_;
    std::uint64_t last_gaps_ = 0;
    std::uint64_t last_evictions_ = 0;
};

std::string reconcile_summary(const Reconciler* reconciler) {
    if (reconciler == nullptr) {
        return "reconciled=off";
    }
    const ReconcileResult& c = reconciler->corrections();
    return fmt::format("reconciled={} corrections={} (added={} removed={} fixed={})",
                       reconciler->runs(), c.total(), c.added, c.removed, c.fixed);
}

}  // namespace

int run_command(const TraceConfig& config) {
    install_snapshot_handler();
    TracerOptions options = tracer_options(config.filters, config.tuning);
    std::unique_ptr<LineSink> sink = open_output(config);

    Tracer tracer(options);
    std::unique_ptr<Reconciler> reconciler;
    if (config.reconcile_s > 0) {
        reconciler = open_reconciler(config.filters.netns,
                                     SocketFilter{options.family, options.ports}, options.pid != 0);
    }
    drop_all_capabilities(probe_bpf_after_drop([&] { return tracer.can_query(); }));

    SocketTable table(config.tuning.max_sockets);
    WallClock formatter_clock = WallClock::from_system();
    TraceFormatter formatter(formatter_clock);
    std::uint64_t events = 0;

    if (!config.json) {
        sink->write_line(TraceFormatter::text_header());
    }
    auto write = [&](const Transition& t) {
        sink->write_line(config.json ? formatter.json_line(t) : formatter.text_line(t));
    };
    RingSource source(tracer.events_fd(), [&](const Transition& t) {
        ++events;
        SocketTable::Applied applied = table.apply(t);
        write(t);
        if (applied.timewait_born) {
            write(*applied.timewait_born);  // marked inferred
        }
    });
    if (reconciler) {
        reconciler->seed(table, source);
        reconciler->release_listing();
    }

    spdlog::info("tracing TCP state transitions{}; {}; capabilities dropped",
                 options.netns ? fmt::format(" in netns {}", options.netns) : std::string(),
                 tracer.describe());

    // Ticks every 100 ms: a SIGUSR1 prints the live table; the watchdog and
    // --stats run every 10th tick.
    Watchdog watchdog(tracer, table, source, reconciler.get(), config.reconcile_s, write);
    LoopOptions loop;
    loop.duration_s = config.duration_s;
    loop.tick_every = std::chrono::milliseconds(100);
    std::uint64_t ticks = 0;
    loop.on_tick = [&] {
        if (snapshot_requested()) {
            print_snapshot(table, formatter_clock, config.json, *sink);
        }
        if (++ticks % 10 != 0) {
            return;
        }
        watchdog.tick();
        if (config.stats) {
            spdlog::info("stats: {} {}",
                         loss_summary(events, tracer.losses(), source.malformed(), table),
                         reconcile_summary(reconciler.get()));
        }
    };
    run_event_loop(source, *sink, loop);
    if (reconciler) {
        // The table at exit matches the kernel: whatever the stream missed
        // (an uncounted skip, say) shows up as a correction.
        reconciler->run(table, source);
    }
    spdlog::info("{} {}", loss_summary(events, tracer.losses(), source.malformed(), table),
                 reconcile_summary(reconciler.get()));
    return exit_code::kOk;
}

}  // namespace tcpscope
