#include "cli/run_netstat.h"

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "cli/exit_codes.h"
#include "cli/netns_path.h"
#include "cli/privileges.h"
#include "cli/run_trace.h"
#include "cli/stop_signal.h"
#include "cli/system_names.h"
#include "core/churn.h"
#include "core/socket_table.h"
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
                         const SocketTable* table, NameLookup& names) {
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
    for (const NetstatRow& row :
         netstat_rows(snap.sockets, config.flags, table, monotonic_now_ns())) {
        out += netstat_row(row, config.flags, names, programs ? &*programs : nullptr);
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
// reconciles the table against a fresh listing and counts what it corrected.
class ContinuousNetstat {
  public:
    ContinuousNetstat(const NetstatConfig& config, std::uint32_t netns,
                      const std::optional<std::string>& netns_path)
        : config_(config),
          netns_(netns),
          tracer_(make_options(config, netns)),
          table_(config.tuning.max_sockets),
          diag_(netns_path),
          source_(tracer_.events_fd(), [this](const Transition& t) { on_transition(t); }) {}

    int run(LineSink& sink) {
        // Attached, and the listing socket is open: nothing below needs a
        // capability, except -p reading other users' /proc/PID/fd.
        if (!config_.flags.programs) {
            drop_all_capabilities(probe_bpf_after_drop([this] { return tracer_.can_query(); }));
        }
        ReconcileResult seeded;
        Snapshot snap = refresh(seeded);
        spdlog::info("tracing TCP state transitions in netns {}; {} sockets seeded; {}", netns_,
                     seeded.added, tracer_.describe());

        const auto interval = std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double>(*config_.interval_s));
        auto next = Clock::now();
        std::uint32_t tables = 0;
        for (;;) {
            if (tables > 0) {
                snap = refresh(corrections_);
            }
            write_text(sink, render_table(snap, config_, &table_, names_));
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
        spdlog::info("tables={} corrections={} (added={} removed={} fixed={}) {}", tables,
                     corrections_.total(), corrections_.added, corrections_.removed,
                     corrections_.fixed,
                     loss_summary(events_, tracer_.losses(), source_.malformed(), table_));
        return exit_code::kOk;
    }

  private:
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
        if (applied.closed) {
            closed_[t.cookie] = ClosedSocket::of(t, *applied.closed);
        }
        churn_.observe(t, known, applied);
    }

    // Closes before a listing began are settled by it: their TIME_WAIT
    // successors were listed or are gone. Later ones wait for the next listing.
    void forget_closes_before(std::uint64_t listed_at_ns) {
        std::erase_if(closed_, [&](const auto& kv) { return kv.second.closed_ns <= listed_at_ns; });
    }

    // A listing newer than the stream for some sockets, older for others:
    // drain before and after the dump so events during it protect their
    // sockets, and drop listed sockets the stream saw close after the dump
    // began. A TIME_WAIT socket that follows a close we saw is expected, not
    // a correction. What reconciliation changed is added to `changes`.
    Snapshot refresh(ReconcileResult& changes) {
        source_.drain();
        Snapshot snap = take_snapshot(diag_, config_.family, config_.flags.timers);
        source_.drain();
        std::vector<ListedSocket> current;
        current.reserve(snap.sockets.size());
        std::uint64_t expected = 0;
        for (const ListedSocket& s : snap.sockets) {
            auto closed = closed_.find(s.cookie);
            if (closed != closed_.end()) {
                if (!s.is_timewait && closed->second.closed_ns > snap.listed_at_ns) {
                    continue;
                }
                if (s.is_timewait && table_.find(s.cookie) == nullptr) {
                    ++expected;
                }
            }
            current.push_back(s);
        }
        ReconcileResult r = table_.reconcile(current, netns_, snap.listed_at_ns);
        r.added -= std::min(r.added, expected);
        // TIME_WAIT sockets keep the owner of the socket they continue.
        for (const ListedSocket& s : current) {
            if (auto closed = closed_.find(s.cookie); s.is_timewait && closed != closed_.end()) {
                table_.continue_closed(closed->second);
            }
        }
        changes.added += r.added;
        changes.removed += r.removed;
        changes.fixed += r.fixed;
        if (r.total() > 0) {
            spdlog::debug("reconciliation changed {} (added={} removed={} fixed={})", r.total(),
                          r.added, r.removed, r.fixed);
        }
        forget_closes_before(snap.listed_at_ns);
        return snap;
    }

    const NetstatConfig& config_;
    std::uint32_t netns_;
    Tracer tracer_;
    SocketTable table_;
    SockDiag diag_;
    ChurnTracker churn_;
    SystemNames names_;
    std::unordered_map<std::uint64_t, ClosedSocket> closed_;  // by cookie
    ReconcileResult corrections_;
    std::uint64_t events_ = 0;
    RingSource source_;
};

}  // namespace

int run_command(const NetstatConfig& config) {
    std::optional<std::string> path;
    std::uint32_t netns = 0;
    if (config.netns) {
        netns = resolve_netns(*config.netns);
        if (netns != current_netns_inode()) {
            path = netns_path_for(*config.netns);
        }
    } else {
        netns = current_netns_inode();
    }
    std::unique_ptr<LineSink> sink = make_stdout_sink();
    if (config.interval_s) {
        ContinuousNetstat continuous(config, netns, path);
        return continuous.run(*sink);
    }
    // One table: a snapshot, no BPF. A live table seeded from it would know
    // no ages or owners, so it is skipped and those columns print '-'.
    SockDiag diag(path);
    Snapshot snap = take_snapshot(diag, config.family, config.flags.timers);
    SystemNames names;
    write_text(*sink, render_table(snap, config, nullptr, names));
    sink->flush();
    return exit_code::kOk;
}

}  // namespace tcpscope
