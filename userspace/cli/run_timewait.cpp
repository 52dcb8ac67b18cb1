#include "cli/run_timewait.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include "cli/command_inputs.h"
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

namespace {

// What decided when the live run read what; a replay takes them from the header.
struct TimewaitSettings {
    double interval_s = 1.0;
    std::optional<double> list_every_s;
    std::uint32_t max_sockets = 262144;
};

// sysctls is null in a replay.
int timewait_with(const TimewaitConfig& config, const TimewaitSettings& settings,
                  CommandInputs& inputs, std::unique_ptr<Reconciler> reconciler,
                  const TimewaitSysctls* sysctls) {
    std::unique_ptr<LineSink> sink = make_stdout_sink();
    SocketTable table(settings.max_sockets);
    table.set_sparse(true);  // history_gaps stays 0: losses show in the kernel counters
    TimewaitStats stats(config.top_n, config.warn_pct);
    TimewaitFormatter formatter(inputs.wall_clock(), &inputs.cgroups());
    PendingBirths births;
    std::uint64_t events = 0;
    std::unique_ptr<EventStream> source = inputs.events([&](const Transition& t) {
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
    reconciler->seed(table, *source);
    spdlog::info("tracing TIME_WAIT in netns {} ({} already live); {}{}", reconciler->netns(),
                 table.count_in_state(TcpState::TimeWait), inputs.describe(),
                 inputs.replaying() ? "" : "; capabilities dropped");
    auto limits = [&] { return inputs.limits([&] { return sysctls->read(); }); };

    auto write = [&](const TimewaitReport& report) {
        write_report(*sink, formatter, report, config.json);
    };
    // Deaths at expiry are inferred on time; listings, when due, catch what
    // inference cannot (early deaths, missed births) and confirm expiries.
    const auto interval_ns = static_cast<std::uint64_t>(settings.interval_s * 1e9);
    ListingSchedule schedule =
        settings.list_every_s
            ? ListingSchedule::fixed(interval_ns,
                                     static_cast<std::uint64_t>(*settings.list_every_s * 1e9))
            : ListingSchedule(interval_ns, kListingCpuShare, kListingMaxPeriodNs);
    TableWatch watch = inputs.watch(table, reconciler.get(), *source, schedule);
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
    loop.tick_every = std::chrono::milliseconds(static_cast<long>(settings.interval_s * 1000));
    loop.on_tick = [&] {
        std::uint64_t now = close_interval(false);
        double span_s = static_cast<double>(now - last_ns) / 1e9;
        last_ns = now;
        TimewaitReport report = stats.interval_report(now, span_s, table, limits());
        report.listing_age_s = listing_age_s(now);
        write(report);
    };
    source->run(*sink, loop);

    if (!sink->broken()) {
        std::uint64_t now = close_interval(true);
        births.hand_over(stats);  // the totals take every birth read
        TimewaitReport report =
            stats.final_report(now, static_cast<double>(now - start_ns) / 1e9, table, limits());
        report.listing_age_s = listing_age_s(now);
        write(report);
    }
    spdlog::info(
        "{} timewait_corrections={}",
        loss_summary(events, inputs.losses(), source->malformed(), watch.found_by_listing(), table),
        corrections);
    return exit_code::kOk;
}

}  // namespace

int run_command(const TimewaitConfig& config) {
    if (config.record.replaying()) {
        std::unique_ptr<CommandInputs> inputs =
            replay_inputs(config.record, config.filters, "timewait");
        const Replay& replay = inputs->recording();
        TimewaitSettings settings{
            setting_number(replay, "interval_s"), std::nullopt,
            static_cast<std::uint32_t>(setting_number(replay, "max_sockets"))};
        if (const double every = setting_number(replay, "list_every_s"); every > 0) {
            settings.list_every_s = every;
        }
        return timewait_with(config, settings, *inputs,
                             inputs->reconciler({std::nullopt, inputs->filter(), false}, true),
                             nullptr);
    }

    const Account account = account_for(config.tuning.user);
    TracerOptions options = tracer_options(config.filters, config.tuning);
    options.timewait = true;  // only TIME_WAIT births cross the ring buffer
    const WallClock clock = WallClock::from_system();
    // One namespace: the one the listing covers, resolved as the reconciler
    // resolves it (the listing opens after the tracer, through the inputs).
    const ListingRequest request = listing_request(config.filters, options);
    options.netns = request.netns_spec ? resolve_netns(*request.netns_spec) : current_netns_inode();
    // Our own namespace's sysctls need no setns (and so no CAP_SYS_ADMIN).
    std::unique_ptr<TimewaitSysctls> sysctls =
        config.filters.netns
            ? std::make_unique<TimewaitSysctls>(netns_path_for(*config.filters.netns))
            : std::make_unique<TimewaitSysctls>();
    Tracer tracer(options);
    CommandInputs inputs(tracer, clock);
    std::unique_ptr<Reconciler> reconciler = inputs.reconciler(request, true);
    inputs.record_if_asked(config.record, file_owner(account), "timewait", options.netns,
                           {{"interval_s", fmt::format("{}", config.interval_s)},
                            {"list_every_s", fmt::format("{}", config.list_every_s.value_or(0))},
                            {"max_sockets", std::to_string(config.tuning.max_sockets)},
                            {"listings", "1"}});
    drop_privileges_after_attach(account, [&] { return tracer.can_query(); });
    return timewait_with(config,
                         {config.interval_s, config.list_every_s, config.tuning.max_sockets},
                         inputs, std::move(reconciler), sysctls.get());
}

}  // namespace tcpscope
