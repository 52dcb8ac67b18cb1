#include "cli/run_trace.h"

#include <chrono>
#include <functional>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/cgroup_paths.h"
#include "cli/event_loop.h"
#include "cli/exit_codes.h"
#include "cli/privileges.h"
#include "cli/reconciler.h"
#include "cli/stop_signal.h"
#include "core/socket_table.h"
#include "core/table_watch.h"
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
                               std::uint64_t malformed, std::uint64_t found_by_listing) {
    return fmt::format(
        "events={} lost={} (ringbuf_full={} unrecovered={} malformed={} found_by_listing={}) "
        "recursion_misses={} recovered={}",
        events, kernel.lost() + malformed + found_by_listing, kernel.ringbuf_full,
        kernel.unrecovered(), malformed, found_by_listing, kernel.recursion_misses,
        kernel.recovered);
}

std::string loss_summary(std::uint64_t events, const KernelLosses& kernel, std::uint64_t malformed,
                         std::uint64_t found_by_listing, const SocketTable& table) {
    return fmt::format("{} history_gaps={} sockets_seen={} sockets_live={} evicted={}",
                       event_loss_summary(events, kernel, malformed, found_by_listing),
                       table.counters().gaps, table.counters().inserted, table.size(),
                       table.counters().evictions);
}

std::unique_ptr<LineSink> open_output(const TraceConfig& config, const FileOwner& owner) {
    if (!config.output_path) {
        return make_stdout_sink();
    }
    try {
        return make_file_sink(
            {*config.output_path, config.rotate_bytes, config.rotate_files, owner});
    } catch (const std::runtime_error& e) {
        throw std::invalid_argument(std::string("-o: ") + e.what());  // a usage error: exit 2
    }
}

namespace {

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
    const Account account = account_for(config.tuning.user);
    install_snapshot_handler();
    TracerOptions options = tracer_options(config.filters, config.tuning);
    std::unique_ptr<LineSink> sink = open_output(config, file_owner(account));

    Tracer tracer(options);
    std::unique_ptr<Reconciler> reconciler;
    if (config.reconcile_s > 0) {
        reconciler = open_reconciler(listing_request(config.filters, options));
    }
    drop_privileges_after_attach(account, [&] { return tracer.can_query(); });

    SocketTable table(config.tuning.max_sockets);
    WallClock formatter_clock = WallClock::from_system();
    CgroupPaths cgroups;
    TraceFormatter formatter(formatter_clock, &cgroups);
    if (config.cgroup_column) {
        formatter.show_cgroup_column();
    }
    std::uint64_t events = 0;

    if (!config.json) {
        sink->write_line(formatter.text_header());
    }
    auto write = [&](const Transition& t) {
        sink->write_line(config.json ? formatter.json_line(t) : formatter.text_line(t));
    };
    RingSource source(tracer.events_fd(), [&](const Transition& t) {
        ++events;
        SocketTable::Applied applied = table.apply(t);
        if (reconciler) {
            reconciler->observe(t, applied);
        }
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

    // Where each timewait socket found ended goes: the kernel reports none.
    TableWatch watch = watch_table(table, reconciler.get(), source, tracer,
                                   reconcile_schedule(config.reconcile_s));
    auto write_ends = [&](const TableWatch::Tick& tick) {
        if (reconciler) {
            reconciler->release_listing();
        }
        for (const TimewaitEnd& end : tick.ended()) {
            write(timewait_end_transition(end));
        }
    };
    auto summary = [&] {
        return fmt::format("{} {}",
                           loss_summary(events, tracer.losses(), source.malformed(),
                                        watch.found_by_listing(), table),
                           reconcile_summary(reconciler.get()));
    };
    // Ticks every 100 ms: a SIGUSR1 prints the live table; the watch and
    // --stats run every 10th tick.
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
        write_ends(watch.tick());
        if (config.stats) {
            spdlog::info("stats: {}", summary());
        }
    };
    run_event_loop(source, *sink, loop);
    if (reconciler && !sink->broken()) {
        // The table at exit matches the kernel: whatever the stream missed
        // (an uncounted skip, say) shows up as a correction.
        write_ends(watch.tick(true));
        sink->flush();
    }
    spdlog::info("{}", summary());
    return exit_code::kOk;
}

}  // namespace tcpscope
