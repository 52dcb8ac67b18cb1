#include "cli/run_listen.h"

#include <sys/socket.h>

#include <spdlog/spdlog.h>

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
#include "kernel/ring_source.h"
#include "kernel/sock_diag.h"
#include "kernel/tracer.h"
#include "views/line_sink.h"
#include "views/listen_format.h"

namespace tcpscope {

int run_command(const ListenConfig& config) {
    const Account account = account_for(config.tuning.user);
    TracerOptions options = tracer_options(config.filters, config.tuning);
    options.listen = true;
    std::unique_ptr<Reconciler> reconciler =
        make_reconciler(listing_request(config.filters, options));
    options.netns = reconciler->netns();
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
    std::unique_ptr<LineSink> sink = make_stdout_sink();
    Tracer tracer(options);
    drop_privileges_after_attach(account, [&] { return tracer.can_query(); });
    ListenStats stats(tracer.counts_syn_drops(), options.netns);
    stats.listed(listeners.list());
    stats.counted(tracer.listener_counts(), tracer.syn_drops(), namespace_counters.read());

    SocketTable table(config.tuning.max_sockets);
    std::uint64_t events = 0;
    RingSource source(tracer.events_fd(), [&](const Transition& t) {
        ++events;
        reconciler->observe(t, table.apply(t));
        stats.observe(t);
    });
    reconciler->seed(table, source);
    spdlog::info("tracing listeners in netns {}; {}", options.netns, tracer.describe());

    ListenFormatter formatter(WallClock::from_system(), options.netns, &programs);
    auto write = [&](const ListenReport& report) {
        write_report(*sink, formatter, report, config.json);
    };
    const auto interval_ns = static_cast<std::uint64_t>(config.interval_s * 1e9);
    TableWatch watch =
        watch_table(table, reconciler.get(), source, tracer,
                    ListingSchedule(interval_ns, kListingCpuShare, kListingMaxPeriodNs));
    reconciler->release_listing();
    auto sample = [&] {
        stats.listed(listeners.list());
        stats.counted(tracer.listener_counts(), tracer.syn_drops(), namespace_counters.read());
    };
    const std::uint64_t start_ns = monotonic_now_ns();
    std::uint64_t last_ns = start_ns;
    LoopOptions loop;
    loop.duration_s = config.duration_s;
    loop.tick_every = std::chrono::milliseconds(static_cast<long>(config.sample_s * 1000));
    loop.on_tick = [&] {
        sample();
        const std::uint64_t now = monotonic_now_ns();
        if (now - last_ns + loop.tick_every->count() * 500'000ull < interval_ns) {
            return;  // the interval ends at the tick nearest its end
        }
        if (watch.tick(false).reconciled) {
            reconciler->release_listing();
        }
        write(stats.interval_report(now, static_cast<double>(now - last_ns) / 1e9, &table));
        last_ns = now;
    };
    run_event_loop(source, *sink, loop);

    if (!sink->broken()) {
        sample();
        const std::uint64_t now = monotonic_now_ns();
        write(stats.final_report(now, static_cast<double>(now - start_ns) / 1e9, &table));
    }
    spdlog::info("{}", loss_summary(events, tracer.losses(), source.malformed(),
                                    watch.found_by_listing(), table));
    return exit_code::kOk;
}

}  // namespace tcpscope
