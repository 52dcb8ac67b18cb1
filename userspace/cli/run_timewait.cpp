#include "cli/run_timewait.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "cli/cgroup_paths.h"
#include "cli/event_loop.h"
#include "cli/exit_codes.h"
#include "cli/netns_path.h"
#include "cli/privileges.h"
#include "cli/reconciler.h"
#include "cli/run_trace.h"
#include "core/listing_schedule.h"
#include "core/socket_table.h"
#include "core/table_watch.h"
#include "core/timewait_stats.h"
#include "core/wall_clock.h"
#include "kernel/netns_sysctl.h"
#include "kernel/ring_source.h"
#include "kernel/tracer.h"
#include "views/line_sink.h"
#include "views/timewait_format.h"

namespace tcpscope {
namespace {

// Births wait here until the interval their kernel timestamp falls in
// closes: events are read in batches, some after the interval's listing.
class PendingBirths {
  public:
    void add(std::uint64_t ts_ns, const SocketEntry& entry) { births_.emplace_back(ts_ns, entry); }

    // Hands over the births stamped up to until_ns (all when empty).
    void hand_over(TimewaitStats& stats, std::optional<std::uint64_t> until_ns = std::nullopt) {
        auto later = std::partition(births_.begin(), births_.end(), [&](const auto& b) {
            return !until_ns || b.first <= *until_ns;
        });
        for (auto it = births_.begin(); it != later; ++it) {
            stats.birth(it->second);
        }
        births_.erase(births_.begin(), later);
    }

  private:
    std::vector<std::pair<std::uint64_t, SocketEntry>> births_;
};

}  // namespace

int run_command(const TimewaitConfig& config) {
    const Account account = account_for(config.tuning.user);
    TracerOptions options = tracer_options(config.filters, config.tuning);
    options.timewait = true;  // only TIME_WAIT births cross the ring buffer
    // One namespace: the one the listing covers.
    std::unique_ptr<Reconciler> reconciler =
        make_reconciler(listing_request(config.filters, options));
    options.netns = reconciler->netns();
    // Our own namespace's sysctls need no setns (and so no CAP_SYS_ADMIN).
    std::unique_ptr<TimewaitSysctls> sysctls =
        config.filters.netns
            ? std::make_unique<TimewaitSysctls>(netns_path_for(*config.filters.netns))
            : std::make_unique<TimewaitSysctls>();
    std::unique_ptr<LineSink> sink = make_stdout_sink();
    Tracer tracer(options);
    drop_privileges_after_attach(account, [&] { return tracer.can_query(); });

    SocketTable table(config.tuning.max_sockets);
    table.set_sparse(true);  // history_gaps stays 0: losses show in the kernel counters
    TimewaitStats stats(config.top_n, config.warn_pct);
    CgroupPaths cgroups;
    TimewaitFormatter formatter(WallClock::from_system(), &cgroups);
    PendingBirths births;
    std::uint64_t events = 0;
    RingSource source(tracer.events_fd(), [&](const Transition& t) {
        ++events;
        SocketTable::Applied applied = table.apply(t);
        reconciler->observe(t, applied);
        if (applied.timewait_born) {
            if (const SocketEntry* entry = table.find(t.cookie)) {
                births.add(t.ts_ns, *entry);
            }
        }
    });
    // TIME_WAIT sockets already there are live, not births.
    reconciler->seed(table, source);
    spdlog::info("tracing TIME_WAIT in netns {} ({} already live); {}; capabilities dropped",
                 options.netns, table.count_in_state(TcpState::TimeWait), tracer.describe());

    auto write = [&](const TimewaitReport& report) {
        write_report(*sink, formatter, report, config.json);
    };
    // Deaths at expiry are inferred on time; listings, when due, catch what
    // inference cannot (early deaths, missed births) and confirm expiries.
    const auto interval_ns = static_cast<std::uint64_t>(config.interval_s * 1e9);
    ListingSchedule schedule =
        config.list_every_s
            ? ListingSchedule::fixed(interval_ns,
                                     static_cast<std::uint64_t>(*config.list_every_s * 1e9))
            : ListingSchedule(interval_ns, kListingCpuShare, kListingMaxPeriodNs);
    TableWatch watch = watch_table(table, reconciler.get(), source, tracer, schedule);
    reconciler->release_listing();
    std::uint64_t corrections = 0;
    // Closes an interval at the returned time: listing first when due.
    auto close_interval = [&](bool list_now) {
        TableWatch::Tick tick = watch.tick(list_now);
        births.hand_over(stats, tick.now_ns);
        if (tick.reconciled) {
            reconciler->release_listing();
            const ReconcileResult& r = *tick.reconciled;
            for (const SocketEntry& missed : r.timewait_missed) {
                stats.birth(missed);
            }
            stats.missed_births(r.timewait_missed.size());
            corrections += r.timewait_missed.size() + r.early_deaths;
        }
        for (const TimewaitEnd& end : tick.ended()) {
            stats.death(end);
        }
        return tick.now_ns;
    };
    auto listing_age_s = [&](std::uint64_t now) {
        return static_cast<double>(now - watch.schedule().last_listed_ns()) / 1e9;
    };

    const std::uint64_t start_ns = reconciler->listed_at_ns();
    std::uint64_t last_ns = start_ns;
    LoopOptions loop;
    loop.duration_s = config.duration_s;
    loop.tick_every = std::chrono::milliseconds(static_cast<long>(config.interval_s * 1000));
    loop.on_tick = [&] {
        std::uint64_t now = close_interval(false);
        double span_s = static_cast<double>(now - last_ns) / 1e9;
        last_ns = now;
        TimewaitReport report = stats.interval_report(now, span_s, table, sysctls->read());
        report.listing_age_s = listing_age_s(now);
        write(report);
    };
    run_event_loop(source, *sink, loop);

    if (!sink->broken()) {
        std::uint64_t now = close_interval(true);
        births.hand_over(stats);  // the totals take every birth read
        TimewaitReport report = stats.final_report(now, static_cast<double>(now - start_ns) / 1e9,
                                                   table, sysctls->read());
        report.listing_age_s = listing_age_s(now);
        write(report);
    }
    spdlog::info(
        "{} timewait_corrections={}",
        loss_summary(events, tracer.losses(), source.malformed(), watch.found_by_listing(), table),
        corrections);
    return exit_code::kOk;
}

}  // namespace tcpscope
