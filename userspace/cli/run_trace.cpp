#include "cli/run_trace.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

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

// Thrown by the handler at the first event after --at's time: the table is
// then as it was at that time (a listing being reconciled is not applied).
struct ReachedTime {};

// The sockets of the table at --at's time, as netstat lists them.
std::vector<ListedSocket> table_as_listing(const SocketTable& table,
                                           const std::vector<ListedSocket>& last_listing,
                                           int family) {
    std::unordered_map<std::uint64_t, const ListedSocket*> listed;
    for (const ListedSocket& s : last_listing) {
        listed.emplace(s.cookie, &s);
    }
    std::vector<ListedSocket> out;
    for (const SocketEntry& e : table.snapshot()) {
        if (family != 0 && e.saddr.family != family) {
            continue;
        }
        auto it = listed.find(e.cookie);
        if (it != listed.end() && it->second->state == e.state) {
            out.push_back(*it->second);  // queues, uid, inode, timers as last listed
            continue;
        }
        ListedSocket s;
        s.cookie = e.cookie;
        s.saddr = e.saddr;
        s.daddr = e.daddr;
        s.sport = e.sport.value_or(0);
        s.dport = e.dport;
        s.state = e.state;
        s.is_timewait = e.state == TcpState::TimeWait;
        s.is_request = e.request;
        s.stream_only = true;
        out.push_back(s);
    }
    // IPv4 first, listeners first, as the kernel lists them; then by port.
    std::stable_sort(out.begin(), out.end(), [](const ListedSocket& a, const ListedSocket& b) {
        auto key = [](const ListedSocket& s) {
            return std::make_tuple(s.saddr.family, s.state != TcpState::Listen, s.sport, s.dport);
        };
        return key(a) < key(b);
    });
    return out;
}

// The run itself, live or replayed: inputs says which. With at, the replay
// stops at its time and shows the table instead of printing.
int trace_with(const TraceConfig& config, const TraceSettings& settings, CommandInputs& inputs,
               std::unique_ptr<Reconciler> reconciler, LineSink& sink, bool print,
               const TableAt* at = nullptr) {
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
    std::optional<std::uint64_t> at_ns;  // --at's time, once the first event tells the day
    std::unique_ptr<EventStream> source = inputs.events([&](const Transition& t) {
        if (at != nullptr) {
            if (!at_ns) {
                const std::int64_t first = inputs.wall_clock().to_realtime_ns(t.ts_ns);
                at_ns = static_cast<std::uint64_t>(at->at.resolve(first) -
                                                   inputs.wall_clock().offset_ns());
            }
            if (t.ts_ns > *at_ns) {
                throw ReachedTime{};
            }
        }
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
    if (at != nullptr) {
        // A tick or a listing past the time ends the replay as an event does.
        inputs.watch_clock([&](std::uint64_t now) {
            if (at_ns && now > *at_ns) {
                throw ReachedTime{};
            }
        });
    }
    // The listing --at's table takes queues and timers from.
    auto release_listing = [&] {
        if (reconciler && at == nullptr) {
            reconciler->release_listing();
        }
    };
    try {
        if (reconciler) {
            reconciler->seed(table, *source);
            release_listing();
        }
        spdlog::info("tracing TCP state transitions{}; {}{}",
                     settings.netns ? fmt::format(" in netns {}", settings.netns) : std::string(),
                     inputs.describe(), inputs.replaying() ? "" : "; capabilities dropped");

        // Where each timewait socket found ended goes: the kernel reports none.
        TableWatch watch = inputs.watch(table, reconciler.get(), *source,
                                        reconcile_schedule(settings.reconcile_s));
        auto write_ends = [&](const TableWatch::Tick& tick) {
            release_listing();
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
        if (at != nullptr) {
            if (reconciler) {
                watch.tick(true);  // the final listing, unless it came after the time
            }
            throw RecordingError(
                fmt::format("{} ends before --at's time", config.record.read_paths.back()));
        }
        if (reconciler && !sink.broken()) {
            // The table at exit matches the kernel: whatever the stream missed
            // (an uncounted skip, say) shows up as a correction.
            write_ends(watch.tick(true));
            sink.flush();
        }
        spdlog::info("{}", summary());
    } catch (const ReachedTime&) {
        static const std::vector<ListedSocket> kNone;
        at->show(table,
                 table_as_listing(table, reconciler ? reconciler->listing() : kNone, at->family),
                 *at_ns, inputs.cgroups());
    }
    return exit_code::kOk;
}

std::string number_text(double value) {
    return fmt::format("{}", value);
}

// A replay of a trace recording: to print it, or (at) to show its table then.
int replay_trace(const TraceConfig& config, const TableAt* at) {
    std::unique_ptr<CommandInputs> inputs = replay_inputs(config.record, config.filters, "trace");
    const Replay& replay = inputs->recording();
    TraceSettings settings{setting_number(replay, "reconcile_s"),
                           static_cast<std::uint32_t>(setting_number(replay, "max_sockets")),
                           replay.header().netns};
    std::unique_ptr<Reconciler> reconciler = inputs->reconciler(
        {std::nullopt, inputs->filter(), replay.setting("owner_filtered") == "1"}, false);
    std::unique_ptr<LineSink> sink = open_output(config, FileOwner{getuid(), getgid(), ""});
    return trace_with(config, settings, *inputs, std::move(reconciler), *sink, at == nullptr, at);
}

}  // namespace

int replay_table_at(const std::vector<std::string>& paths, const TableAt& at) {
    TraceConfig config;
    config.record.read_paths = paths;
    return replay_trace(config, &at);
}

int run_command(const TraceConfig& config) {
    install_snapshot_handler();
    if (config.record.replaying()) {
        return replay_trace(config, nullptr);
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
    inputs.record_if_asked(config.record, file_owner(account), "trace", options.netns,
                           {{"reconcile_s", number_text(reconciler ? config.reconcile_s : 0)},
                            {"max_sockets", std::to_string(config.tuning.max_sockets)},
                            {"listings", reconciler ? "1" : "0"},
                            {"owner_filtered", request.owner_filtered ? "1" : "0"}});
    drop_privileges_after_attach(account, [&] { return tracer.can_query(); });
    return trace_with(
        config, TraceSettings{config.reconcile_s, config.tuning.max_sockets, options.netns}, inputs,
        std::move(reconciler), *sink, !config.record.write_path || config.print);
}

}  // namespace tcpscope
