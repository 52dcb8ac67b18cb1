// `tcpscope synfail` against the real kernel. Every scenario runs in
// namespaces of its own: a client namespace and, for failures that need a
// network, a router namespace joined to it by a veth pair. The tracer is
// filtered to the client namespace; each failure's reason, owner pid,
// timing and retransmissions are asserted, and successes must never show.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <liburing.h>

#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <thread>

#include "kernel/harness.h"

namespace tcpscope::ktest {
namespace {

using nlohmann::json;
using Events = std::vector<json>;

constexpr std::uint16_t kPort = 8080;
constexpr std::uint16_t kClosedPort = 9;

// Addresses seen from the client namespace.
constexpr const char* kHostUnreachable = "10.2.0.1";   // router: `unreachable` route
constexpr const char* kBlackholed = "10.3.0.1";        // router: `blackhole` route, SYNs vanish
constexpr const char* kNetUnreachable = "10.4.0.1";    // router: no route at all
constexpr const char* kLocalUnreachable = "10.5.0.1";  // client: `unreachable` route
constexpr const char* kLocalProhibited = "10.6.0.1";   // client: `prohibit` route

void run_or_throw(const std::string& command) {
    if (std::system(command.c_str()) != 0) {
        throw std::runtime_error("set-up failed: " + command);
    }
}

// Non-blocking connect: 0 when it went on in the background, else -errno.
int start_connect(int fd, const char* addr, std::uint16_t port) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    inet_pton(AF_INET, addr, &sin.sin_addr);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) == 0 || errno == EINPROGRESS) {
        return 0;
    }
    return -errno;
}

class SynfailTest : public ::testing::Test {
  protected:
    void SetUp() override {
        TCPSCOPE_REQUIRE_BPF();
        client_ = std::make_unique<NetNamespace>();
    }

    // The router namespace, its veth link to the client and the routes above.
    void add_router() {
        router_ = std::make_unique<NetNamespace>();
        const std::string c = client_->name();
        const std::string r = router_->name();
        run_or_throw("ip link add c0 netns " + c + " type veth peer name r0 netns " + r);
        run_or_throw("ip -n " + c + " addr add 10.1.0.2/24 dev c0 && ip -n " + c +
                     " link set c0 up && ip -n " + c + " route add default via 10.1.0.1");
        run_or_throw("ip -n " + r + " addr add 10.1.0.1/24 dev r0 && ip -n " + r +
                     " link set r0 up && ip netns exec " + r +
                     " sysctl -qw net.ipv4.ip_forward=1 net.ipv4.icmp_ratelimit=0");
        run_or_throw("ip -n " + r + " route add unreachable 10.2.0.0/24 && ip -n " + r +
                     " route add blackhole 10.3.0.0/24");
        // The router counts the SYNs it receives per destination: the
        // kernel's own count of retransmissions to compare with.
        for (const char* daddr : {kHostUnreachable, kBlackholed, kNetUnreachable}) {
            run_or_throw("ip netns exec " + r +
                         " iptables -t mangle -A PREROUTING -p tcp --syn -d " + daddr);
        }
        // Until the link is up and ARP answered, a first SYN may be dropped
        // and retransmitted: wait for the router's RST on a closed port.
        Child probe(*client_, [] {
            for (int i = 0; i < 200; ++i) {
                if (connect_to(AF_INET, "10.1.0.1", kClosedPort) == -ECONNREFUSED) {
                    return 0;
                }
                usleep(10'000);
            }
            return 1;
        });
        if (probe.wait() != 0) {
            throw std::runtime_error("the router does not answer");
        }
    }

    void start_tracer(std::vector<std::string> extra = {}) {
        std::vector<std::string> args = {"synfail", "--json", "--netns", client_->path()};
        args.insert(args.end(), extra.begin(), extra.end());
        tracer_ = std::make_unique<TracerProcess>(args);
        ASSERT_TRUE(tracer_->wait_ready()) << "tracer did not start";
    }

    // A peer listening on 127.0.0.1:kPort that takes one connection and
    // reads it to the end; returns once it listens.
    Child serve_one_connection() {
        Gate listening;
        Child server(*client_, [&] {
            int l = listen_on(AF_INET, "127.0.0.1", kPort);
            listening.open();
            read_until_eof(accept_one(l));
            return 0;
        });
        EXPECT_TRUE(listening.wait());
        return server;
    }

    // Stops the tracer; splits failure records from summary lines.
    void stop_tracer() {
        std::this_thread::sleep_for(std::chrono::milliseconds(150));
        run_ = tracer_->stop();
        EXPECT_EQ(run_.exit_status, 0) << run_.stderr_text;
        EXPECT_EQ(run_.summary["lost"], 0u) << run_.stderr_text;
        for (const auto& line : run_.events) {
            (line.contains("summary") ? summaries_ : failures_).push_back(line);
        }
        ASSERT_FALSE(summaries_.empty()) << run_.stdout_text;
        ASSERT_EQ(summaries_.back()["summary"], "total") << run_.stdout_text;
    }

    // One ephemeral port in the client namespace: a first connection holds it
    // and a second connect() to the same destination finds none (after its
    // socket went to SYN_SENT and back). Traced with `args`; returns the
    // connecting process.
    pid_t exhaust_the_only_port(std::vector<std::string> args) {
        EXPECT_EQ(client_->exec("sysctl -qw net.ipv4.ip_local_port_range=\"40000 40000\""), 0);
        start_tracer(std::move(args));
        Child server = serve_one_connection();
        Child client(*client_, [&] {
            int held = connect_to(AF_INET, "127.0.0.1", kPort);
            if (held < 0) {
                return 1;
            }
            int rc = connect_to(AF_INET, "127.0.0.1", kPort) == -EADDRNOTAVAIL ? 0 : 2;
            close(held);
            return rc;
        });
        const pid_t pid = client.pid();
        EXPECT_EQ(client.wait(), 0);
        EXPECT_EQ(server.wait(), 0);
        stop_tracer();
        return pid;
    }

    // The one failure record to daddr:dport.
    json failure_to(const std::string& daddr, int dport) {
        Events found;
        for (const auto& f : failures_) {
            if (f["daddr"] == daddr && f["dport"] == dport) {
                found.push_back(f);
            }
        }
        EXPECT_EQ(found.size(), 1u) << daddr << ":" << dport << " in\n" << run_.stdout_text;
        return found.empty() ? json::object() : found.front();
    }

    // SYNs (first and repeated) the router received for daddr.
    int syns_at_router(const std::string& daddr) {
        std::string rules =
            run_shell("ip netns exec " + router_->name() + " iptables-save -c -t mangle");
        std::smatch m;
        std::regex rule("\\[([0-9]+):[0-9]+\\] -A PREROUTING -d " + daddr + "/32 -p tcp");
        if (!std::regex_search(rules, m, rule)) {
            ADD_FAILURE() << "no SYN counter for " << daddr << " in\n" << rules;
            return -1;
        }
        return std::stoi(m[1]);
    }

    // syn_retrans is what the router saw repeated, whatever this kernel's
    // backoff (exponential before 6.5; tcp_syn_linear_timeouts since).
    void expect_retransmissions_seen_by_router(const json& f, const std::string& daddr) {
        EXPECT_EQ(f["syn_retrans"].get<int>(), syns_at_router(daddr) - 1) << f.dump();
    }

    // The total summary's entry for daddr:dport.
    json total_for(const std::string& daddr, int dport) {
        for (const auto& d : summaries_.back()["destinations"]) {
            if (d["daddr"] == daddr && d["dport"] == dport) {
                return d;
            }
        }
        ADD_FAILURE() << "no summary for " << daddr << ":" << dport << " in\n" << run_.stdout_text;
        return json::object();
    }

    std::unique_ptr<NetNamespace> client_;
    std::unique_ptr<NetNamespace> router_;
    std::unique_ptr<TracerProcess> tracer_;
    TracerRun run_;
    Events failures_;
    Events summaries_;
};

void expect_async(const json& f, pid_t pid, const char* reason) {
    EXPECT_EQ(f["reason"], reason) << f.dump();
    EXPECT_EQ(f["pid"], pid) << f.dump();
    EXPECT_EQ(f["sync"], false) << f.dump();
    EXPECT_TRUE(f["cookie"].is_number()) << f.dump();
    EXPECT_TRUE(f["sport"].is_number()) << f.dump();
    EXPECT_TRUE(f["saddr"].is_string()) << f.dump();
    EXPECT_TRUE(f["syn_sent_us"].is_number()) << f.dump();
    EXPECT_EQ(f["family"], 4) << f.dump();
}

// Over veth the router's ICMP error comes back while connect() still holds
// the socket lock: the kernel keeps it as a soft error, and the error to a
// retransmitted SYN (in the timer softirq) ends the attempt. Which SYN's
// error ends it depends on the kernel (5.10's router rate-limits its errors
// per peer more tightly): the time spent must agree with the retransmissions.
void expect_retransmissions_match_time(const json& f) {
    int retrans = f["syn_retrans"].get<int>();
    double ms = f["syn_sent_us"].get<double>() / 1000.0;
    EXPECT_LE(retrans, 2) << f.dump();
    if (retrans == 0) {
        EXPECT_LT(ms, 900.0) << f.dump();
    } else {
        // The retrans-th SYN left after 1 s, then 2 s (linear) or 3 s (doubling).
        EXPECT_GT(ms, 700.0 * retrans) << f.dump();
        EXPECT_LT(ms, 1000.0 * ((1 << retrans) - 1) + 400.0) << f.dump();
    }
}

TEST_F(SynfailTest, RefusedIsReportedOnceAndSuccessesNever) {
    start_tracer();
    Child server = serve_one_connection();
    Child client(*client_, [&] {
        int ok = connect_to(AF_INET, "127.0.0.1", kPort);
        if (ok < 0) {
            return 1;
        }
        close(ok);
        return connect_to(AF_INET, "127.0.0.1", kClosedPort) == -ECONNREFUSED ? 0 : 2;
    });
    pid_t pid = client.pid();
    ASSERT_EQ(client.wait(), 0);
    ASSERT_EQ(server.wait(), 0);
    stop_tracer();

    ASSERT_EQ(failures_.size(), 1u) << run_.stdout_text;
    json f = failure_to("127.0.0.1", kClosedPort);
    expect_async(f, pid, "ECONNREFUSED");
    EXPECT_EQ(f["syn_retrans"], 0);
    EXPECT_EQ(f["saddr"], "127.0.0.1");
    EXPECT_LT(f["syn_sent_us"].get<double>(), 100'000.0);

    json refused = total_for("127.0.0.1", kClosedPort);
    EXPECT_EQ(refused["attempts"], 1);
    EXPECT_EQ(refused["successes"], 0);
    EXPECT_EQ(refused["failures"], json({{"ECONNREFUSED", 1}}));
    EXPECT_TRUE(refused["syn_sent_p99_us"].is_number());
    json ok = total_for("127.0.0.1", kPort);
    EXPECT_EQ(ok["attempts"], 1);
    EXPECT_EQ(ok["successes"], 1);
    EXPECT_EQ(ok["failures"], json::object());
}

TEST_F(SynfailTest, TimeoutCountsTheSynRetransmissions) {
    add_router();
    ASSERT_EQ(client_->exec("sysctl -qw net.ipv4.tcp_syn_retries=1"), 0);
    start_tracer();
    Child client(*client_,
                 [&] { return connect_to(AF_INET, kBlackholed, kPort) == -ETIMEDOUT ? 0 : 1; });
    pid_t pid = client.pid();
    ASSERT_EQ(client.wait(), 0);
    stop_tracer();

    ASSERT_EQ(failures_.size(), 1u) << run_.stdout_text;
    json f = failure_to(kBlackholed, kPort);
    expect_async(f, pid, "ETIMEDOUT");
    // tcp_syn_retries=1: ETIMEDOUT at about 3 s, after retransmissions at
    // 1 s and 2 s (kernels with tcp_syn_linear_timeouts) or at 1 s only
    // (doubling from the first).
    expect_retransmissions_seen_by_router(f, kBlackholed);
    const bool linear = std::atoi(run_shell("ip netns exec " + client_->name() +
                                            " sysctl -n net.ipv4.tcp_syn_linear_timeouts "
                                            "2>/dev/null")
                                      .c_str()) > 0;
    EXPECT_EQ(f["syn_retrans"], linear ? 2 : 1) << f.dump();
    EXPECT_NEAR(f["syn_sent_us"].get<double>(), 3e6, 0.5e6) << f.dump();
    EXPECT_EQ(f["saddr"], "10.1.0.2");
}

TEST_F(SynfailTest, IcmpHostAndNetUnreachableFromTheRouter) {
    add_router();
    start_tracer();
    Child host(*client_, [&] {
        return connect_to(AF_INET, kHostUnreachable, kPort) == -EHOSTUNREACH ? 0 : 1;
    });
    Child net(*client_,
              [&] { return connect_to(AF_INET, kNetUnreachable, kPort) == -ENETUNREACH ? 0 : 1; });
    pid_t host_pid = host.pid();
    pid_t net_pid = net.pid();
    ASSERT_EQ(host.wait(), 0);
    ASSERT_EQ(net.wait(), 0);
    stop_tracer();

    ASSERT_EQ(failures_.size(), 2u) << run_.stdout_text;
    json h = failure_to(kHostUnreachable, kPort);
    expect_async(h, host_pid, "EHOSTUNREACH");
    expect_retransmissions_match_time(h);
    expect_retransmissions_seen_by_router(h, kHostUnreachable);
    json n = failure_to(kNetUnreachable, kPort);
    expect_async(n, net_pid, "ENETUNREACH");
    expect_retransmissions_match_time(n);
    expect_retransmissions_seen_by_router(n, kNetUnreachable);
    EXPECT_EQ(total_for(kNetUnreachable, kPort)["failures"], json({{"ENETUNREACH", 1}}));
}

// A client whose socket (made with the extra type flags) start() takes into
// SYN_SENT, closed wait_ms later while the SYN goes unanswered.
Child close_during_syn_sent(const NetNamespace& ns, int type_flags,
                            const std::function<bool(int)>& start, int wait_ms) {
    return Child(ns, [&] {
        int fd = socket(AF_INET, SOCK_STREAM | type_flags, 0);
        if (!start(fd)) {
            return 1;
        }
        usleep(wait_ms * 1000);
        close(fd);
        return 0;
    });
}

TEST_F(SynfailTest, CloseDuringSynSentIsCancelled) {
    add_router();
    start_tracer();
    constexpr int kWaitMs = 200;
    Child client = close_during_syn_sent(
        *client_, 0, [](int fd) { return start_connect(fd, kBlackholed, kPort) == 0; }, kWaitMs);
    pid_t pid = client.pid();
    ASSERT_EQ(client.wait(), 0);
    stop_tracer();

    ASSERT_EQ(failures_.size(), 1u) << run_.stdout_text;
    json f = failure_to(kBlackholed, kPort);
    expect_async(f, pid, "CANCELLED");
    EXPECT_NEAR(f["syn_sent_us"].get<double>(), kWaitMs * 1000.0, 50'000.0) << f.dump();
}

// Two ways into SYN_SENT that never return through connect(): a fast-open
// sendto() and io_uring's connect. Closed while the SYN goes unanswered,
// each is the process's own cancel, reported as such (a note waiting for a
// connect() exit would hold it back for good).
void expect_one_cancel_after(const Events& failures, pid_t pid, double wait_us) {
    ASSERT_EQ(failures.size(), 1u);
    const json& f = failures.front();
    EXPECT_EQ(f["reason"], "CANCELLED") << f.dump();
    EXPECT_EQ(f["pid"], pid) << f.dump();
    EXPECT_NEAR(f["syn_sent_us"].get<double>(), wait_us, 50'000.0) << f.dump();
}

sockaddr_in blackholed_address() {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(kPort);
    inet_pton(AF_INET, kBlackholed, &sin.sin_addr);
    return sin;
}

TEST_F(SynfailTest, FastOpenCloseDuringSynSentIsCancelled) {
    add_router();
    ASSERT_EQ(client_->exec("sysctl -qw net.ipv4.tcp_fastopen=1"), 0);
    start_tracer();
    constexpr int kWaitMs = 200;
    Child client = close_during_syn_sent(
        *client_, SOCK_NONBLOCK,
        [](int fd) {
            sockaddr_in to = blackholed_address();
            return sendto(fd, "x", 1, MSG_FASTOPEN, reinterpret_cast<sockaddr*>(&to), sizeof(to)) >=
                       0 ||
                   errno == EINPROGRESS;
        },
        kWaitMs);
    pid_t pid = client.pid();
    ASSERT_EQ(client.wait(), 0);
    stop_tracer();
    expect_one_cancel_after(failures_, pid, kWaitMs * 1000.0);
}

TEST_F(SynfailTest, IoUringConnectCloseDuringSynSentIsCancelled) {
    add_router();
    start_tracer();
    constexpr int kWaitMs = 200;
    Child client(*client_, [&] {
        io_uring ring{};
        if (io_uring_queue_init(4, &ring, 0) != 0) {
            return 1;
        }
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in to = blackholed_address();
        // The connect, cut short by a linked timeout: the socket stays in SYN_SENT.
        io_uring_sqe* connect = io_uring_get_sqe(&ring);
        io_uring_prep_connect(connect, fd, reinterpret_cast<sockaddr*>(&to), sizeof(to));
        connect->flags |= IOSQE_IO_LINK;
        io_uring_sqe_set_data64(connect, 1);
        __kernel_timespec timeout{0, kWaitMs * 1'000'000LL};
        io_uring_prep_link_timeout(io_uring_get_sqe(&ring), &timeout, 0);
        if (io_uring_submit(&ring) != 2) {
            return 2;
        }
        int connect_result = 1;
        for (int i = 0; i < 2; ++i) {
            io_uring_cqe* cqe = nullptr;
            if (io_uring_wait_cqe(&ring, &cqe) != 0) {
                return 3;
            }
            if (cqe->user_data == 1) {
                connect_result = cqe->res;
            }
            io_uring_cqe_seen(&ring, cqe);
        }
        close(fd);
        io_uring_queue_exit(&ring);
        return connect_result == -ECANCELED ? 0 : 10 + (-connect_result);
    });
    pid_t pid = client.pid();
    ASSERT_EQ(client.wait(), 0);
    stop_tracer();
    expect_one_cancel_after(failures_, pid, kWaitMs * 1000.0);
}

TEST_F(SynfailTest, KilledBySsIsAbortedAndStaysWithTheConnector) {
    add_router();
    start_tracer();
    Child client(*client_,
                 [&] { return connect_to(AF_INET, kBlackholed, kPort) == -ECONNABORTED ? 0 : 1; });
    pid_t pid = client.pid();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ASSERT_EQ(client_->exec("ss -K dst 10.3.0.1 >/dev/null 2>&1"), 0);
    ASSERT_EQ(client.wait(), 0);
    stop_tracer();

    ASSERT_EQ(failures_.size(), 1u) << run_.stdout_text;
    expect_async(failure_to(kBlackholed, kPort), pid, "ECONNABORTED");
}

TEST_F(SynfailTest, LocalRoutesFailConnectItselfAndAreMarkedSync) {
    ASSERT_EQ(client_->exec("ip route add unreachable 10.5.0.0/24 && "
                            "ip route add prohibit 10.6.0.0/24"),
              0);
    start_tracer();
    Child client(*client_, [&] {
        if (connect_to(AF_INET, kLocalUnreachable, kPort) != -EHOSTUNREACH) {
            return 1;
        }
        // A non-blocking connect fails just the same: no EINPROGRESS here.
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (start_connect(fd, kLocalProhibited, kPort) != -EACCES) {
            return 2;
        }
        close(fd);
        return 0;
    });
    pid_t pid = client.pid();
    ASSERT_EQ(client.wait(), 0);
    stop_tracer();

    ASSERT_EQ(failures_.size(), 2u) << run_.stdout_text;
    for (auto [daddr, reason] :
         {std::pair{kLocalUnreachable, "EHOSTUNREACH"}, std::pair{kLocalProhibited, "EACCES"}}) {
        json f = failure_to(daddr, kPort);
        EXPECT_EQ(f["reason"], reason) << f.dump();
        EXPECT_EQ(f["sync"], true) << f.dump();
        EXPECT_EQ(f["pid"], pid) << f.dump();
        EXPECT_EQ(f["family"], 4);
        EXPECT_TRUE(f["syn_sent_us"].is_null()) << f.dump();
        EXPECT_EQ(f["syn_retrans"], 0);
        EXPECT_TRUE(f["saddr"].is_null()) << f.dump();  // no route, no source
        EXPECT_TRUE(f["sport"].is_null()) << f.dump();
        EXPECT_TRUE(f["cookie"].is_null()) << f.dump();
        EXPECT_EQ(total_for(daddr, kPort)["attempts"], 1);
    }
}

TEST_F(SynfailTest, Ipv6RefusedAndLocalUnreachable) {
    ASSERT_EQ(client_->exec("ip -6 route add unreachable fd00:5::/64"), 0);
    start_tracer();
    Child client(*client_, [&] {
        bool ok = connect_to(AF_INET6, "::1", kClosedPort) == -ECONNREFUSED &&
                  connect_to(AF_INET6, "fd00:5::1", kPort) == -EHOSTUNREACH;
        return ok ? 0 : 1;
    });
    pid_t pid = client.pid();
    ASSERT_EQ(client.wait(), 0);
    stop_tracer();

    ASSERT_EQ(failures_.size(), 2u) << run_.stdout_text;
    json refused = failure_to("::1", kClosedPort);
    EXPECT_EQ(refused["reason"], "ECONNREFUSED");
    EXPECT_EQ(refused["family"], 6);
    EXPECT_EQ(refused["saddr"], "::1");
    EXPECT_EQ(refused["pid"], pid);
    EXPECT_EQ(refused["sync"], false);
    json sync = failure_to("fd00:5::1", kPort);
    EXPECT_EQ(sync["reason"], "EHOSTUNREACH");
    EXPECT_EQ(sync["family"], 6);
    EXPECT_EQ(sync["pid"], pid);
    EXPECT_EQ(sync["sync"], true);
    EXPECT_TRUE(sync["saddr"].is_null()) << sync.dump();
}

TEST_F(SynfailTest, PidFilterSelectsOneConnector) {
    ASSERT_EQ(client_->exec("ip route add unreachable 10.5.0.0/24"), 0);
    Gate go;
    auto fail_twice = [&] {
        if (!go.wait()) {
            return 1;
        }
        bool ok = connect_to(AF_INET, "127.0.0.1", kClosedPort) == -ECONNREFUSED &&
                  connect_to(AF_INET, kLocalUnreachable, kPort) == -EHOSTUNREACH;
        return ok ? 0 : 2;
    };
    Child chosen(*client_, fail_twice);
    Child other(*client_, fail_twice);
    pid_t pid = chosen.pid();
    start_tracer({"--pid", std::to_string(pid)});
    go.open();
    go.open();
    ASSERT_EQ(chosen.wait(), 0);
    ASSERT_EQ(other.wait(), 0);
    stop_tracer();

    ASSERT_EQ(failures_.size(), 2u) << run_.stdout_text;
    EXPECT_EQ(failure_to("127.0.0.1", kClosedPort)["pid"], pid);
    EXPECT_EQ(failure_to(kLocalUnreachable, kPort)["pid"], pid);
}

TEST_F(SynfailTest, NoSyncLeavesSyscallsAlone) {
    ASSERT_EQ(client_->exec("ip route add unreachable 10.5.0.0/24"), 0);
    start_tracer({"--no-sync"});
    Child client(*client_, [&] {
        bool ok = connect_to(AF_INET, kLocalUnreachable, kPort) == -EHOSTUNREACH &&
                  connect_to(AF_INET, "127.0.0.1", kClosedPort) == -ECONNREFUSED;
        return ok ? 0 : 1;
    });
    pid_t pid = client.pid();
    ASSERT_EQ(client.wait(), 0);
    stop_tracer();

    EXPECT_EQ(run_.stderr_text.find("sys_exit"), std::string::npos) << run_.stderr_text;
    ASSERT_EQ(failures_.size(), 1u) << run_.stdout_text;
    expect_async(failure_to("127.0.0.1", kClosedPort), pid, "ECONNREFUSED");
}

TEST_F(SynfailTest, NoFreePortIsASyncFailureNotACancel) {
    const pid_t pid = exhaust_the_only_port({});

    ASSERT_EQ(failures_.size(), 1u) << run_.stdout_text;
    json f = failure_to("127.0.0.1", kPort);
    EXPECT_EQ(f["reason"], "EADDRNOTAVAIL") << f.dump();
    EXPECT_EQ(f["sync"], true);
    EXPECT_EQ(f["pid"], pid);
    json total = total_for("127.0.0.1", kPort);
    EXPECT_EQ(total["attempts"], 2);
    EXPECT_EQ(total["successes"], 1);
}

// Without the connect() exit hook the same exhaustion shows as the socket's
// SYN_SENT -> CLOSE with no error and no port: EADDRNOTAVAIL, not CANCELLED.
TEST_F(SynfailTest, NoFreePortWithoutTheExitHookIsStillEaddrnotavail) {
    const pid_t pid = exhaust_the_only_port({"--no-sync"});

    ASSERT_EQ(failures_.size(), 1u) << run_.stdout_text;
    json f = failure_to("127.0.0.1", kPort);
    EXPECT_EQ(f["reason"], "EADDRNOTAVAIL") << f.dump();
    EXPECT_EQ(f["sync"], false);
    EXPECT_EQ(f["pid"], pid);
    EXPECT_EQ(total_for("127.0.0.1", kPort)["failures"], json({{"EADDRNOTAVAIL", 1}}));
}

TEST_F(SynfailTest, ReasonFilterAndIntervalSummaries) {
    ASSERT_EQ(client_->exec("ip route add unreachable 10.5.0.0/24"), 0);
    start_tracer({"--reason", "ECONNREFUSED", "--interval", "0.3"});
    Child client(*client_, [&] {
        bool ok = connect_to(AF_INET, "127.0.0.1", kClosedPort) == -ECONNREFUSED &&
                  connect_to(AF_INET, kLocalUnreachable, kPort) == -EHOSTUNREACH;
        return ok ? 0 : 1;
    });
    ASSERT_EQ(client.wait(), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    stop_tracer();

    ASSERT_EQ(failures_.size(), 1u) << run_.stdout_text;
    EXPECT_EQ(failures_[0]["reason"], "ECONNREFUSED");
    // The summaries count every attempt, printed or not.
    EXPECT_EQ(total_for(kLocalUnreachable, kPort)["failures"], json({{"EHOSTUNREACH", 1}}));
    std::uint64_t interval_attempts = 0;
    int intervals = 0;
    for (const auto& s : summaries_) {
        if (s["summary"] == "interval") {
            ++intervals;
            for (const auto& d : s["destinations"]) {
                interval_attempts += d["attempts"].get<std::uint64_t>();
            }
        }
    }
    EXPECT_GE(intervals, 2) << run_.stdout_text;
    EXPECT_EQ(interval_attempts, 2u) << "each attempt in exactly one interval";
}

TEST_F(SynfailTest, ThousandFastFailuresAmongThousandSuccesses) {
    constexpr int kFailingProcs = 4;
    constexpr int kFailuresEach = 250;
    constexpr int kSucceedingProcs = 2;
    constexpr int kSuccessesEach = 500;
    start_tracer();

    Gate listening;
    Child server(*client_, [&] {
        int l = listen_on(AF_INET, "127.0.0.1", kPort);
        listening.open();
        for (int i = 0; i < kSucceedingProcs * kSuccessesEach; ++i) {
            close(accept_one(l));
        }
        return 0;
    });
    ASSERT_TRUE(listening.wait());
    Gate go;
    std::vector<Child> children;
    std::map<pid_t, bool> failing;
    for (int p = 0; p < kFailingProcs + kSucceedingProcs; ++p) {
        bool fails = p < kFailingProcs;
        children.emplace_back(*client_, [&, fails] {
            if (!go.wait()) {
                return 1;
            }
            int n = fails ? kFailuresEach : kSuccessesEach;
            for (int i = 0; i < n; ++i) {
                int fd = connect_to(AF_INET, "127.0.0.1", fails ? kClosedPort : kPort);
                if (fails ? fd != -ECONNREFUSED : fd < 0) {
                    return 2;
                }
                if (fd >= 0) {
                    close(fd);
                }
            }
            return 0;
        });
        failing[children.back().pid()] = fails;
    }
    for (int p = 0; p < kFailingProcs + kSucceedingProcs; ++p) {
        go.open();
    }
    for (auto& c : children) {
        ASSERT_EQ(c.wait(), 0);
    }
    ASSERT_EQ(server.wait(), 0);
    // The kernel skips a few nested runs of the transition program in such a
    // storm; the backup program must have recovered every one.
    stop_tracer();
    RecordProperty("recursion_misses", std::to_string(run_.summary["recursion_misses"]));

    ASSERT_EQ(failures_.size(), static_cast<std::size_t>(kFailingProcs * kFailuresEach))
        << run_.stderr_text;
    std::map<pid_t, int> per_pid;
    double slowest_us = 0;
    for (const auto& f : failures_) {
        EXPECT_EQ(f["reason"], "ECONNREFUSED") << f.dump();
        EXPECT_EQ(f["dport"], kClosedPort) << f.dump();
        ++per_pid[f["pid"].get<pid_t>()];
        slowest_us = std::max(slowest_us, f["syn_sent_us"].get<double>());
    }
    EXPECT_EQ(per_pid.size(), static_cast<std::size_t>(kFailingProcs));
    for (const auto& [pid, fails] : failing) {
        EXPECT_EQ(per_pid[pid], fails ? kFailuresEach : 0) << "pid " << pid;
    }
    RecordProperty("slowest_failure_us", std::to_string(slowest_us));

    json refused = total_for("127.0.0.1", kClosedPort);
    EXPECT_EQ(refused["attempts"], kFailingProcs * kFailuresEach);
    EXPECT_EQ(refused["failures"], json({{"ECONNREFUSED", kFailingProcs * kFailuresEach}}));
    json ok = total_for("127.0.0.1", kPort);
    EXPECT_EQ(ok["failures"], json::object());
    EXPECT_EQ(ok["attempts"], kSucceedingProcs * kSuccessesEach);
    EXPECT_EQ(ok["successes"], kSucceedingProcs * kSuccessesEach);
}

}  // namespace
}  // namespace tcpscope::ktest
