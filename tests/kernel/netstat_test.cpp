// `tcpscope netstat` against net-tools netstat, in a private network
// namespace holding every state the spec names, at the same moment.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "kernel/harness.h"

namespace tcpscope::ktest {
namespace {

namespace fs = std::filesystem;

constexpr const char* kLongHost = "a-very-long-hostname.example.internal";

// /etc/netns/NAME/{hosts,services}: `ip netns exec` bind-mounts them over
// /etc, for netstat and tcpscope alike. Removed with the namespace.
class NetnsEtc {
  public:
    explicit NetnsEtc(const NetNamespace& ns) : dir_("/etc/netns/" + ns.name()) {
        fs::create_directories(dir_);
        std::ofstream(dir_ / "hosts") << "127.0.0.1 localhost\n"
                                         "::1 localhost ip6-localhost ip6-loopback\n"
                                         "10.77.0.1 "
                                      << kLongHost << "\n";
        std::ofstream(dir_ / "services") << "ns-first 7100/tcp\n"
                                            "ns-last 7100/tcp\n"  // the last entry wins
                                            "short 7101/tcp alias-never-shown\n"
                                            "udp-only 7103/udp\n"
                                            "a-very-long-service-name-x 7106/tcp\n";
    }
    ~NetnsEtc() {
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }

  private:
    fs::path dir_;
};

// Runs a command inside the namespace (LC_ALL=C) and returns its stdout.
std::string run_in(const NetNamespace& ns, const std::string& command) {
    std::string out = "/tmp/tcpscope-netstat-" + std::to_string(getpid()) + ".out";
    int status = ns.exec("LC_ALL=C " + command + " > " + out);
    std::string text = read_file(out);
    unlink(out.c_str());
    EXPECT_EQ(status, 0) << command;
    return text;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

// The -o numbers change between two looks; the timer word must not.
std::string mask_timer(const std::string& line) {
    static const std::regex numbers(R"(\(([0-9.]+)/([0-9]+)/([0-9]+)\)$)");
    return std::regex_replace(line, numbers, "(T/R/P)");
}

struct Table {
    std::vector<std::string> header;
    std::vector<std::string> tcp;   // sorted, timers masked
    std::vector<std::string> tcp6;  // sorted, timers masked
    bool ordered = true;            // no tcp row after a tcp6 row
};

Table parse_table(const std::string& text) {
    Table t;
    std::vector<std::string> lines = lines_of(text);
    bool seen_v6 = false;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (i < 2) {
            t.header.push_back(lines[i]);
        } else if (lines[i].starts_with("tcp6 ")) {
            seen_v6 = true;
            t.tcp6.push_back(mask_timer(lines[i]));
        } else {
            t.ordered = t.ordered && !seen_v6;
            t.tcp.push_back(mask_timer(lines[i]));
        }
    }
    std::sort(t.tcp.begin(), t.tcp.end());
    std::sort(t.tcp6.begin(), t.tcp6.end());
    return t;
}

void expect_same_table(const std::string& ours, const std::string& theirs,
                       const std::string& what) {
    Table a = parse_table(ours);
    Table b = parse_table(theirs);
    EXPECT_EQ(a.header, b.header) << what;
    EXPECT_EQ(a.tcp, b.tcp) << what << "\n--- tcpscope\n" << ours << "--- netstat\n" << theirs;
    EXPECT_EQ(a.tcp6, b.tcp6) << what << "\n--- tcpscope\n" << ours << "--- netstat\n" << theirs;
    EXPECT_TRUE(a.ordered) << what << ": a tcp row after a tcp6 row\n" << ours;
    EXPECT_TRUE(b.ordered) << what;
}

// Every state and naming case of the spec, held until `release` opens.
int hold_the_world(Gate& ready, Gate& release) {
    std::vector<int> keep;
    auto listen4 = [&](const char* a, std::uint16_t p) {
        keep.push_back(listen_on(AF_INET, a, p));
        return keep.back();
    };
    auto listen6 = [&](const char* a, std::uint16_t p) {
        keep.push_back(listen_on(AF_INET6, a, p));
        return keep.back();
    };
    auto pair = [&](int family, const char* a, std::uint16_t p, int listener) {
        int c = connect_to(family, a, p);
        if (c < 0) {
            _exit(111);
        }
        int s = accept_one(listener);
        keep.push_back(c);
        keep.push_back(s);
        return std::pair{c, s};
    };
    int any4 = listen4("0.0.0.0", 7100);
    int lo4 = listen4("127.0.0.1", 7101);
    int any6 = listen6("::", 7102);
    int lo6 = listen6("::1", 7103);
    int mapped = listen6("::ffff:127.0.0.1", 7104);
    int long_host = listen4("10.77.0.1", 7105);
    int long_service = listen4("0.0.0.0", 7106);
    listen4("10.77.0.1", 7107);                // its third ACKs are dropped: SYN_RECV
    int backlog = listen4("127.0.0.1", 7108);  // never accepts: Recv-Q 1

    pair(AF_INET, "127.0.0.1", 7101, lo4);
    pair(AF_INET6, "::1", 7103, lo6);
    pair(AF_INET, "127.0.0.1", 7104, mapped);  // tcp6 row with v4-mapped addresses
    pair(AF_INET6, "::1", 7102, any6);
    pair(AF_INET, "10.77.0.1", 7105, long_host);
    auto [close_wait, fin_wait2] = pair(AF_INET, "127.0.0.1", 7100, any4);
    shutdown(fin_wait2, SHUT_WR);
    auto [time_wait, passive] = pair(AF_INET, "127.0.0.1", 7100, any4);
    close(time_wait);
    read_until_eof(passive);
    close(passive);
    // A sender whose peer never reads: Send-Q on one side, Recv-Q on the other.
    auto [sender, receiver] = pair(AF_INET, "127.0.0.1", 7106, long_service);
    fcntl(sender, F_SETFL, O_NONBLOCK);
    std::vector<char> chunk(65536, 'x');
    while (write(sender, chunk.data(), chunk.size()) > 0) {
    }
    (void)receiver;
    int queued = connect_to(AF_INET, "127.0.0.1", 7108);
    keep.push_back(queued);
    if (write(queued, "hello", 5) != 5) {
        _exit(112);
    }
    (void)backlog;
    keep.push_back(connect_nonblocking(AF_INET, "127.0.0.1", 7999));  // SYN dropped: SYN_SENT
    keep.push_back(connect_nonblocking(AF_INET, "10.77.0.1", 7107));  // ACK dropped: SYN_RECV
    usleep(300'000);                                                  // let the queues settle
    ready.open();
    release.wait(std::chrono::seconds(60));
    for (int closed : {time_wait, passive}) {
        keep.erase(std::remove(keep.begin(), keep.end(), closed), keep.end());
    }
    for (int fd : keep) {
        close(fd);
    }
    return 0;
}

class NetstatDifferential : public ::testing::Test {
  protected:
    void SetUp() override {
        if (auto why = bpf_unavailable_reason()) {
            if (running_in_ci()) {
                FAIL() << "CI=true and BPF is unavailable: " << *why;
            }
            GTEST_SKIP() << "BPF unavailable: " << *why;
        }
        if (std::system("command -v netstat >/dev/null") != 0) {
            FAIL() << "net-tools netstat is not installed (scripts/setup installs it)";
        }
    }
};

TEST_F(NetstatDifferential, EveryFlagSetMatchesNetToolsByteForByte) {
    NetNamespace ns;
    NetnsEtc etc(ns);
    ASSERT_EQ(ns.exec("ip addr add 10.77.0.1/32 dev lo && "
                      "iptables -A INPUT -p tcp --dport 7999 --syn -j DROP && "
                      "iptables -A INPUT -p tcp --dport 7107 --tcp-flags SYN,ACK,FIN,RST ACK "
                      "-j DROP"),
              0);
    Gate ready;
    Gate release;
    Child world(ns, [&] { return hold_the_world(ready, release); });
    ASSERT_TRUE(ready.wait());

    const std::string binary = tcpscope_binary();
    for (const char* flags : {"-tan", "-ta", "-tanp", "-tanW", "-tn", "-tln", "-tane", "-tano",
                              "-4tan", "-6tan", "-taneopW", "-tae", "-tlp", "-tl", "-t"}) {
        std::string theirs = run_in(ns, std::string("netstat ") + flags);
        std::string ours = run_in(ns, binary + " netstat " + flags);
        expect_same_table(ours, theirs, flags);
    }

    // -c repeats the whole block; without extras each block is netstat's.
    std::string repeated = run_in(ns, binary + " netstat -tanp -c 0.2 --count 2 2>/dev/null");
    std::size_t second = repeated.find("Active Internet", 1);
    ASSERT_NE(second, std::string::npos) << repeated;
    std::string once = run_in(ns, "netstat -tanp");
    expect_same_table(repeated.substr(0, second), once, "-c, first table");
    expect_same_table(repeated.substr(second), once, "-c, second table");

    // Unprivileged, -p sees no process and both tools say so on stderr.
    const std::string err = "/tmp/tcpscope-netstat-" + std::to_string(getpid()) + ".err";
    auto as_nobody = [&](const std::string& command) {
        std::string out = run_in(
            ns, "setpriv --reuid=65534 --regid=65534 --clear-groups " + command + " 2>" + err);
        std::string text = read_file(err);
        unlink(err.c_str());
        return std::pair{out, text};
    };
    auto [their_out, their_err] = as_nobody("netstat -tanp");
    auto [our_out, our_err] = as_nobody(binary + " netstat -tanp");
    expect_same_table(our_out, their_out, "-tanp as nobody");
    EXPECT_EQ(our_err, their_err);
    EXPECT_NE(their_err.find("you should be root"), std::string::npos) << their_err;

    // The states and names the scenario promises are really there.
    std::string all = run_in(ns, "netstat -taneoW");
    for (const char* state : {"LISTEN", "ESTABLISHED", "CLOSE_WAIT", "FIN_WAIT2", "TIME_WAIT",
                              "SYN_SENT", "SYN_RECV"}) {
        EXPECT_NE(all.find(state), std::string::npos) << state << "\n" << all;
    }
    std::string named = run_in(ns, "netstat -ta");
    EXPECT_NE(named.find("a-very-long-hostna:"), std::string::npos) << named;
    EXPECT_NE(named.find("0.0.:a-very-long-servic"), std::string::npos) << named;
    EXPECT_NE(named.find(":ns-last "), std::string::npos) << named;
    EXPECT_NE(named.find("tcp6       0      0 127.0.0.1:7104"), std::string::npos) << named;
    std::string numeric = run_in(ns, "netstat -tan");
    EXPECT_TRUE(std::regex_search(numeric, std::regex(R"(tcp +[1-9][0-9]* +0 127\.0\.0\.1:7108 )")))
        << numeric;
    EXPECT_TRUE(std::regex_search(numeric, std::regex(R"(tcp +0 +[1-9][0-9]* 127\.0\.0\.1:)")))
        << numeric;

    // From outside the namespace, by path and by inode.
    struct stat st {};
    ASSERT_EQ(stat(ns.path().c_str(), &st), 0);
    for (const std::string& target : {ns.path(), std::to_string(st.st_ino)}) {
        std::string path = "/tmp/tcpscope-ns-" + std::to_string(getpid());
        std::string cmd = binary + " netstat -tanp --netns " + target + " > " + path;
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
        std::string outside = read_file(path);
        unlink(path.c_str());
        expect_same_table(outside, run_in(ns, "netstat -tanp"), "--netns " + target);
    }

    release.open();
    EXPECT_EQ(world.wait(), 0);
}

// -c: the tracer keeps the live table between tables; sockets born and
// closed between two tables are listed with lifetime, final transition and owner.
TEST_F(NetstatDifferential, ContinuousTablesShowAgesOwnersAndShortLivedSockets) {
    NetNamespace ns;
    TracerProcess netstat({"netstat", "-tan", "-c", "0.4", "--count", "4", "--age", "--owner",
                           "--short-lived", "--netns", ns.path()});
    ASSERT_TRUE(netstat.wait_ready());

    Gate listening;
    Child server(ns, [&] {
        int l = listen_on(AF_INET, "127.0.0.1", 7200);
        listening.open();
        for (int i = 0; i < 3; ++i) {
            int c = accept_one(l);
            read_until_eof(c);
            close(c);
        }
        pause();
        return 0;
    });
    ASSERT_TRUE(listening.wait());
    Child client(ns, [&] {
        for (int i = 0; i < 3; ++i) {
            int fd = connect_to(AF_INET, "127.0.0.1", 7200);
            if (fd < 0) {
                return 1;
            }
            close(fd);
        }
        return 0;
    });
    const std::string client_pid = std::to_string(client.pid());
    ASSERT_EQ(client.wait(), 0);
    TracerRun run = netstat.wait_exit(std::chrono::seconds(20));
    const std::string server_pid = std::to_string(server.pid());
    kill(server.pid(), SIGTERM);
    server.wait();
    ASSERT_EQ(run.exit_status, 0) << run.stderr_text;

    const std::string& out = run.stdout_text;
    std::size_t tables = 0;
    for (std::size_t at = 0;
         (at = out.find("Active Internet connections", at)) != std::string::npos; ++at) {
        ++tables;
    }
    EXPECT_EQ(tables, 4u) << out;
    // The listener was born under the tracer: its age and owner are known.
    std::regex listener(
        R"(tcp +0 +0 127\.0\.0\.1:7200 +0\.0\.0\.0:\* +LISTEN +[0-9.]+(us|ms|s) +)" + server_pid +
        "/");
    EXPECT_TRUE(std::regex_search(out, listener)) << out;
    // The server's side of each connection lived and died between tables;
    // the client's side lives on in TIME_WAIT, so the table shows it.
    std::regex died(
        R"(tcp   127\.0\.0\.1:7200 +127\.0\.0\.1:[0-9]+ +[0-9.]+(us|ms|s) +LAST_ACK -> CLOSE +- +)" +
        server_pid + "/");
    auto begin = std::sregex_iterator(out.begin(), out.end(), died);
    EXPECT_EQ(std::distance(begin, std::sregex_iterator()), 3) << out;
    // The client's TIME_WAIT sockets carry on its closed sockets: same owner,
    // aged from the close.
    std::string last_table = out.substr(out.rfind("Active Internet connections"));
    std::regex time_wait(R"(127\.0\.0\.1:7200 +TIME_WAIT +[0-9.]+(us|ms|s) +)" + client_pid + "/");
    auto tw = std::sregex_iterator(last_table.begin(), last_table.end(), time_wait);
    EXPECT_EQ(std::distance(tw, std::sregex_iterator()), 3) << out;
    // The stream saw everything: reconciliation had nothing to correct.
    EXPECT_EQ(run.summary.count("corrections"), 1u) << run.stderr_text;
    EXPECT_EQ(run.summary["corrections"], 0u) << run.stderr_text << run.stdout_text;
    EXPECT_EQ(run.summary["tables"], 4u) << run.stderr_text;
}

// --cgroup: each socket's cgroup as the kernel lists it (the creator's; an
// accepted socket's is its listener's). A TIME_WAIT socket is listed with
// none: one table shows '-', while -c shows its closed socket's owner's.
TEST_F(NetstatDifferential, CgroupColumnNamesEachSocketsCgroup) {
    NetNamespace ns;
    TestCgroup server_cgroup;
    TestCgroup client_cgroup;
    TracerProcess continuous(
        {"netstat", "-tan", "-c", "0.4", "--count", "5", "--cgroup", "--netns", ns.path()});
    ASSERT_TRUE(continuous.wait_ready());
    Gate listening;
    Gate settled;
    Gate release;
    Child server(ns, [&] {
        if (!server_cgroup.enter()) {
            return 9;
        }
        int l = listen_on(AF_INET, "127.0.0.1", 7300);
        listening.open();
        int held = accept_one(l);
        int closed = accept_one(l);
        read_until_eof(closed);
        close(closed);
        read_until_eof(held);  // the client closes it once released
        close(held);
        close(l);
        return 0;
    });
    ASSERT_TRUE(listening.wait());
    Child client(ns, [&] {
        if (!client_cgroup.enter()) {
            return 9;
        }
        int held = connect_to(AF_INET, "127.0.0.1", 7300);
        int closing = connect_to(AF_INET, "127.0.0.1", 7300);
        if (held < 0 || closing < 0) {
            return 1;
        }
        close(closing);  // the client closes first: its side ends in TIME_WAIT
        usleep(200'000);
        settled.open();
        release.wait(std::chrono::seconds(60));
        close(held);
        return 0;
    });
    ASSERT_TRUE(settled.wait());
    TracerRun once = TracerProcess({"netstat", "-tan", "--cgroup", "--netns", ns.path()})
                         .wait_exit(std::chrono::seconds(20));
    TracerRun run = continuous.wait_exit(std::chrono::seconds(20));
    release.open();
    EXPECT_EQ(client.wait(), 0);
    EXPECT_EQ(server.wait(), 0);
    ASSERT_EQ(once.exit_status, 0) << once.stderr_text;
    ASSERT_EQ(run.exit_status, 0) << run.stderr_text;

    const std::string server_path = server_cgroup.path();
    const std::string client_path = client_cgroup.path();
    const std::string& one = once.stdout_text;
    EXPECT_NE(one.find("Cgroup"), std::string::npos) << one;
    auto count = [](const std::string& text, const std::string& pattern) {
        std::regex re(pattern);
        return std::distance(std::sregex_iterator(text.begin(), text.end(), re),
                             std::sregex_iterator());
    };
    EXPECT_EQ(count(one, R"(127\.0\.0\.1:7300 +0\.0\.0\.0:\* +LISTEN +)" + server_path + " "), 1)
        << one;
    EXPECT_EQ(
        count(one, R"(127\.0\.0\.1:7300 +127\.0\.0\.1:[0-9]+ +ESTABLISHED +)" + server_path + " "),
        1)
        << one;
    EXPECT_EQ(
        count(one, R"(127\.0\.0\.1:[0-9]+ +127\.0\.0\.1:7300 +ESTABLISHED +)" + client_path + " "),
        1)
        << one;
    EXPECT_EQ(count(one, R"(127\.0\.0\.1:7300 +TIME_WAIT +- )"), 1) << one;
    std::string last = run.stdout_text.substr(run.stdout_text.rfind("Active Internet"));
    EXPECT_EQ(count(last, R"(127\.0\.0\.1:7300 +TIME_WAIT +)" + client_path + " "), 1)
        << run.stdout_text;
    EXPECT_EQ(
        count(last, R"(127\.0\.0\.1:[0-9]+ +127\.0\.0\.1:7300 +ESTABLISHED +)" + client_path + " "),
        1)
        << run.stdout_text;
}

// `tcpscope trace` prints its live table on SIGUSR1 and keeps tracing.
TEST_F(NetstatDifferential, TracePrintsItsLiveTableOnSigusr1) {
    NetNamespace ns;
    TracerProcess tracer({"trace", "--netns", ns.path()});
    ASSERT_TRUE(tracer.wait_ready());
    Gate listening;
    Gate release;
    Child server(ns, [&] {
        int l = listen_on(AF_INET6, "::1", 7300);
        listening.open();
        release.wait();
        close(l);
        return 0;
    });
    const std::string server_pid = std::to_string(server.pid());
    ASSERT_TRUE(listening.wait());
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    kill(tracer.pid(), SIGUSR1);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    release.open();
    ASSERT_EQ(server.wait(), 0);
    TracerRun run = tracer.stop();
    ASSERT_EQ(run.exit_status, 0) << run.stderr_text;

    const std::string& out = run.stdout_text;
    EXPECT_TRUE(std::regex_search(out, std::regex(R"(\nSNAPSHOT \S+Z sockets=1\n)"))) << out;
    EXPECT_TRUE(std::regex_search(
        out,
        std::regex(R"(\nLISTEN +\[::1\]:7300 +\[::\]:\* +[0-9.]+(us|ms|s) +)" + server_pid + "/")))
        << out;
    // Tracing went on after the snapshot: the listener's close is there too.
    EXPECT_NE(out.find("LISTEN -> CLOSE"), std::string::npos) << out;
}

}  // namespace
}  // namespace tcpscope::ktest
