#include "kernel/tracer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstddef>
#include <cstring>
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kernel/feature_probe.h"
#include "tcpscope.skel.h"
#include "tcpscope/event.h"
#include "tcpscope/listen.h"

namespace tcpscope {
namespace {

struct SkeletonDeleter {
    void operator()(tcpscope_bpf* skel) const { tcpscope_bpf__destroy(skel); }
};
using SkeletonPtr = std::unique_ptr<tcpscope_bpf, SkeletonDeleter>;

struct LinkDeleter {
    void operator()(bpf_link* link) const { bpf_link__destroy(link); }
};
using LinkPtr = std::unique_ptr<bpf_link, LinkDeleter>;

std::string errno_text(int err) {
    return std::strerror(err < 0 ? -err : err);
}

std::uint8_t side_bits(PortSide side) {
    switch (side) {
        case PortSide::Local:
            return TCPSCOPE_PORT_LOCAL;
        case PortSide::Remote:
            return TCPSCOPE_PORT_REMOTE;
        case PortSide::Either:
            break;
    }
    return TCPSCOPE_PORT_EITHER;
}

int libbpf_to_spdlog(enum libbpf_print_level level, const char* format, va_list args) {
    if (!spdlog::should_log(spdlog::level::debug)) {
        return 0;
    }
    // The verifier log arrives as one message of many kilobytes: size it first.
    va_list measure;
    va_copy(measure, args);
    int n = std::vsnprintf(nullptr, 0, format, measure);
    va_end(measure);
    if (n <= 0) {
        return 0;
    }
    std::string buffer(static_cast<std::size_t>(n) + 1, '\0');
    std::vsnprintf(buffer.data(), buffer.size(), format, args);
    std::string_view text(buffer.data(), static_cast<std::size_t>(n));
    while (!text.empty() && text.back() == '\n') {
        text.remove_suffix(1);
    }
    if (text.starts_with("libbpf: ")) {
        text.remove_prefix(8);
    }
    spdlog::debug("libbpf{}: {}", level == LIBBPF_WARN ? " warning" : "", text);
    return 0;
}

}  // namespace

void route_libbpf_logs_to_spdlog() {
    libbpf_set_print(libbpf_to_spdlog);
}

struct Tracer::Impl {
    SkeletonPtr skel;
    std::vector<LinkPtr> links;
    std::vector<bpf_program*> attached;
    std::uint64_t unrecovered_reported = 0;  // see losses()
    std::map<std::uint32_t, std::string> drop_reasons;
    bool counts_syn_drops = false;

    void attach(bpf_program* prog) {
        bpf_link* link = bpf_program__attach(prog);
        if (link == nullptr) {
            int err = errno;
            auto kind = err == EPERM || err == EACCES ? StartupFailure::NotPermitted
                                                      : StartupFailure::Unsupported;
            throw StartupError(kind, fmt::format("attaching {} failed: {}",
                                                 bpf_program__section_name(prog), errno_text(err)));
        }
        links.emplace_back(link);
        attached.push_back(prog);
    }
};

Tracer::Tracer(const TracerOptions& options) : impl_(std::make_unique<Impl>()) {
    require_bpf_privileges();
    KernelFeatures features = probe_kernel_features();
    require_features(features);

    impl_->skel.reset(tcpscope_bpf__open());
    if (!impl_->skel) {
        throw StartupError(StartupFailure::LoadFailed,
                           "opening the BPF object failed: " + errno_text(errno));
    }
    tcpscope_bpf* skel = impl_->skel.get();

    auto* rodata = skel->rodata;
    rodata->filter_netns = options.netns;
    rodata->filter_family = static_cast<__u16>(options.family);
    rodata->filter_ports = !options.ports.empty();
    rodata->filter_pid = options.pid;
    if (options.cgroups.size() > 8) {
        throw StartupError(StartupFailure::Unsupported, "--cgroup: at most 8 subtrees");
    }
    rodata->filter_cgroups = static_cast<__u32>(options.cgroups.size());
    const bool connect_exit = options.synfail && options.connect_exit;
    rodata->synfail_mode = options.synfail;
    rodata->synfail_sync = connect_exit;
    rodata->timewait_mode = options.timewait && !options.synfail;
    rodata->connect_syscall_nr = SYS_connect;
    rodata->have_socket_cookie = features.has_socket_cookie;
    if (!features.has_socket_cookie) {
        spdlog::warn(
            "kernel gives tracing programs no socket cookies (before 5.12): sockets get "
            "tcpscope's own ids, and reconciliation matches them by address");
    }
    // The connect() exit hook runs on every syscall exit: load it only when used.
    bpf_program__set_autoload(skel->progs.on_sys_exit, connect_exit);
#ifdef SYS_accept
    rodata->accept_syscall_nr = SYS_accept;
#endif
    rodata->accept4_syscall_nr = SYS_accept4;
    impl_->drop_reasons = features.drop_reasons;
    impl_->counts_syn_drops = options.listen && !features.drop_reasons.empty();
    bpf_program__set_autoload(skel->progs.on_retransmit_synack, options.listen);
    bpf_program__set_autoload(skel->progs.on_accept_exit, options.listen);
    bpf_program__set_autoload(skel->progs.on_kfree_skb, impl_->counts_syn_drops);
    if (options.listen && !impl_->counts_syn_drops) {
        spdlog::warn(
            "kernel names no drop reasons (before 5.17): SYNs dropped or refused are not "
            "counted by port and reason; per-listener drops still are");
    }
    // Wake the consumer early only when a quarter of the ring is waiting;
    // otherwise it drains on its own short timer.
    rodata->wakeup_bytes = options.ringbuf_bytes / 4;

    if (int err = bpf_map__set_max_entries(skel->maps.events, options.ringbuf_bytes); err != 0) {
        throw StartupError(StartupFailure::LoadFailed,
                           "ring buffer size rejected: " + errno_text(err));
    }

    if (int err = bpf_map__set_max_entries(skel->maps.sockets, options.max_sockets); err != 0) {
        throw StartupError(StartupFailure::LoadFailed,
                           "socket cache size rejected: " + errno_text(err));
    }

    if (int err = tcpscope_bpf__load(skel); err != 0) {
        auto kind = err == -EPERM || err == -EACCES ? StartupFailure::NotPermitted
                                                    : StartupFailure::LoadFailed;
        throw StartupError(kind, "loading the BPF programs failed: " + errno_text(err) +
                                     " (run with -v for the verifier log)");
    }

    for (const PortRule& rule : options.ports) {
        __u16 key = rule.port;
        __u8 value = 0;
        bpf_map__lookup_elem(skel->maps.port_filter, &key, sizeof(key), &value, sizeof(value), 0);
        value |= side_bits(rule.side);
        if (bpf_map__update_elem(skel->maps.port_filter, &key, sizeof(key), &value, sizeof(value),
                                 BPF_ANY) != 0) {
            throw StartupError(StartupFailure::LoadFailed,
                               "setting the port filter failed: " + errno_text(errno));
        }
    }

    for (std::size_t i = 0; i < options.cgroups.size(); ++i) {
        const std::string& dir = options.cgroups[i];
        int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        __u32 slot = static_cast<__u32>(i);
        __u32 value = static_cast<__u32>(fd);
        const bool stored =
            fd >= 0 && bpf_map__update_elem(skel->maps.cgroup_filter, &slot, sizeof(slot), &value,
                                            sizeof(value), BPF_ANY) == 0;
        const int error = errno;
        if (fd >= 0) {
            close(fd);  // the map holds the cgroup itself
        }
        if (!stored) {
            throw std::invalid_argument("--cgroup " + dir + ": not a cgroup v2 directory (" +
                                        errno_text(-error) + ")");
        }
    }

    // The context flag must be live before the first transition is judged.
    // Exit first: attached the other way round, a softirq running between the
    // two attachments (each waits for an RCU grace period) leaves its CPU's
    // flag set until that CPU's next softirq, and process-context transitions
    // there lose their owner. The backup must come after the main program:
    // tracepoint probes run in attach order, and the backup checks what the
    // main one recorded.
    impl_->attach(skel->progs.on_softirq_exit);
    impl_->attach(skel->progs.on_softirq_entry);
    impl_->attach(skel->progs.on_inet_sock_set_state);
    impl_->attach(skel->progs.recover_inet_sock_set_state);
    if (connect_exit) {
        impl_->attach(skel->progs.on_sys_exit);
    }
    if (options.listen) {
        impl_->attach(skel->progs.on_retransmit_synack);
        impl_->attach(skel->progs.on_accept_exit);
        if (impl_->counts_syn_drops) {
            impl_->attach(skel->progs.on_kfree_skb);
        }
    }
}

Tracer::~Tracer() = default;

int Tracer::events_fd() const {
    return bpf_map__fd(impl_->skel->maps.events);
}

bool Tracer::can_query() const {
    bpf_map_info info{};
    __u32 len = sizeof(info);
    return bpf_obj_get_info_by_fd(events_fd(), &info, &len) == 0;
}

namespace {

// A counter the tool cannot read is an error, never a 0 that hides losses.
__u64 sum_per_cpu(bpf_map* map, __u32 slot) {
    int ncpus = libbpf_num_possible_cpus();
    if (ncpus <= 0) {
        throw std::runtime_error("reading the BPF counters failed: cannot count possible CPUs");
    }
    std::vector<__u64> per_cpu(static_cast<std::size_t>(ncpus));
    if (bpf_map__lookup_elem(map, &slot, sizeof(slot), per_cpu.data(),
                             per_cpu.size() * sizeof(__u64), 0) != 0) {
        throw std::runtime_error("reading the BPF counters failed: " + errno_text(errno));
    }
    __u64 total = 0;
    for (__u64 v : per_cpu) {
        total += v;
    }
    return total;
}

__u64 recursion_misses_of(bpf_program* prog) {
    bpf_prog_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) != 0) {
        throw std::runtime_error("reading BPF program info failed: " + errno_text(errno));
    }
    // Kernels whose bpf_prog_info stops before recursion_misses (before 5.12)
    // have no recursion guard on tracepoint programs either: a nested
    // transition runs the program nested instead of being skipped, so none
    // was missed.
    if (len < offsetof(bpf_prog_info, recursion_misses) + sizeof(info.recursion_misses)) {
        return 0;
    }
    return info.recursion_misses;
}

}  // namespace

KernelLosses Tracer::losses() const {
    KernelLosses out;
    tcpscope_bpf* skel = impl_->skel.get();
    out.ringbuf_full = sum_per_cpu(skel->maps.counters, TCPSCOPE_CNT_RINGBUF_FULL);
    // Misses before recoveries: the kernel counts a miss before the backup
    // program recovers it, so read the other way round a miss recovered
    // between the two reads would pass for a loss.
    for (bpf_program* prog : impl_->attached) {
        if (prog == skel->progs.on_inet_sock_set_state) {
            out.recursion_misses += recursion_misses_of(prog);
        } else {
            out.other_misses += recursion_misses_of(prog);
        }
    }
    out.recovered = sum_per_cpu(skel->maps.counters, TCPSCOPE_CNT_RECOVERED);
    keep_unrecovered_monotonic(out, impl_->unrecovered_reported);
    return out;
}

std::vector<ListenerCounts> Tracer::listener_counts() {
    bpf_map* map = impl_->skel->maps.listener_stats;
    // Peaks of this epoch are the ones since the last read; the next read
    // takes those of the next. An accept() between the reads and the move
    // lands in the old epoch: its peak is lost (the listings still see it).
    volatile __u32& epoch = impl_->skel->bss->listen_epoch;
    const __u32 reading = epoch;
    std::vector<ListenerCounts> out;
    __u64 key = 0;
    __u64* previous = nullptr;
    while (bpf_map__get_next_key(map, previous, &key, sizeof(key)) == 0) {
        previous = &key;
        tcpscope_listener_stats stats{};
        if (bpf_map__lookup_elem(map, &key, sizeof(key), &stats, sizeof(stats), 0) != 0) {
            continue;  // removed meanwhile
        }
        ListenerCounts c;
        c.cookie = key;
        c.netns = stats.netns;
        c.synack_retrans = stats.synack_retrans;
        c.accepted = stats.accepted;
        c.waited = stats.waited;
        c.wait_ns_total = stats.wait_ns_total;
        static_assert(kWaitSlots == TCPSCOPE_WAIT_SLOTS);
        std::copy(std::begin(stats.wait_slots), std::end(stats.wait_slots), c.wait_slots.begin());
        c.queue_peak = stats.peak_epoch == reading ? stats.queue_peak : 0;
        out.push_back(c);
    }
    epoch = reading + 1;
    return out;
}

std::vector<SynDropCount> Tracer::syn_drops() const {
    bpf_map* map = impl_->skel->maps.syn_drops;
    std::vector<SynDropCount> out;
    tcpscope_syn_drop_key key{};
    tcpscope_syn_drop_key* previous = nullptr;
    while (bpf_map__get_next_key(map, previous, &key, sizeof(key)) == 0) {
        previous = &key;
        __u64 count = 0;
        if (bpf_map__lookup_elem(map, &key, sizeof(key), &count, sizeof(count), 0) != 0) {
            continue;
        }
        SynDropCount d;
        d.netns = key.netns;
        d.daddr.family = key.family;
        std::memcpy(d.daddr.bytes.data(), key.daddr, key.family == AF_INET6 ? 16 : 4);
        d.dport = key.dport;
        auto name = impl_->drop_reasons.find(key.reason);
        d.reason = name != impl_->drop_reasons.end() ? name->second : std::to_string(key.reason);
        d.count = count;
        out.push_back(std::move(d));
    }
    return out;
}

bool Tracer::counts_syn_drops() const {
    return impl_->counts_syn_drops;
}

std::string Tracer::describe() const {
    const auto& attached = impl_->attached;
    bool connect_exit = std::find(attached.begin(), attached.end(),
                                  impl_->skel->progs.on_sys_exit) != attached.end();
    return fmt::format(
        "{} programs attached (tp_btf: inet_sock_set_state main and backup, softirq_entry, "
        "softirq_exit{}){}",
        attached.size(), connect_exit ? ", sys_exit for connect() failures" : "",
        impl_->skel->rodata->timewait_mode ? "; in-kernel filter: TIME_WAIT births only" : "");
}

}  // namespace tcpscope
