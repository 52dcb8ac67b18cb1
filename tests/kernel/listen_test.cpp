// `tcpscope listen` against the kernel's own namespace counters: a listener
// that never accepts, connects to a closed port, a slow acceptor.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <thread>

#include "kernel/harness.h"
#include "kernel/http_client.h"

namespace tcpscope::ktest {
namespace {

using json = nlohmann::json;

constexpr std::uint16_t kPort = 7400;

class ListenTest : public ::testing::Test {
  protected:
    void SetUp() override { TCPSCOPE_REQUIRE_BPF(); }

    void start(std::vector<std::string> extra = {}) {
        std::vector<std::string> args = {"listen", "--json",  "--interval",
                                         "30",     "--netns", ns_.path()};
        args.insert(args.end(), extra.begin(), extra.end());
        tracer_ = std::make_unique<TracerProcess>(args);
        ASSERT_TRUE(tracer_->wait_ready()) << tracer_->wait_exit().stderr_text;
    }

    // The report of the whole run, at exit.
    json stop_and_total() {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a sample and a drain
        run_ = tracer_->stop();
        EXPECT_EQ(run_.exit_status, 0) << run_.stderr_text;
        if (run_.events.empty() || !run_.events.back().contains("final")) {
            ADD_FAILURE() << "no final report: " << run_.stdout_text << run_.stderr_text;
            return json::object();
        }
        return run_.events.back();
    }

    static json listener_on(const json& report, std::uint16_t port) {
        for (const json& l : report["listeners"]) {
            if (l["port"] == port) {
                return l;
            }
        }
        ADD_FAILURE() << "no listener on " << port << ": " << report.dump();
        return json::object();
    }

    // Listens on kPort with backlog 2 and never accepts, until release opens.
    Child never_accepting_server(Gate& release) {
        Gate listening;
        Child server(ns_, [&] {
            int l = listen_on(AF_INET, "127.0.0.1", kPort);
            if (listen(l, 2) != 0) {  // listen() again: only the backlog changes
                return 1;
            }
            listening.open();
            release.wait(std::chrono::seconds(60));
            close(l);
            return 0;
        });
        if (!listening.wait()) {
            throw std::runtime_error("test server did not start listening");
        }
        return server;
    }

    NetNamespace ns_;
    std::unique_ptr<TracerProcess> tracer_;
    TracerRun run_;
};

// Backlog 2, never accepting, 50 connects from the same namespace, each left
// in SYN_SENT long enough for one SYN retransmit: the listener's drops are
// the namespace's ListenDrops (all overflows), and its clients' SYN
// retransmits plus its SYN-ACK retransmits are the namespace's TCPSynRetrans.
TEST_F(ListenTest, OverflowsOfANeverAcceptingListenerAddUpToTheNamespaceCounters) {
    Gate release;
    Child server = never_accepting_server(release);
    start();
    constexpr int kClients = 50;
    Child clients(ns_, [&] {
        std::vector<int> fds;
        for (int i = 0; i < kClients; ++i) {
            fds.push_back(connect_nonblocking(AF_INET, "127.0.0.1", kPort));
        }
        usleep(2'500'000);  // the first SYN retransmit comes after 1 s
        for (int fd : fds) {
            close(fd);
        }
        return 0;
    });
    ASSERT_EQ(clients.wait(), 0);
    json total = stop_and_total();
    const pid_t server_pid = server.pid();
    release.open();
    EXPECT_EQ(server.wait(), 0);

    json l = listener_on(total, kPort);
    EXPECT_EQ(total["netns"], ns_.inode());
    EXPECT_EQ(l["pid"], server_pid) << l.dump();
    EXPECT_EQ(l["backlog"], 2) << l.dump();
    EXPECT_GE(l["queue"].get<int>(), 2) << l.dump();
    EXPECT_GE(l["queue_peak"].get<int>(), l["queue"].get<int>()) << l.dump();
    EXPECT_EQ(l["accepted"], 0) << l.dump();
    const json& ns = total["namespace"];
    ASSERT_TRUE(ns.contains("TcpExt.ListenDrops")) << total.dump();
    EXPECT_GE(l["drops"].get<int>(), kClients - 3) << l.dump();
    EXPECT_EQ(l["drops"], ns["TcpExt.ListenDrops"]) << total.dump();
    EXPECT_EQ(ns["TcpExt.ListenOverflows"], ns["TcpExt.ListenDrops"]) << total.dump();
    EXPECT_GE(l["local_client_syn_retrans"].get<int>(), kClients - 3) << l.dump();
    EXPECT_EQ(l["local_client_syn_retrans"].get<std::uint64_t>() +
                  l["synack_retrans"].get<std::uint64_t>(),
              ns["TcpExt.TCPSynRetrans"].get<std::uint64_t>())
        << total.dump();
}

// Connects to a port nobody listens on: the kernel answers each SYN with a
// reset. Where it names drop reasons (5.17+) they are counted by port, equal
// to the namespace's OutRsts; before, one line says so and the field is unknown.
TEST_F(ListenTest, ConnectsToAClosedPortAreResetsSentForThatPort) {
    start();
    constexpr int kConnects = 5;
    Child clients(ns_, [&] {
        for (int i = 0; i < kConnects; ++i) {
            if (connect_to(AF_INET, "127.0.0.1", 7998) != -ECONNREFUSED) {
                return 1;
            }
        }
        return 0;
    });
    ASSERT_EQ(clients.wait(), 0);
    json total = stop_and_total();
    EXPECT_EQ(total["namespace"]["Tcp.OutRsts"], kConnects) << total.dump();
    if (!kernel_at_least(5, 17)) {
        EXPECT_FALSE(total["syn_drops_known"].get<bool>());
        EXPECT_NE(run_.stderr_text.find("kernel names no drop reasons"), std::string::npos)
            << run_.stderr_text;
        return;
    }
    ASSERT_TRUE(total["syn_drops_known"].get<bool>()) << total.dump();
    ASSERT_EQ(total["unlistened"].size(), 1u) << total.dump();
    const json& refused = total["unlistened"][0];
    EXPECT_EQ(refused["port"], 7998);
    EXPECT_EQ(refused["addr"], "127.0.0.1");
    EXPECT_EQ(refused["reason"], "NO_SOCKET");
    EXPECT_EQ(refused["count"], kConnects);
}

// A server that accepts 600 ms after its five clients connected: the queue
// reached five, and each accept waited over half a second in it.
TEST_F(ListenTest, ASlowAcceptorShowsQueueDepthAndAcceptWait) {
    constexpr int kClients = 5;
    Gate listening;
    Gate connected;
    Child server(ns_, [&] {
        int l = listen_on(AF_INET, "127.0.0.1", kPort);
        listening.open();
        if (!connected.wait()) {
            return 2;
        }
        usleep(600'000);
        for (int i = 0; i < kClients; ++i) {
            close(accept_one(l));
        }
        close(l);
        return 0;
    });
    ASSERT_TRUE(listening.wait());
    const std::string dir = directory_owned_by_tracer();
    const std::string recording = dir + "/listen.tsr";
    start({"-w", recording});
    Child clients(ns_, [&] {
        std::vector<int> fds;
        for (int i = 0; i < kClients; ++i) {
            int fd = connect_to(AF_INET, "127.0.0.1", kPort);
            if (fd < 0) {
                return 1;
            }
            fds.push_back(fd);
        }
        connected.open();
        usleep(1'000'000);
        for (int fd : fds) {
            close(fd);
        }
        return 0;
    });
    ASSERT_EQ(clients.wait(), 0);
    ASSERT_EQ(server.wait(), 0);
    json total = stop_and_total();
    json l = listener_on(total, kPort);
    EXPECT_EQ(l["accepted"], kClients) << l.dump();
    EXPECT_GE(l["queue_peak"].get<int>(), kClients) << l.dump();
    EXPECT_TRUE(l["closed"].get<bool>()) << l.dump();
    EXPECT_EQ(l["drops"], 0) << l.dump();
    ASSERT_FALSE(l["accept_wait_p50_us"].is_null()) << l.dump();
    // Power-of-two buckets: 600 ms lies in [2^19, 2^20) µs.
    EXPECT_GE(l["accept_wait_p50_us"].get<std::uint64_t>(), 1u << 20) << l.dump();
    EXPECT_LE(l["accept_wait_p99_us"].get<std::uint64_t>(), 1u << 23) << l.dump();

    // Recorded with -w, the run replays to the same reports, unprivileged:
    // the listener's owner (named from /proc at start: it predates the run),
    // its queue samples, the probes' counts and the namespace's counters.
    TracerRun replayed = run_as_tracer_account({"listen", "-r", recording, "--json"});
    EXPECT_EQ(replayed.exit_status, 0) << replayed.stderr_text;
    EXPECT_EQ(replayed.stdout_text, run_.stdout_text);
    std::filesystem::remove_all(dir);
}

// Pre-fork SO_REUSEPORT workers of two processes on one port, neither
// accepting: one row each, with its own owner and queue (the kernel spreads
// the connects across their queues), their drops adding up to the namespace's.
TEST_F(ListenTest, ReuseportWorkersHaveARowEach) {
    Gate release;
    std::vector<Child> workers;
    for (int w = 0; w < 2; ++w) {
        Gate listening;
        workers.emplace_back(ns_, [&] {
            int l = listen_on(AF_INET, "127.0.0.1", kPort, true);
            if (listen(l, 2) != 0) {
                return 1;
            }
            listening.open();
            release.wait(std::chrono::seconds(60));
            close(l);
            return 0;
        });
        ASSERT_TRUE(listening.wait());
    }
    start();
    Child clients(ns_, [&] {
        std::vector<int> fds;
        for (int i = 0; i < 20; ++i) {
            fds.push_back(connect_nonblocking(AF_INET, "127.0.0.1", kPort));
        }
        usleep(300'000);
        return 0;
    });
    ASSERT_EQ(clients.wait(), 0);
    json total = stop_and_total();
    std::set<int> pids;
    std::uint64_t drops = 0;
    int queued = 0;
    for (const json& l : total["listeners"]) {
        if (l["port"] == kPort) {
            pids.insert(l["pid"].get<int>());
            drops += l["drops"].get<std::uint64_t>();
            queued += l["queue"].get<int>();
        }
    }
    const std::set<int> expected = {workers[0].pid(), workers[1].pid()};
    release.open();
    release.open();
    for (Child& w : workers) {
        EXPECT_EQ(w.wait(), 0);
    }
    EXPECT_EQ(pids, expected) << total.dump();
    EXPECT_GE(queued, 4) << total.dump();  // both queues took some
    EXPECT_EQ(drops, total["namespace"]["TcpExt.ListenDrops"].get<std::uint64_t>()) << total.dump();
}

// synfail: a connect that timed out towards an overflowing listener of this
// host names that listener, its queue and its drops.
TEST_F(ListenTest, SynfailTimeoutsNameTheOverflowingLocalListener) {
    Gate release;
    Child server = never_accepting_server(release);
    TracerProcess synfail({"synfail", "--json", "--netns", ns_.path()});
    ASSERT_TRUE(synfail.wait_ready()) << synfail.wait_exit().stderr_text;
    Child client(ns_, [&] {
        std::vector<int> fillers;
        for (int i = 0; i < 4; ++i) {  // the queue takes three, the fourth waits
            fillers.push_back(connect_nonblocking(AF_INET, "127.0.0.1", kPort));
        }
        usleep(200'000);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        int one_retry = 1;  // gives up after ~3 s
        setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &one_retry, sizeof(one_retry));
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(kPort);
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int rc = connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to));
        return rc != 0 && errno == ETIMEDOUT ? 0 : 1;
    });
    ASSERT_EQ(client.wait(std::chrono::seconds(30)), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    TracerRun run = synfail.stop();
    release.open();
    EXPECT_EQ(server.wait(), 0);
    json timeout;
    for (const json& e : run.events) {
        if (e.value("reason", "") == "ETIMEDOUT") {
            timeout = e;
        }
    }
    ASSERT_FALSE(timeout.is_null()) << run.stdout_text << run.stderr_text;
    const json& l = timeout["local_listener"];
    ASSERT_TRUE(l.is_object()) << timeout.dump();
    EXPECT_EQ(l["port"], kPort);
    EXPECT_EQ(l["addr"], "127.0.0.1");
    EXPECT_EQ(l["backlog"], 2);
    EXPECT_GE(l["queue"].get<int>(), 2) << l.dump();
    EXPECT_GE(l["drops"].get<int>(), 2) << l.dump();
}

// serve --listeners: the same figures as metrics by listening port, with the
// namespace's counters beside them.
TEST_F(ListenTest, ServeExportsTheListenersByPort) {
    const std::uint16_t metrics = free_loopback_port();
    TracerProcess serve({"serve", "--listeners", "--netns", ns_.path(), "--metrics-addr",
                         "127.0.0.1:" + std::to_string(metrics)});
    ASSERT_TRUE(serve.wait_ready()) << serve.wait_exit().stderr_text;
    Gate release;
    Child server = never_accepting_server(release);
    Child clients(ns_, [&] {
        std::vector<int> fds;
        for (int i = 0; i < 20; ++i) {
            fds.push_back(connect_nonblocking(AF_INET, "127.0.0.1", kPort));
        }
        for (int i = 0; i < 3; ++i) {
            if (connect_to(AF_INET, "127.0.0.1", 7998) != -ECONNREFUSED) {
                return 1;
            }
        }
        usleep(300'000);
        return 0;
    });
    ASSERT_EQ(clients.wait(), 0);
    const std::string ns = std::to_string(ns_.inode());
    const std::map<std::string, std::string> port = {{"netns", ns},
                                                     {"port", std::to_string(kPort)}};
    std::string text;
    // Counters only grow: scrape until the drops settle at the namespace's.
    for (int i = 0; i < 50; ++i) {
        std::optional<HttpResponse> r = http_get(metrics, "/metrics");
        text = r ? r->body : std::string();
        auto drops = sample_value(text, "tcpscope_listen_drops_total", port);
        auto all = sample_value(text, "tcpscope_netns_tcp_counter_total",
                                {{"netns", ns}, {"counter", "TcpExt.ListenDrops"}});
        if (drops && all && *drops >= 15 && *drops == *all) {
            break;
        }
        usleep(200'000);
    }
    release.open();
    EXPECT_EQ(server.wait(), 0);
    EXPECT_EQ(sample_value(text, "tcpscope_listen_backlog", port), 2.0) << text;
    EXPECT_GE(sample_value(text, "tcpscope_listen_queue", port).value_or(0), 2.0) << text;
    EXPECT_GE(sample_value(text, "tcpscope_listen_drops_total", port).value_or(0), 15.0) << text;
    EXPECT_EQ(sample_value(text, "tcpscope_listen_drops_total", port),
              sample_value(text, "tcpscope_netns_tcp_counter_total",
                           {{"netns", ns}, {"counter", "TcpExt.ListenDrops"}}))
        << text;
    if (kernel_at_least(5, 17)) {
        EXPECT_EQ(
            sample_value(text, "tcpscope_refused_syns_total", {{"netns", ns}, {"port", "7998"}}),
            3.0)
            << text;
    }
    EXPECT_EQ(sample_value(text, "tcpscope_netns_tcp_counter_total",
                           {{"netns", ns}, {"counter", "Tcp.OutRsts"}}),
              3.0)
        << text;
}

}  // namespace
}  // namespace tcpscope::ktest
