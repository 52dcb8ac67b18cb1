#include "cli/run_trace.h"

#include <chrono>
#include <functional>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include "cli/command_inputs.h"
#include "cli/event_loop.h"
#include "cli/exit_codes.h"
#include "cli/privileges.h"
#include "cli/reconciler.h"
#include "cli/stop_signal.h"
#include "core/socket_table.h"
#include "core/table_watch.h"
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

namespace {

// What a replay takes from the recording's header rather than from flags:
// the settings that decided when the live run read what.
struct TraceSettings {
    double reconcile_s = 10;
    std::uint32_t max_sockets = 262144;
    std::uint32_t netns = 0;  // traced, 0: all
};

// The run itself, live or replayed: inputs says which.
int trace_with(const TraceConfig& config, const TraceSettings& settings, CommandInputs& inputs,
               std::unique_ptr<Reconciler> reconciler, LineSink& sink, bool print) {
    SocketTable table(settings.max_sockets);
    TraceFormatter formatter(inputs.wall_clock(), &inputs.cgroups());
    if (config.cgroup_column) {
        formatter.show_cgroup_column();
    }
    std::uint64_t events = 0;

    if (print && !config.json) {
        sink.write_line(formatter.text_header());
    }
    auto write = [&](const Transition& t) {
        if (print) {
            sink.write_line(config.json ? formatter.json_line(t) : formatter.text_line(t));
        }
    };
    std::unique_ptr<EventStream> source = inputs.events([&](const Transition& t) {
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
        reconciler->seed(table, *source);
        reconciler->release_listing();
    }
    spdlog::info("tracing TCP state transitions{}; {}{}",
                 settings.netns ? fmt::format(" in netns {}", settings.netns) : std::string(),
                 inputs.describe(), inputs.replaying() ? "" : "; capabilities dropped");

    // Where each timewait socket found ended goes: the kernel reports none.
    TableWatch watch = inputs.watch(table, reconciler.get(), *source,
                                    reconcile_schedule(settings.reconcile_s));
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
                           loss_summary(events, inputs.losses(), source->malformed(),
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
            print_snapshot(table, inputs.wall_clock(), config.json, sink);
        }
        if (++ticks % 10 != 0) {
            return;
        }
        write_ends(watch.tick());
        if (config.stats) {
            spdlog::info("stats: {}", summary());
        }
    };
    source->run(sink, loop);
    if (reconciler && !sink.broken()) {
        // The table at exit matches the kernel: whatever the stream missed
        // (an uncounted skip, say) shows up as a correction.
        write_ends(watch.tick(true));
        sink.flush();
    }
    spdlog::info("{}", summary());
    return exit_code::kOk;
}

std::string number_text(double value) {
    return fmt::format("{}", value);
}

}  // namespace

int run_command(const TraceConfig& config) {
    install_snapshot_handler();
    if (config.record.replaying()) {
        std::unique_ptr<Replay> replay = open_replay(config.record.read_paths, "trace");
        CommandInputs inputs(*replay, SocketFilter{config.filters.family, config.filters.ports});
        TraceSettings settings{setting_number(*replay, "reconcile_s"),
                               static_cast<std::uint32_t>(setting_number(*replay, "max_sockets")),
                               replay->header().netns};
        std::unique_ptr<Reconciler> reconciler =
            inputs.reconciler({std::nullopt, SocketFilter{config.filters.family, config.filters.ports},
                               replay->setting("owner_filtered") == "1"},
                              false);
        std::unique_ptr<LineSink> sink = open_output(config, FileOwner{getuid(), getgid(), ""});
        return trace_with(config, settings, inputs, std::move(reconciler), *sink, true);
    }

    const Account account = account_for(config.tuning.user);
    TracerOptions options = tracer_options(config.filters, config.tuning);
    std::unique_ptr<LineSink> sink = open_output(config, file_owner(account));
    const WallClock clock = WallClock::from_system();

    Tracer tracer(options);
    CommandInputs inputs(tracer, clock);
    std::unique_ptr<Reconciler> reconciler;
    const ListingRequest request = listing_request(config.filters, options);
    if (config.reconcile_s > 0) {
        reconciler = inputs.reconciler(request, false);
    }
    std::unique_ptr<Recorder> recorder;
    if (config.record.write_path) {
        install_reopen_handler();
        recorder = open_recorder(
            config.record, file_owner(account),
            new_recording_header(
                "trace", options.netns, clock,
                {{"reconcile_s", number_text(reconciler ? config.reconcile_s : 0)},
                 {"max_sockets", std::to_string(config.tuning.max_sockets)},
                 {"listings", reconciler ? "1" : "0"},
                 {"owner_filtered", request.owner_filtered ? "1" : "0"}}));
        inputs.record_into(*recorder);
    }
    drop_privileges_after_attach(account, [&] { return tracer.can_query(); });
    return trace_with(config, TraceSettings{config.reconcile_s, config.tuning.max_sockets, options.netns}, inputs,
                      std::move(reconciler), *sink, !recorder || config.print);
}

}  // namespace tcpscope
