// Kernel-test harness: private network namespaces, the real tcpscope binary
// as a child process, and forked peers that make TCP transitions inside the
// namespace.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tcpscope::ktest {

// Why real-kernel tests cannot run here, or empty when they can.
std::optional<std::string> bpf_unavailable_reason();
bool running_in_ci();

// Kernel tests fail under CI=true and skip elsewhere when BPF is unavailable.
#define TCPSCOPE_REQUIRE_BPF()                                        \
    do {                                                              \
        if (auto why = ::tcpscope::ktest::bpf_unavailable_reason()) { \
            if (::tcpscope::ktest::running_in_ci()) {                 \
                FAIL() << "CI=true and BPF is unavailable: " << *why; \
            } else {                                                  \
                GTEST_SKIP() << "BPF unavailable: " << *why;          \
            }                                                         \
        }                                                             \
    } while (0)

// `ip netns add` with lo up; deleted in the destructor, so a failing test
// cleans up too. Namespaces left by a crashed run are removed on the next.
class NetNamespace {
  public:
    NetNamespace();
    ~NetNamespace();
    NetNamespace(const NetNamespace&) = delete;
    NetNamespace& operator=(const NetNamespace&) = delete;

    const std::string& name() const { return name_; }
    std::string path() const { return "/run/netns/" + name_; }
    std::uint32_t inode() const;  // as tcpscope reports it (netns)
    // Runs `ip netns exec NAME sh -c CMD`; returns the exit status.
    int exec(const std::string& command) const;
    // Enters this namespace (in a forked child).
    void enter() const;

  private:
    std::string name_;
};

// A forked child running fn() inside a namespace; fn's return is its exit status.
class Child {
  public:
    Child(const NetNamespace& ns, std::function<int()> fn);
    ~Child();
    Child(Child&& other) noexcept : pid_(other.pid_) { other.pid_ = -1; }
    Child(const Child&) = delete;

    pid_t pid() const { return pid_; }
    // Exit status, or -1 if it died of a signal or the wait timed out.
    int wait(std::chrono::seconds timeout = std::chrono::seconds(30));

  private:
    pid_t pid_ = -1;
};

// One-shot cross-process signal over a pipe.
class Gate {
  public:
    Gate();
    ~Gate();
    void open();  // may be called in any process holding the gate
    bool wait(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

  private:
    int fds_[2] = {-1, -1};
};

struct TracerRun {
    std::vector<nlohmann::json> events;  // --json lines
    std::string stdout_text;
    std::string stderr_text;
    int exit_status = -1;
    std::map<std::string, std::uint64_t> summary;  // key=value pairs of the last summary line
};

// tcpscope as a child process, stdout and stderr captured.
class TracerProcess {
  public:
    // launcher: a command that runs tcpscope (exec'ing it, so the pid
    // stays), e.g. setpriv with other credentials.
    explicit TracerProcess(std::vector<std::string> args, std::vector<std::string> launcher = {});
    ~TracerProcess();

    // Waits for the "tracing" line on stderr; false if the tracer exited first.
    bool wait_ready(std::chrono::seconds timeout = std::chrono::seconds(30));
    // SIGINT, then collects everything.
    TracerRun stop();
    // Waits for it to exit by itself (e.g. --duration).
    TracerRun wait_exit(std::chrono::seconds timeout = std::chrono::seconds(60));
    pid_t pid() const { return pid_; }

  private:
    TracerRun collect(std::chrono::seconds timeout);

    pid_t pid_ = -1;
    int out_fd_ = -1;
    int err_fd_ = -1;
    std::string out_;
    std::string err_;
    std::thread out_reader_;
    std::thread err_reader_;
};

std::string tcpscope_binary();

// The running kernel's release is at least major.minor (uname -r). Only for
// asserting which kernels get a degraded feature; the tool itself probes.
bool kernel_at_least(int major, int minor);

// CapEff/CapPrm (as /proc/PID/status prints them) a tracing command keeps
// after attach: none, or CAP_BPF alone where the kernel refuses bpf() on fds
// already held without it (before 5.19, with kernel.unprivileged_bpf_disabled).
std::string capabilities_kept_after_attach();

// stdout of a shell command (sh -c), whatever its exit status.
std::string run_shell(const std::string& command);

// The user tcpscope switches to after attach by default (`tcpscope`, else
// `nobody`), and a fresh directory (under /tmp) it owns, for output files
// it must rotate or reopen after the switch. The caller removes it.
struct TracerAccount {
    uid_t uid = 0;
    gid_t gid = 0;
};
TracerAccount tracer_account();

// A fresh cgroup (v2) of the test's own under the host's cgroup2 mount
// (mounted at a temporary directory where none is), removed at the end.
class TestCgroup {
  public:
    TestCgroup();
    ~TestCgroup();
    TestCgroup(const TestCgroup&) = delete;
    TestCgroup& operator=(const TestCgroup&) = delete;
    // Its path as tcpscope reports it: relative to the cgroup2 root.
    const std::string& path() const { return relative_; }
    // Moves the calling process into it (call it in a Child); false on failure.
    bool enter() const;

  private:
    std::string dir_;
    std::string relative_;
};
std::string directory_owned_by_tracer();
// A file's whole content, byte for byte ("" when it cannot be read).
std::string read_file(const std::string& path);

// tcpscope run to its exit as the tracer's account with no capabilities:
// what a replay (-r) needs, and that account owns the recordings (0600).
TracerRun run_as_tracer_account(std::vector<std::string> args);

// Socket helpers for forked peers. They abort the child (exit 100+) on error,
// which the test sees as a non-zero exit status.
// SO_REUSEADDR always; SO_REUSEPORT when asked (one listener per worker).
int listen_on(int family, const char* addr, std::uint16_t port, bool reuseport = false);
int connect_to(int family, const char* addr, std::uint16_t port);  // blocking; -errno on failure
// A non-blocking connect() left in progress (exit 110 on another error).
int connect_nonblocking(int family, const char* addr, std::uint16_t port);
// connect_to() then close(): 0, or 1 when the connect failed (a Child's exit code).
int connect_and_close(int family, const char* addr, std::uint16_t port);
int accept_one(int listener);
void set_linger_zero(int fd);
void read_until_eof(int fd);

// A peer that listens, accepts one connection, reads until the client closes,
// then closes it and the listener. Returns once it is listening.
// What the server does first, in its own process (enter a cgroup, say:
// false fails it), and a gate it waits for before accepting.
struct ServerSetup {
    std::function<bool()> first;
    Gate* accept_after = nullptr;
};
Child serve_one_until_eof(const NetNamespace& ns, int family, const char* addr, std::uint16_t port,
                          const ServerSetup& setup = {});
// A client that enters the cgroup, then connect_and_close() (exit 9: could not enter).
Child connect_and_close_from(const NetNamespace& ns, const TestCgroup& cgroup, int family,
                             const char* addr, std::uint16_t port);

// Events of one socket, in order.
std::map<std::uint64_t, std::vector<nlohmann::json>> by_cookie(
    const std::vector<nlohmann::json>& events);
// "CLOSE->SYN_SENT" style sequence of one socket's events.
std::vector<std::string> sequence_of(const std::vector<nlohmann::json>& socket_events);

}  // namespace tcpscope::ktest
