#include "cli/run_listen.h"

#include <sys/socket.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "cli/command_inputs.h"
#include "cli/event_loop.h"
#include "cli/exit_codes.h"
#include "cli/listener_sources.h"
#include "cli/netns_path.h"
#include "cli/privileges.h"
#include "cli/reconciler.h"
#include "cli/run_trace.h"
#include "cli/system_names.h"
#include "core/listen_report.h"
#include "core/listing_schedule.h"
#include "core/proc_net_counters.h"
#include "core/socket_filter.h"
#include "core/socket_table.h"
#include "core/table_watch.h"
#include "core/wall_clock.h"
#include "kernel/netns_files.h"
#include "kernel/sock_diag.h"
#include "kernel/tracer.h"
#include "views/line_sink.h"
#include "views/listen_format.h"

namespace tcpscope {

namespace {

// What decided when the live run read what; a replay takes them from the header.
struct ListenSettings {
    double interval_s = 1.0;
    double sample_s = 0.1;
    std::uint32_t max_sockets = 262144;
    bool counts_syn_drops = false;
    std::uint32_t netns = 0;
};

// What listen reads each sample besides the stream (null in a replay).
struct ListenSources {
    ListenerListing* listeners = nullptr;
    NamespaceCounters* counters = nullptr;
    Tracer* tracer = nullptr;
    ProgramLookup* programs = nullptr;
};

int listen_with(const ListenConfig& config, const ListenSettings& settings, CommandInputs& inputs,
                std::unique_ptr<Reconciler> reconciler, const ListenSources& live) {
    std::unique_ptr<LineSink> sink = make_stdout_sink();
    ListenStats stats(settings.counts_syn_drops, settings.netns);
    auto sample = [&] {
        std::optional<std::vector<ListedSocket>> listed =
            inputs.listing([&] { return live.listeners->list(); });
        if (!listed) {
            throw std::runtime_error("listing the listeners failed");
        }
        stats.listed(std::move(*listed));
        ListenCountsRecord counts = inputs.listen_counts([&] {
            return ListenCountsRecord{live.tracer->listener_counts(), live.tracer->syn_drops()};
        });
        stats.counted(std::move(counts.listeners), std::move(counts.syn_drops),
                      inputs.net_counters([&] { return live.counters->read(); }));
    };
    sample();

    SocketTable table(settings.max_sockets);
    std::uint64_t events = 0;
    std::unique_ptr<EventStream> source = inputs.events([&](const Transition& t) {
        ++events;
        reconciler->observe(t, table.apply(t));
        stats.observe(t);
    });
    reconciler->seed(table, *source);
    spdlog::info("tracing listeners in netns {}; {}", settings.netns, inputs.describe());

    ListenFormatter formatter(inputs.wall_clock(), settings.netns, inputs.programs(live.programs));
    auto write = [&](const ListenReport& report) {
        write_report(*sink, formatter, report, config.json);
    };
    const auto interval_ns = static_cast<std::uint64_t>(settings.interval_s * 1e9);
    TableWatch watch =
        inputs.watch(table, reconciler.get(), *source,
                     ListingSchedule(interval_ns, kListingCpuShare, kListingMaxPeriodNs));
    reconciler->release_listing();
    const std::uint64_t start_ns = inputs.now_ns();
    std::uint64_t last_ns = start_ns;
    LoopOptions loop;
    loop.duration_s = config.duration_s;
    loop.tick_every = std::chrono::milliseconds(static_cast<long>(settings.sample_s * 1000));
    loop.on_tick = [&] {
        sample();
        const std::uint64_t now = inputs.now_ns();
        if (now - last_ns + loop.tick_every->count() * 500'000ull < interval_ns) {
            return;  // the interval ends at the tick nearest its end
        }
        if (watch.tick(false).reconciled) {
            reconciler->release_listing();
        }
        write(stats.interval_report(now, static_cast<double>(now - last_ns) / 1e9, &table));
        last_ns = now;
    };
    source->run(*sink, loop);

    if (!sink->broken()) {
        sample();
        const std::uint64_t now = inputs.now_ns();
        write(stats.final_report(now, static_cast<double>(now - start_ns) / 1e9, &table));
    }
    spdlog::info("{}", loss_summary(events, inputs.losses(), source->malformed(),
                                    watch.found_by_listing(), table));
    return exit_code::kOk;
}

}  // namespace

int run_command(const ListenConfig& config) {
    if (config.record.replaying()) {
        std::unique_ptr<CommandInputs> inputs =
            replay_inputs(config.record, config.filters, "listen");
        const Replay& replay = inputs->recording();
        ListenSettings settings{setting_number(replay, "interval_s"),
                                setting_number(replay, "sample_s"),
                                static_cast<std::uint32_t>(setting_number(replay, "max_sockets")),
                                replay.setting("counts_syn_drops") == "1", replay.header().netns};
        return listen_with(config, settings, *inputs,
                           inputs->reconciler({std::nullopt, inputs->filter(), false}, true), {});
    }

    const Account account = account_for(config.tuning.user);
    TracerOptions options = tracer_options(config.filters, config.tuning);
    options.listen = true;
    // One namespace: the one the listing covers, resolved as the reconciler
    // resolves it (the listing opens after the tracer, through the inputs).
    const ListingRequest request = listing_request(config.filters, options);
    options.netns = request.netns_spec ? resolve_netns(*request.netns_spec) : current_netns_inode();
    const std::optional<std::string> netns_path = netns_path_to_enter(config.filters.netns);
    // Opened before the switch: the listing socket and the counter files
    // answer for the namespace they were opened in, with no capability.
    ListenerListing listeners(netns_path,
                              SocketFilter{config.filters.family, config.filters.ports});
    NamespaceCounters namespace_counters(netns_path);
    // Owners of listeners from before the run, named from /proc now (as root).
    ProcPrograms programs;
    // Listed before attach: a listing gives each listener the cookie the
    // probes key it by (kernels without cookies in tracing programs read it).
    listeners.list();
    const WallClock clock = WallClock::from_system();
    Tracer tracer(options);
    CommandInputs inputs(tracer, clock);
    std::unique_ptr<Reconciler> reconciler = inputs.reconciler(request, true);
    inputs.record_if_asked(config.record, file_owner(account), "listen", options.netns,
                           {{"interval_s", fmt::format("{}", config.interval_s)},
                            {"sample_s", fmt::format("{}", config.sample_s)},
                            {"max_sockets", std::to_string(config.tuning.max_sockets)},
                            {"counts_syn_drops", tracer.counts_syn_drops() ? "1" : "0"},
                            {"listings", "1"}});
    drop_privileges_after_attach(account, [&] { return tracer.can_query(); });
    return listen_with(config,
                       {config.interval_s, config.sample_s, config.tuning.max_sockets,
                        tracer.counts_syn_drops(), options.netns},
                       inputs, std::move(reconciler),
                       {&listeners, &namespace_counters, &tracer, &programs});
}

}  // namespace tcpscope
