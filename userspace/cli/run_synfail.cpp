#include "cli/run_synfail.h"

#include <algorithm>
#include <cerrno>
#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/cgroup_paths.h"
#include "cli/event_loop.h"
#include "cli/exit_codes.h"
#include "cli/listener_sources.h"
#include "cli/netns_path.h"
#include "cli/privileges.h"
#include "cli/run_trace.h"
#include "core/connect_outcome.h"
#include "core/listen_report.h"
#include "core/synfail_summary.h"
#include "kernel/ring_source.h"
#include "kernel/tracer.h"
#include "views/line_sink.h"
#include "views/synfail_format.h"

namespace tcpscope {
namespace {

class SummaryPrinter {
  public:
    SummaryPrinter(const SynfailFormatter& formatter, LineSink& sink, bool json)
        : formatter_(formatter), sink_(sink), json_(json) {}

    void print(const SynfailSummary& summary, std::string_view kind, std::uint64_t since_ns) {
        std::uint64_t now = monotonic_now_ns();
        SummaryScope scope{kind, now, static_cast<double>(now - since_ns) / 1e9};
        if (json_) {
            sink_.write_line(formatter_.summary_json(summary, scope));
            return;
        }
        for (const std::string& line : formatter_.summary_text(summary, scope)) {
            sink_.write_line(line);
        }
    }

  private:
    const SynfailFormatter& formatter_;
    LineSink& sink_;
    bool json_;
};

}  // namespace

int run_command(const SynfailConfig& config) {
    const Account account = account_for(config.tuning.user);
    TracerOptions options = tracer_options(config.filters, config.tuning);
    options.synfail = true;
    options.connect_exit = config.sync;
    std::unique_ptr<LineSink> sink = make_stdout_sink();
    // A connect that timed out towards a listener of this host: its listener,
    // listed when the failure arrives (in the traced namespace, else ours),
    // shows whether its queue overflowed. Opened before the switch.
    const std::uint32_t listener_netns = options.netns ? options.netns : current_netns_inode();
    std::optional<ListenerListing> listeners;
    try {
        listeners.emplace(netns_path_to_enter(config.filters.netns), SocketFilter{});
    } catch (const std::exception& e) {
        spdlog::warn("no listing of local listeners ({}): timeouts name none", e.what());
    }
    auto local_listener = [&](const Transition& t) -> std::optional<ListedSocket> {
        if (!listeners || t.netns != listener_netns || t.sk_err != ETIMEDOUT) {
            return std::nullopt;
        }
        try {
            std::vector<ListedSocket> listed = listeners->list();
            if (const ListedSocket* l = listener_for(listed, t.daddr, t.dport)) {
                return *l;
            }
        } catch (const std::exception& e) {
            spdlog::debug("listing local listeners failed: {}", e.what());
        }
        return std::nullopt;
    };

    Tracer tracer(options);
    drop_privileges_after_attach(account, [&] { return tracer.can_query(); });
    CgroupPaths cgroups;
    SynfailFormatter formatter(WallClock::from_system(), &cgroups);
    SummaryPrinter printer(formatter, *sink, config.json);
    SynfailSummary interval;
    SynfailSummary total;
    std::uint64_t events = 0;
    std::uint64_t failures = 0;
    std::uint64_t recovered = 0;  // outcomes the transition program missed
    auto selected = [&](const std::string& reason) {
        return config.reasons.empty() || std::find(config.reasons.begin(), config.reasons.end(),
                                                   reason) != config.reasons.end();
    };

    if (!config.json) {
        sink->write_line(SynfailFormatter::text_header());
    }
    RingSource source(tracer.events_fd(), [&](const Transition& t) {
        ++events;
        interval.add(t);
        total.add(t);
        std::string reason = failure_reason(t);
        if (!reason.empty()) {
            ++failures;
            recovered += t.recovered_at_connect ? 1 : 0;
            if (selected(reason)) {
                std::optional<ListedSocket> listener = local_listener(t);
                const ListedSocket* l = listener ? &*listener : nullptr;
                sink->write_line(config.json ? formatter.json_line(t, l)
                                             : formatter.text_line(t, l));
            }
        }
    });

    spdlog::info("tracing failed connection attempts{}; {}; capabilities dropped",
                 options.netns ? fmt::format(" in netns {}", options.netns) : std::string(),
                 tracer.describe());

    const std::uint64_t start_ns = monotonic_now_ns();
    std::uint64_t interval_start_ns = start_ns;
    LoopOptions loop;
    loop.duration_s = config.duration_s;
    if (config.interval_s) {
        loop.tick_every = std::chrono::milliseconds(
            std::max<std::int64_t>(1, static_cast<std::int64_t>(*config.interval_s * 1000)));
        loop.on_tick = [&] {
            printer.print(interval, "interval", interval_start_ns);
            interval.clear();
            interval_start_ns = monotonic_now_ns();
        };
    }
    run_event_loop(source, *sink, loop);
    if (!sink->broken()) {
        printer.print(total, "total", start_ns);
        sink->flush();
    }
    spdlog::info("{} failures={} recovered_at_connect={}",
                 event_loss_summary(events, tracer.losses(), source.malformed()), failures,
                 recovered);
    return exit_code::kOk;
}

}  // namespace tcpscope
