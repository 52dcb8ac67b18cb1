// The loader: owns the BPF skeleton from open to detach. The only module that
// sees the skeleton; callers get plain C++ types and exceptions.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/kernel_losses.h"
#include "core/listen_counts.h"
#include "core/socket_filter.h"

namespace tcpscope {

struct TracerOptions {
    std::uint32_t netns = 0;  // netns inode to trace, 0: all
    int family = 0;           // AF_INET / AF_INET6, 0: both
    std::vector<PortRule> ports;
    std::uint32_t pid = 0;  // owner tgid, 0: any
    // --cgroup: cgroup v2 directories whose subtrees select sockets (by the
    // owner's cgroup when it was learned); empty: any. At most 8.
    std::vector<std::string> cgroups;
    std::uint32_t max_sockets = 262144;
    std::uint32_t ringbuf_bytes = 16u << 20;
    // synfail: send only connect() outcomes (SYN_SENT->*), and with
    // connect_exit attach the connect() exit hook (tp_btf/sys_exit: a cost on
    // every syscall of the host) for failures before any SYN.
    bool synfail = false;
    bool connect_exit = false;
    // timewait: send only the FIN closes that leave a timewait socket
    // (FIN_WAIT2/CLOSING->CLOSE, no error), with the closer and the socket's
    // role; every other transition only updates the kernel's cache.
    bool timewait = false;
    // listen: the listen probes too (SYN-ACK retransmits, accept() exits, SYN
    // drops with the kernel's reason), counting per listener into maps.
    bool listen = false;
};

// Why the tracer could not start; the CLI maps each kind to an exit code.
enum class StartupFailure { NotPermitted, NoBtf, Unsupported, LoadFailed };

class StartupError : public std::runtime_error {
  public:
    StartupError(StartupFailure kind, const std::string& message)
        : std::runtime_error(message), kind_(kind) {}
    StartupFailure kind() const { return kind_; }

  private:
    StartupFailure kind_;
};

class Tracer {
  public:
    // Probes features, opens, configures, loads and attaches. Throws StartupError.
    explicit Tracer(const TracerOptions& options);
    ~Tracer();
    Tracer(const Tracer&) = delete;
    Tracer& operator=(const Tracer&) = delete;

    int events_fd() const;
    // One bpf() command on an object already held (the ring buffer's info):
    // true when the kernel answered. For probing what the process may drop.
    bool can_query() const;
    KernelLosses losses() const;
    // One line for the log: which programs are attached and how.
    std::string describe() const;

    // With options.listen: the per-listener counts so far (each queue_peak
    // since the last call), and the SYN drops by reason.
    std::vector<ListenerCounts> listener_counts();
    std::vector<SynDropCount> syn_drops() const;
    // Whether syn_drops() counts anything: the kernel names drop reasons (5.17+).
    bool counts_syn_drops() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Routes libbpf's own messages to spdlog at debug level (shown with -v).
void route_libbpf_logs_to_spdlog();

}  // namespace tcpscope
