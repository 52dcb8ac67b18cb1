#include "cli/run_netstat.h"

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include <spdlog/spdlog.h>

#include "cli/cgroup_paths.h"
#include "cli/event_loop.h"
#include "cli/exit_codes.h"
#include "cli/netns_path.h"
#include "cli/privileges.h"
#include "cli/reconciler.h"
#include "cli/run_trace.h"
#include "cli/stop_signal.h"
#include "cli/system_names.h"
#include "core/churn.h"
#include "core/socket_table.h"
#include "core/table_watch.h"
#include "core/wall_clock.h"
#include "kernel/ring_source.h"
#include "kernel/sock_diag.h"
#include "kernel/tracer.h"
#include "views/line_sink.h"
#include "views/netstat_format.h"

namespace tcpscope {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kDrainInterval{20};

struct Snapshot {
    std::vector<ListedSocket> sockets;  // IPv4 first, then IPv6; kernel order in each
    std::uint64_t listed_at_ns = 0;
};

Snapshot take_snapshot(SockDiag& diag, int family, bool with_info) {
    Snapshot snap;
    snap.listed_at_ns = monotonic_now_ns();
    for (int f : {AF_INET, AF_INET6}) {
        if (family == 0 || family == f) {
            std::vector<ListedSocket> part = diag.dump(f, kAllStates, with_info);
            snap.sockets.insert(snap.sockets.end(), std::make_move_iterator(part.begin()),
                                std::make_move_iterator(part.end()));
        }
    }
    inherit_listener_uids(snap.sockets);
    return snap;
}

// One table, as netstat prints it (plus the extras asked for).
std::string render_table(const Snapshot& snap, const NetstatConfig& config,
                         const SocketTable* table, NameLookup& names, CgroupNames* cgroups,
                         std::uint64_t now_ns) {
    std::optional<ProcPrograms> programs;
    if (config.flags.programs) {
        programs.emplace();
        if (programs->incomplete()) {
            if (!programs->found_any()) {
                std::fprintf(stderr,
                             "(No info could be read for \"-p\": geteuid()=%u but you should "
                             "be root.)\n",
                             geteuid());
            } else {
                std::fputs(
                    "(Not all processes could be identified, non-owned process info\n"
                    " will not be shown, you would have to be root to see it all.)\n",
                    stderr);
            }
        }
    }
    std::string out = netstat_header(config.flags);
    for (const NetstatRow& row : netstat_rows(snap.sockets, config.flags, table, now_ns)) {
        out += netstat_row(row, config.flags, names, programs ? &*programs : nullptr, cgroups);
    }
    return out;
}

void write_text(LineSink& sink, std::string_view text) {
    // LineSink appends the newline itself.
    while (!text.empty()) {
        std::size_t nl = text.find('\n');
        sink.write_line(text.substr(0, nl));
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    }
}

// The -c loop: the tracer keeps the table current between tables; each table
// is a fresh listing that the one reconciliation holds the table against,
// counting what it corrected.
class ContinuousNetstat {
  public:
    explicit ContinuousNetstat(const NetstatConfig& config)
        : config_(config),
          account_(account_for(config.tuning.user)),
          reconciler_(make_reconciler(
              {config.netns, SocketFilter{config.family, {}}, false, config.flags.timers})),
          tracer_(make_options(config, reconciler_->netns())),
          table_(config.tuning.max_sockets),
          source_(tracer_.events_fd(), [this](const Transition& t) { on_transition(t); }),
          watch_(watch_table(table_, reconciler_.get(), source_, tracer_,
                             ListingSchedule::fixed(interval_ns(config), interval_ns(config)))) {
        if (config.flags.cgroup) {
            cgroups_.emplace();
        }
    }

    int run(LineSink& sink) {
        // Attached, and the listing socket is open: nothing below needs a
        // capability, except -p reading other users' /proc/PID/fd (ptrace
        // access to the process, and search of its 0500 fd directory).
        std::vector<cap_value_t> keep;
        if (config_.flags.programs) {
            keep = {CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH};
        }
        drop_privileges_after_attach(
            account_, [this] { return tracer_.can_query(); }, keep);
        reconciler_->seed(table_, source_);
        spdlog::info("tracing TCP state transitions in netns {}; {} sockets seeded; {}",
                     reconciler_->netns(), table_.size(), tracer_.describe());

        const auto interval = std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double>(*config_.interval_s));
        auto next = Clock::now();
        std::uint32_t tables = 0;
        for (;;) {
            if (tables > 0) {
                watch_.tick(true);
            }
            Snapshot snap{reconciler_->listing(), reconciler_->listed_at_ns()};
            inherit_listener_uids(snap.sockets);
            write_text(sink, render_table(snap, config_, &table_, names_,
                                          cgroups_ ? &*cgroups_ : nullptr, monotonic_now_ns()));
            if (config_.short_lived) {
                write_text(sink,
                           short_lived_block(churn_.collect(snap.sockets), config_.flags, names_));
            }
            sink.flush();
            ++tables;
            if (sink.broken() || (config_.count && tables >= *config_.count)) {
                break;
            }
            next += interval;
            while (!stop_requested() && Clock::now() < next) {
                source_.poll(kDrainInterval);
            }
            if (stop_requested()) {
                break;
            }
        }
        const ReconcileResult& c = reconciler_->corrections();
        spdlog::info("tables={} corrections={} (added={} removed={} fixed={}) {}", tables,
                     c.total(), c.added, c.removed, c.fixed,
                     loss_summary(events_, tracer_.losses(), source_.malformed(),
                                  watch_.found_by_listing(), table_));
        return exit_code::kOk;
    }

  private:
    static std::uint64_t interval_ns(const NetstatConfig& config) {
        return static_cast<std::uint64_t>(*config.interval_s * 1e9);
    }

    static TracerOptions make_options(const NetstatConfig& config, std::uint32_t netns) {
        TracerOptions options;
        options.netns = netns;
        options.family = config.family;
        options.max_sockets = config.tuning.max_sockets;
        options.ringbuf_bytes = config.tuning.ringbuf_bytes;
        return options;
    }

    void on_transition(const Transition& t) {
        ++events_;
        bool known = table_.find(t.cookie) != nullptr;
        SocketTable::Applied applied = table_.apply(t);
        reconciler_->observe(t, applied);
        churn_.observe(t, known, applied);
    }

    const NetstatConfig& config_;
    Account account_;
    std::unique_ptr<Reconciler> reconciler_;
    Tracer tracer_;
    SocketTable table_;
    ChurnTracker churn_;
    SystemNames names_;
    std::optional<CgroupPaths> cgroups_;  // with --cgroup only: it walks the hierarchy
    std::uint64_t events_ = 0;
    RingSource source_;
    TableWatch watch_;
};

}  // namespace

int run_command(const NetstatConfig& config) {
    std::unique_ptr<LineSink> sink = make_stdout_sink();
    if (config.at) {
        // A recording's table: its owners and ages are the recording's; user
        // names are this host's (-n shows the recorded uids).
        SystemNames names;
        TableAt at{*config.at, config.family,
                   [&](const SocketTable& table, std::vector<ListedSocket> sockets,
                       std::uint64_t at_ns, CgroupNames& cgroups) {
                       Snapshot snap{std::move(sockets), at_ns};
                       inherit_listener_uids(snap.sockets);
                       write_text(*sink,
                                  render_table(snap, config, &table, names,
                                               config.flags.cgroup ? &cgroups : nullptr, at_ns));
                       sink->flush();
                   }};
        return replay_table_at(config.replay_paths, at);
    }
    if (config.interval_s) {
        ContinuousNetstat continuous(config);
        return continuous.run(*sink);
    }
    const std::optional<std::string> path = netns_path_to_enter(config.netns);
    // One table: a snapshot, no BPF. A live table seeded from it would know
    // no ages or owners, so it is skipped and those columns print '-'.
    SockDiag diag(path);
    Snapshot snap = take_snapshot(diag, config.family, config.flags.timers);
    SystemNames names;
    std::optional<CgroupPaths> cgroups;
    if (config.flags.cgroup) {
        cgroups.emplace();
    }
    write_text(*sink, render_table(snap, config, nullptr, names, cgroups ? &*cgroups : nullptr,
                                   monotonic_now_ns()));
    sink->flush();
    return exit_code::kOk;
}

}  // namespace tcpscope
