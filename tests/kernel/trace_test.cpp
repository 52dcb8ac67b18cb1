// `tcpscope trace` against the real kernel: each scenario runs in its own
// network namespace with the tracer filtered to it, and the exact per-socket
// transition sequence, owner pid, error and durations are asserted.
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <thread>

#include "kernel/harness.h"

namespace tcpscope::ktest {
namespace {

using nlohmann::json;
using Events = std::vector<json>;
using Sequence = std::vector<std::string>;

constexpr std::uint16_t kPort = 8080;

struct Family {
    int af;
    const char* addr;
};
void PrintTo(const Family& f, std::ostream* os) {
    *os << f.addr;
}
constexpr Family kV4{AF_INET, "127.0.0.1"};
constexpr Family kV6{AF_INET6, "::1"};

class TraceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        TCPSCOPE_REQUIRE_BPF();
        ns_ = std::make_unique<NetNamespace>();
    }

    void start_tracer(std::vector<std::string> extra = {}) {
        std::vector<std::string> args = {"trace", "--json", "--netns", ns_->path()};
        args.insert(args.end(), extra.begin(), extra.end());
        tracer_ = std::make_unique<TracerProcess>(args);
        ASSERT_TRUE(tracer_->wait_ready()) << "tracer did not start";
    }

    TracerRun stop_tracer() {
        // Let the tracer's 20 ms drain pick up the last records.
        std::this_thread::sleep_for(std::chrono::milliseconds(150));
        TracerRun run = tracer_->stop();
        EXPECT_EQ(run.exit_status, 0) << run.stderr_text;
        EXPECT_EQ(run.summary["lost"], 0u) << run.stderr_text;
        EXPECT_EQ(run.summary["history_gaps"], 0u) << run.stderr_text;
        // These tests check what the kernel reported; the TIME_WAIT
        // transitions userspace infers are checked in timewait_test.cpp.
        std::erase_if(run.events, [](const json& e) { return e.contains("inferred"); });
        return run;
    }

    std::unique_ptr<NetNamespace> ns_;
    std::unique_ptr<TracerProcess> tracer_;
};

// The one socket whose first transition is `first`.
Events socket_starting_with(const TracerRun& run, const std::string& first) {
    Events found;
    int matches = 0;
    for (auto& [cookie, events] : by_cookie(run.events)) {
        if (sequence_of(events).front() == first) {
            found = events;
            ++matches;
        }
    }
    EXPECT_EQ(matches, 1) << "sockets starting with " << first << " in:\n" << run.stdout_text;
    return found;
}

void expect_owner(const Events& events, pid_t pid) {
    for (const auto& e : events) {
        EXPECT_EQ(e["pid"], pid) << e.dump();
    }
}

void expect_durations_known_after_first(const Events& events) {
    ASSERT_FALSE(events.empty());
    EXPECT_TRUE(events.front()["dur_us"].is_null()) << "first sight of a socket has no duration";
    for (std::size_t i = 1; i < events.size(); ++i) {
        ASSERT_TRUE(events[i]["dur_us"].is_number()) << events[i].dump();
        EXPECT_GE(events[i]["dur_us"].get<double>(), 0.0);
        // The duration is the gap between this transition and the previous one.
        double gap_us =
            (events[i]["ts_ns"].get<double>() - events[i - 1]["ts_ns"].get<double>()) / 1000.0;
        EXPECT_NEAR(events[i]["dur_us"].get<double>(), gap_us, 1.0) << events[i].dump();
    }
}

class TraceFamilyTest : public TraceTest, public ::testing::WithParamInterface<Family> {};

TEST_P(TraceFamilyTest, ClientClosesFirstBothSides) {
    start_tracer();
    const Family fam = GetParam();
    Child server = serve_one_until_eof(*ns_, fam.af, fam.addr, kPort);
    Child client(*ns_, [&] {
        int fd = connect_to(fam.af, fam.addr, kPort);
        if (fd < 0) {
            return 1;
        }
        close(fd);
        return 0;
    });
    pid_t client_pid = client.pid();
    pid_t server_pid = server.pid();
    ASSERT_EQ(client.wait(), 0);
    ASSERT_EQ(server.wait(), 0);
    TracerRun run = stop_tracer();

    ASSERT_EQ(run.events.size(), 12u) << run.stdout_text;
    Events c = socket_starting_with(run, "CLOSE->SYN_SENT");
    EXPECT_EQ(sequence_of(c),
              (Sequence{"CLOSE->SYN_SENT", "SYN_SENT->ESTABLISHED", "ESTABLISHED->FIN_WAIT1",
                        "FIN_WAIT1->FIN_WAIT2", "FIN_WAIT2->CLOSE"}));
    expect_owner(c, client_pid);
    expect_durations_known_after_first(c);

    Events s = socket_starting_with(run, "LISTEN->SYN_RECV");
    EXPECT_EQ(sequence_of(s),
              (Sequence{"LISTEN->SYN_RECV", "SYN_RECV->ESTABLISHED", "ESTABLISHED->CLOSE_WAIT",
                        "CLOSE_WAIT->LAST_ACK", "LAST_ACK->CLOSE"}));
    expect_owner(s, server_pid);
    expect_durations_known_after_first(s);

    Events l = socket_starting_with(run, "CLOSE->LISTEN");
    EXPECT_EQ(sequence_of(l), (Sequence{"CLOSE->LISTEN", "LISTEN->CLOSE"}));
    expect_owner(l, server_pid);

    // The tuple: the client's port is unknown at connect(), then matches the
    // server side's remote port; addresses and family as used.
    EXPECT_TRUE(c[0]["sport"].is_null());
    int client_port = c[1]["sport"].get<int>();
    EXPECT_GT(client_port, 0);
    for (const auto& e : s) {
        EXPECT_EQ(e["sport"], kPort);
        EXPECT_EQ(e["dport"], client_port);
        EXPECT_EQ(e["saddr"], fam.addr);
        EXPECT_EQ(e["daddr"], fam.addr);
        EXPECT_EQ(e["family"], fam.af == AF_INET ? 4 : 6);
    }
    for (std::size_t i = 1; i < c.size(); ++i) {
        EXPECT_EQ(c[i]["sport"], client_port);
        EXPECT_EQ(c[i]["dport"], kPort);
    }
    for (const auto& e : run.events) {
        EXPECT_TRUE(e["error"].is_null()) << e.dump();
    }
}

INSTANTIATE_TEST_SUITE_P(Families, TraceFamilyTest, ::testing::Values(kV4, kV6),
                         [](const auto& info) {
                             return info.param.af == AF_INET ? "IPv4" : "IPv6";
                         });

TEST_F(TraceTest, ServerClosesFirst) {
    start_tracer();
    Gate listening;
    Child server(*ns_, [&] {
        int l = listen_on(AF_INET, "127.0.0.1", kPort);
        listening.open();
        int c = accept_one(l);
        close(c);
        usleep(100'000);  // let the client's FIN come back before the listener goes
        close(l);
        return 0;
    });
    ASSERT_TRUE(listening.wait());
    Child client(*ns_, [&] {
        int fd = connect_to(AF_INET, "127.0.0.1", kPort);
        if (fd < 0) {
            return 1;
        }
        read_until_eof(fd);
        close(fd);
        return 0;
    });
    pid_t client_pid = client.pid();
    pid_t server_pid = server.pid();
    ASSERT_EQ(client.wait(), 0);
    ASSERT_EQ(server.wait(), 0);
    TracerRun run = stop_tracer();

    Events s = socket_starting_with(run, "LISTEN->SYN_RECV");
    EXPECT_EQ(sequence_of(s),
              (Sequence{"LISTEN->SYN_RECV", "SYN_RECV->ESTABLISHED", "ESTABLISHED->FIN_WAIT1",
                        "FIN_WAIT1->FIN_WAIT2", "FIN_WAIT2->CLOSE"}));
    expect_owner(s, server_pid);
    Events c = socket_starting_with(run, "CLOSE->SYN_SENT");
    EXPECT_EQ(sequence_of(c),
              (Sequence{"CLOSE->SYN_SENT", "SYN_SENT->ESTABLISHED", "ESTABLISHED->CLOSE_WAIT",
                        "CLOSE_WAIT->LAST_ACK", "LAST_ACK->CLOSE"}));
    expect_owner(c, client_pid);
}

TEST_F(TraceTest, RefusedConnectNamesTheConnectingProcess) {
    start_tracer();
    Child client(*ns_,
                 [&] { return connect_to(AF_INET, "127.0.0.1", 9) == -ECONNREFUSED ? 0 : 1; });
    pid_t client_pid = client.pid();
    ASSERT_EQ(client.wait(), 0);
    TracerRun run = stop_tracer();

    ASSERT_EQ(run.events.size(), 2u) << run.stdout_text;
    Events c = socket_starting_with(run, "CLOSE->SYN_SENT");
    EXPECT_EQ(sequence_of(c), (Sequence{"CLOSE->SYN_SENT", "SYN_SENT->CLOSE"}));
    expect_owner(c, client_pid);
    EXPECT_TRUE(c[0]["error"].is_null());
    EXPECT_EQ(c[1]["error"], "ECONNREFUSED");
    EXPECT_EQ(c[1]["dport"], 9);
    EXPECT_TRUE(c[1]["dur_us"].is_number());
}

TEST_F(TraceTest, LingerZeroResetsThePeer) {
    start_tracer();
    Gate listening;
    Gate accepted;
    Child server(*ns_, [&] {
        int l = listen_on(AF_INET, "127.0.0.1", kPort);
        listening.open();
        int c = accept_one(l);
        accepted.open();
        read_until_eof(c);  // returns on the reset
        close(c);
        close(l);
        return 0;
    });
    ASSERT_TRUE(listening.wait());
    Child client(*ns_, [&] {
        int fd = connect_to(AF_INET, "127.0.0.1", kPort);
        if (fd < 0 || !accepted.wait()) {
            return 1;
        }
        set_linger_zero(fd);
        close(fd);
        return 0;
    });
    pid_t client_pid = client.pid();
    pid_t server_pid = server.pid();
    ASSERT_EQ(client.wait(), 0);
    ASSERT_EQ(server.wait(), 0);
    TracerRun run = stop_tracer();

    Events c = socket_starting_with(run, "CLOSE->SYN_SENT");
    EXPECT_EQ(sequence_of(c),
              (Sequence{"CLOSE->SYN_SENT", "SYN_SENT->ESTABLISHED", "ESTABLISHED->CLOSE"}));
    expect_owner(c, client_pid);
    EXPECT_TRUE(c.back()["error"].is_null()) << "the closer's own abort carries no error";

    Events s = socket_starting_with(run, "LISTEN->SYN_RECV");
    EXPECT_EQ(sequence_of(s),
              (Sequence{"LISTEN->SYN_RECV", "SYN_RECV->ESTABLISHED", "ESTABLISHED->CLOSE"}));
    expect_owner(s, server_pid);
    EXPECT_EQ(s.back()["error"], "ECONNRESET");
}

TEST_F(TraceTest, TimeInEstablishedIsMeasured) {
    start_tracer();
    constexpr int kSleepMs = 300;
    Child server = serve_one_until_eof(*ns_, AF_INET, "127.0.0.1", kPort);
    Child client(*ns_, [&] {
        int fd = connect_to(AF_INET, "127.0.0.1", kPort);
        if (fd < 0) {
            return 1;
        }
        usleep(kSleepMs * 1000);
        close(fd);
        return 0;
    });
    ASSERT_EQ(client.wait(), 0);
    ASSERT_EQ(server.wait(), 0);
    TracerRun run = stop_tracer();

    Events c = socket_starting_with(run, "CLOSE->SYN_SENT");
    ASSERT_EQ(sequence_of(c)[2], "ESTABLISHED->FIN_WAIT1");
    EXPECT_NEAR(c[2]["dur_us"].get<double>(), kSleepMs * 1000.0, 50'000.0);
    Events s = socket_starting_with(run, "LISTEN->SYN_RECV");
    ASSERT_EQ(sequence_of(s)[2], "ESTABLISHED->CLOSE_WAIT");
    EXPECT_NEAR(s[2]["dur_us"].get<double>(), kSleepMs * 1000.0, 50'000.0);
}

TEST_F(TraceTest, OtherNamespacesAreFilteredOut) {
    start_tracer();
    NetNamespace other;
    Child elsewhere(other,
                    [&] { return connect_to(AF_INET, "127.0.0.1", 9) == -ECONNREFUSED ? 0 : 1; });
    ASSERT_EQ(elsewhere.wait(), 0);
    Child here(*ns_, [&] { return connect_to(AF_INET, "127.0.0.1", 10) == -ECONNREFUSED ? 0 : 1; });
    ASSERT_EQ(here.wait(), 0);
    TracerRun run = stop_tracer();
    ASSERT_EQ(run.events.size(), 2u) << run.stdout_text;
    for (const auto& e : run.events) {
        EXPECT_EQ(e["dport"], 10);
    }
}

TEST_F(TraceTest, PortFiltersSelectTheSide) {
    start_tracer({"--lport", "9090"});
    Child server = serve_one_until_eof(*ns_, AF_INET, "127.0.0.1", 9090);
    Child client(*ns_, [&] {
        int fd = connect_to(AF_INET, "127.0.0.1", 9090);
        if (fd < 0) {
            return 1;
        }
        close(fd);
        return connect_to(AF_INET, "127.0.0.1", 9) == -ECONNREFUSED ? 0 : 1;
    });
    ASSERT_EQ(client.wait(), 0);
    ASSERT_EQ(server.wait(), 0);
    TracerRun run = stop_tracer();
    // The listener (2) and the accepted socket (5); never the client's side.
    ASSERT_EQ(run.events.size(), 7u) << run.stdout_text;
    for (const auto& e : run.events) {
        EXPECT_EQ(e["sport"], 9090) << e.dump();
    }
}

TEST_F(TraceTest, TextOutputAndCleanExitWhenStdoutCloses) {
    // `tcpscope trace | head -n 2`: the tracer must notice the closed pipe,
    // detach and exit 0 with its summary.
    std::string cmd = tcpscope_binary() + " trace --netns " + ns_->path() +
                      " 2>/tmp/tcpscope-head-err-" + std::to_string(getpid()) + " | head -n 1";
    FILE* pipe = popen(cmd.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    // Generate enough lines to hit the closed pipe.
    for (int i = 0; i < 5; ++i) {
        Child c(*ns_, [&] { return connect_to(AF_INET, "127.0.0.1", 9) == -ECONNREFUSED ? 0 : 1; });
        ASSERT_EQ(c.wait(), 0);
    }
    char header[512] = {};
    ASSERT_NE(fgets(header, sizeof(header), pipe), nullptr);
    EXPECT_EQ(std::string(header).rfind("TIME            PID", 0), 0u) << header;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    for (int i = 0; i < 5; ++i) {
        Child c(*ns_, [&] { return connect_to(AF_INET, "127.0.0.1", 9) == -ECONNREFUSED ? 0 : 1; });
        ASSERT_EQ(c.wait(), 0);
    }
    int status = pclose(pipe);  // waits for the tracer too
    EXPECT_EQ(WEXITSTATUS(status), 0);
    std::string err_path = "/tmp/tcpscope-head-err-" + std::to_string(getpid());
    FILE* err = std::fopen(err_path.c_str(), "r");
    ASSERT_NE(err, nullptr);
    std::string text;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof(buf), err)) {
        text.append(buf, n);
    }
    std::fclose(err);
    std::remove(err_path.c_str());
    EXPECT_NE(text.find(" events="), std::string::npos) << text;
}

}  // namespace
}  // namespace tcpscope::ktest
