#include "cli/run_synfail.h"

#include <algorithm>
#include <cerrno>
#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/command_inputs.h"
#include "cli/event_loop.h"
#include "cli/exit_codes.h"
#include "cli/listener_sources.h"
#include "cli/netns_path.h"
#include "cli/privileges.h"
#include "cli/run_trace.h"
#include "core/connect_outcome.h"
#include "core/listen_report.h"
#include "core/synfail_summary.h"
#include "kernel/tracer.h"
#include "views/line_sink.h"
#include "views/synfail_format.h"

namespace tcpscope {
namespace {

class SummaryPrinter {
  public:
    SummaryPrinter(const SynfailFormatter& formatter, LineSink& sink, bool json)
        : formatter_(formatter), sink_(sink), json_(json) {}

    void print(const SynfailSummary& summary, std::string_view kind, std::uint64_t since_ns,
               std::uint64_t now) {
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

// What decided when the live run read what; a replay takes them from the header.
struct SynfailSettings {
    std::optional<double> interval_s;
    std::uint32_t netns = 0;           // traced, 0: all
    std::uint32_t listener_netns = 0;  // whose listeners a timeout is checked against
    bool listeners = false;            // they could be listed
};

// listeners is null in a replay (and where they cannot be listed).
int synfail_with(const SynfailConfig& config, const SynfailSettings& settings,
                 CommandInputs& inputs, ListenerListing* listeners) {
    std::unique_ptr<LineSink> sink = make_stdout_sink();
    // A connect that timed out towards a listener of this host: its listener,
    // listed when the failure arrives, shows whether its queue overflowed.
    auto local_listener = [&](const Transition& t) -> std::optional<ListedSocket> {
        if (!settings.listeners || t.netns != settings.listener_netns || t.sk_err != ETIMEDOUT) {
            return std::nullopt;
        }
        std::optional<std::vector<ListedSocket>> listed =
            inputs.listing([&] { return listeners->list(); });
        if (listed) {
            if (const ListedSocket* l = listener_for(*listed, t.daddr, t.dport)) {
                return *l;
            }
        }
        return std::nullopt;
    };

    SynfailFormatter formatter(inputs.wall_clock(), &inputs.cgroups());
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
    std::unique_ptr<EventStream> source = inputs.events([&](const Transition& t) {
        ++events;
        interval.add(t);
        total.add(t);
        std::string reason = failure_reason(t);
        if (!reason.empty()) {
            ++failures;
            recovered += t.recovered_at_connect ? 1 : 0;
            // Listed whether printed or not: a replay with another --reason
            // reads the same listings.
            std::optional<ListedSocket> listener = local_listener(t);
            if (selected(reason)) {
                const ListedSocket* l = listener ? &*listener : nullptr;
                sink->write_line(config.json ? formatter.json_line(t, l)
                                             : formatter.text_line(t, l));
            }
        }
    });

    spdlog::info("tracing failed connection attempts{}; {}{}",
                 settings.netns ? fmt::format(" in netns {}", settings.netns) : std::string(),
                 inputs.describe(), inputs.replaying() ? "" : "; capabilities dropped");

    const std::uint64_t start_ns = inputs.now_ns();
    std::uint64_t interval_start_ns = start_ns;
    LoopOptions loop;
    loop.duration_s = config.duration_s;
    if (settings.interval_s) {
        loop.tick_every = std::chrono::milliseconds(
            std::max<std::int64_t>(1, static_cast<std::int64_t>(*settings.interval_s * 1000)));
        loop.on_tick = [&] {
            const std::uint64_t now = inputs.now_ns();
            printer.print(interval, "interval", interval_start_ns, now);
            interval.clear();
            interval_start_ns = now;
        };
    }
    source->run(*sink, loop);
    if (!sink->broken()) {
        printer.print(total, "total", start_ns, inputs.now_ns());
        sink->flush();
    }
    spdlog::info("{} failures={} recovered_at_connect={}",
                 event_loss_summary(events, inputs.losses(), source->malformed()), failures,
                 recovered);
    return exit_code::kOk;
}

}  // namespace

int run_command(const SynfailConfig& config) {
    if (config.record.replaying()) {
        std::unique_ptr<CommandInputs> inputs =
            replay_inputs(config.record, config.filters, "synfail");
        const Replay& replay = inputs->recording();
        SynfailSettings settings;
        if (const double interval = setting_number(replay, "interval_s"); interval > 0) {
            settings.interval_s = interval;
        }
        settings.netns = replay.header().netns;
        settings.listener_netns =
            static_cast<std::uint32_t>(setting_number(replay, "listener_netns"));
        settings.listeners = replay.setting("listeners") == "1";
        return synfail_with(config, settings, *inputs, nullptr);
    }

    const Account account = account_for(config.tuning.user);
    TracerOptions options = tracer_options(config.filters, config.tuning);
    options.synfail = true;
    options.connect_exit = config.sync;
    SynfailSettings settings{config.interval_s, options.netns,
                             options.netns ? options.netns : current_netns_inode(), false};
    // Opened before the switch, in the traced namespace (else ours).
    std::optional<ListenerListing> listeners;
    try {
        listeners.emplace(netns_path_to_enter(config.filters.netns), SocketFilter{});
        settings.listeners = true;
    } catch (const std::exception& e) {
        spdlog::warn("no listing of local listeners ({}): timeouts name none", e.what());
    }
    const WallClock clock = WallClock::from_system();
    Tracer tracer(options);
    CommandInputs inputs(tracer, clock);
    inputs.record_if_asked(config.record, file_owner(account), "synfail", options.netns,
                           {{"interval_s", fmt::format("{}", config.interval_s.value_or(0))},
                            {"listener_netns", std::to_string(settings.listener_netns)},
                            {"listeners", settings.listeners ? "1" : "0"},
                            {"sync", config.sync ? "1" : "0"}});
    drop_privileges_after_attach(account, [&] { return tracer.can_query(); });
    return synfail_with(config, settings, inputs, listeners ? &*listeners : nullptr);
}

}  // namespace tcpscope
