#include "cli/run_serve.h"

#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/cgroup_paths.h"
#include "cli/event_loop.h"
#include "cli/exit_codes.h"
#include "cli/listener_sources.h"
#include "cli/netns_path.h"
#include "cli/privileges.h"
#include "cli/reconciler.h"
#include "cli/run_trace.h"
#include "cli/serve_command.h"
#include "cli/stop_signal.h"
#include "core/connect_outcome.h"
#include "core/listen_metrics.h"
#include "core/listen_report.h"
#include "core/metrics_model.h"
#include "core/socket_table.h"
#include "core/table_watch.h"
#include "core/wall_clock.h"
#include "export/metrics_exporter.h"
#include "kernel/netns_sysctl.h"
#include "kernel/ring_source.h"
#include "kernel/tracer.h"
#include "views/line_sink.h"
#include "views/synfail_format.h"
#include "views/trace_format.h"

namespace tcpscope {
namespace {

// The --log file, or nowhere. SIGHUP reopens it by path, so a file moved
// away by logrotate is followed by a fresh one; if that fails, the old file
// is kept and the failure logged.
class ServeLog : public LineSink {
  public:
    ServeLog(const ServeConfig& config, const FileOwner& owner) {
        if (config.log_path) {
            options_ = FileSinkOptions{*config.log_path, config.log_rotate_bytes,
                                       config.log_rotate_files, owner};
            try {
                sink_ = make_file_sink(*options_);
            } catch (const std::runtime_error& e) {
                throw std::invalid_argument(std::string("--log: ") + e.what());  // exit 2
            }
        }
    }

    bool enabled() const { return sink_ != nullptr; }

    void reopen() {
        if (!options_) {
            return;
        }
        try {
            sink_->flush();
            sink_ = make_file_sink(*options_);
            spdlog::info("reopened the log {}", options_->path);
        } catch (const std::runtime_error& e) {
            spdlog::warn("{}; still writing to the file open before", e.what());
        }
    }

    void write_line(std::string_view line) override {
        if (sink_) {
            sink_->write_line(line);
        }
    }
    void flush() override {
        if (sink_) {
            sink_->flush();
        }
    }
    bool broken() const override { return false; }  // a daemon outlives its log

  private:
    std::optional<FileSinkOptions> options_;
    std::unique_ptr<LineSink> sink_;
};

// The exporter, started by a short-lived thread holding only `keep`: the
// HTTP threads it creates inherit that thread's capabilities.
std::unique_ptr<MetricsExporter> start_exporter(const std::string& address,
                                                const std::vector<cap_value_t>& keep) {
    std::unique_ptr<MetricsExporter> exporter;
    std::exception_ptr failure;
    std::thread starter([&] {
        try {
            drop_thread_capabilities(BpfAfterDrop::NeedsNothing, keep);
            exporter = std::make_unique<MetricsExporter>(address);
        } catch (...) {
            failure = std::current_exception();
        }
    });
    starter.join();
    if (failure) {
        std::rethrow_exception(failure);
    }
    return exporter;
}

std::string netns_note(std::uint32_t netns) {
    return netns ? fmt::format(" in netns {}", netns) : std::string();
}

}  // namespace

int run_command(const ServeConfig& config) {
    const Account account = account_for(config.tuning.user);
    install_reopen_handler();
    TracerOptions options = tracer_options(config.filters, config.tuning);
    options.listen = config.listeners;
    ServeLog log(config, file_owner(account));
    // --listeners: the listening sockets and counters of the traced namespace
    // (or ours), opened before the switch; listed once before attach so each
    // listener has the cookie the probes key it by.
    std::optional<ListenerListing> listeners;
    std::optional<NamespaceCounters> namespace_counters;
    const std::uint32_t listen_netns = options.netns ? options.netns : current_netns_inode();
    if (config.listeners) {
        const std::optional<std::string> path = netns_path_to_enter(config.filters.netns);
        listeners.emplace(path, SocketFilter{config.filters.family, config.filters.ports});
        namespace_counters.emplace(path);
        listeners->list();
    }
    Tracer tracer(options);
    std::unique_ptr<Reconciler> reconciler;
    std::unique_ptr<TimewaitSysctls> sysctls;
    if (config.reconcile_s > 0) {
        reconciler = open_reconciler(listing_request(config.filters, options));
        sysctls = config.filters.netns
                      ? std::make_unique<TimewaitSysctls>(netns_path_for(*config.filters.netns))
                      : std::make_unique<TimewaitSysctls>();
    }
    // The user switch first, single-threaded, so the exporter's threads start
    // as that user with no new privileges; they are started by a thread of
    // their own holding no capability but, for a port below 1024, the right
    // to bind it, and they inherit exactly that (never CAP_BPF).
    const BpfAfterDrop bpf = probe_bpf_after_drop([&] { return tracer.can_query(); });
    std::vector<cap_value_t> bind_low_port;
    if (metrics_port(config.metrics_addr) < 1024) {
        bind_low_port.push_back(CAP_NET_BIND_SERVICE);
    }
    become_unprivileged(account, bpf, bind_low_port);
    std::unique_ptr<MetricsExporter> exporter = start_exporter(config.metrics_addr, bind_low_port);
    drop_thread_capabilities(bpf);

    SocketTable table(config.tuning.max_sockets);
    CgroupPaths cgroups;
    MetricsModel model(config.top_n, &cgroups);
    const WallClock clock = WallClock::from_system();
    TraceFormatter transitions(clock, &cgroups);
    SynfailFormatter failures(clock, &cgroups);
    std::uint64_t events = 0;
    ListenStats listen_stats(tracer.counts_syn_drops(), listen_netns);
    const std::uint64_t started_ns = monotonic_now_ns();
    auto update_listeners = [&] {
        if (!listeners) {
            return;
        }
        listen_stats.listed(listeners->list());
        listen_stats.counted(tracer.listener_counts(), tracer.syn_drops(),
                             namespace_counters->read());
        const std::uint64_t now = monotonic_now_ns();
        model.set_listen_families(listen_metric_families(
            listen_stats.final_report(now, static_cast<double>(now - started_ns) / 1e9, &table),
            listen_netns, config.top_n));
    };

    auto log_transition = [&](const Transition& t) {
        if (log.enabled()) {
            log.write_line(transitions.json_line(t));
        }
    };
    RingSource source(tracer.events_fd(), [&](const Transition& t) {
        ++events;
        SocketTable::Applied applied = t.connect_sync ? SocketTable::Applied{} : table.apply(t);
        model.observe(t, applied);
        listen_stats.observe(t);
        if (reconciler) {
            reconciler->observe(t, applied);
        }
        if (!log.enabled()) {
            return;
        }
        log_transition(t);
        if (applied.timewait_born) {
            log_transition(*applied.timewait_born);  // marked inferred
        }
        if (!failure_reason(t).empty()) {
            log.write_line(failures.json_line(t));
        }
    });
    if (reconciler) {
        reconciler->seed(table, source);
    }

    // Port-range pressure comes from the table right after reconciliations;
    // the listing itself (~10 MB per 100k sockets) is freed then.
    auto update_pressure = [&] {
        TimewaitLimits limits = sysctls->read();
        if (limits.port_range) {
            model.set_pressure(port_pressure(table, *limits.port_range));
        }
        model.set_timewait_limits(limits);
        reconciler->release_listing();
    };
    if (reconciler) {
        update_pressure();
    }
    TableWatch watch = watch_table(table, reconciler.get(), source, tracer,
                                   reconcile_schedule(config.reconcile_s));
    auto publish = [&] {
        KernelLosses losses = tracer.losses();
        model.set_events({events, losses.ringbuf_full, losses.unrecovered(), source.malformed(),
                          watch.found_by_listing(), losses.recovered});
        exporter->publish(model);
    };
    model.set_table(table);
    update_listeners();
    publish();

    std::string where = config.metrics_addr;
    if (std::vector<int> ports = exporter->listening_ports(); !ports.empty()) {
        where = config.metrics_addr.substr(0, config.metrics_addr.rfind(':') + 1) +
                std::to_string(ports.front());
    }
    spdlog::info(
        "tracing TCP state transitions{}; metrics on http://{}/metrics{}; {}; "
        "capabilities dropped",
        netns_note(options.netns), where,
        log.enabled() ? fmt::format("; log {}", *config.log_path) : std::string(),
        tracer.describe());

    // Every 100 ms: SIGHUP and fresh counters for scrapes. Every second: the
    // watch (reconciliation on schedule or after a loss, TIME_WAIT expiries)
    // and the table's gauges.
    std::uint64_t ticks = 0;
    LoopOptions loop;
    loop.duration_s = config.duration_s;
    loop.tick_every = std::chrono::milliseconds(100);
    loop.on_tick = [&] {
        if (reopen_requested()) {
            log.reopen();
        }
        if (++ticks % 10 != 0) {
            publish();
            return;
        }
        TableWatch::Tick tick = watch.tick();
        if (tick.reconciled) {
            model.observe_reconcile(*tick.reconciled);
            update_pressure();
        }
        model.observe_expired(tick.expired);
        for (const TimewaitEnd& end : tick.ended()) {
            log_transition(timewait_end_transition(end));
        }
        model.set_table(table);
        update_listeners();
        publish();
    };
    run_event_loop(source, log, loop);
    log.flush();
    spdlog::info("{}", loss_summary(events, tracer.losses(), source.malformed(),
                                    watch.found_by_listing(), table));
    return exit_code::kOk;
}

}  // namespace tcpscope
