// sock_diag listings carry the same cookies as the BPF event stream, and see
// TIME_WAIT sockets (the timewait socket inherits the full socket's cookie).
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "kernel/harness.h"
#include "kernel/sock_diag.h"
#include "tcpscope/event.h"

namespace tcpscope::ktest {
namespace {

TEST(SockDiag, ListsTheNamespacesSocketsWithTheTracersCookies) {
    TCPSCOPE_REQUIRE_BPF();
    NetNamespace ns;
    TracerProcess tracer({"trace", "--json", "--netns", ns.path()});
    ASSERT_TRUE(tracer.wait_ready());

    Gate listening;
    Gate release;
    Child server(ns, [&] {
        int l = listen_on(AF_INET, "127.0.0.1", 7000);
        listening.open();
        int c = accept_one(l);
        read_until_eof(c);
        close(c);
        release.wait();  // keep the listener until the dump is done
        close(l);
        return 0;
    });
    ASSERT_TRUE(listening.wait());
    Child client(ns, [&] {
        int fd = connect_to(AF_INET, "127.0.0.1", 7000);
        if (fd < 0) {
            return 1;
        }
        close(fd);  // the client closes first: its side goes to TIME_WAIT
        return 0;
    });
    ASSERT_EQ(client.wait(), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));

    SockDiag diag(ns.path());
    std::vector<ListedSocket> sockets = diag.dump(AF_INET);
    release.open();
    ASSERT_EQ(server.wait(), 0);
    TracerRun run = tracer.stop();

    std::uint64_t listener_cookie = 0;
    std::uint64_t client_cookie = 0;
    int client_port = 0;
    for (auto& [cookie, events] : by_cookie(run.events)) {
        auto seq = sequence_of(events);
        if (seq.front() == "CLOSE->LISTEN") {
            listener_cookie = cookie;
        } else if (seq.front() == "CLOSE->SYN_SENT" && events.size() > 1) {
            client_cookie = cookie;
            client_port = events[1]["sport"].get<int>();
        }
    }
    ASSERT_NE(listener_cookie, 0u) << run.stdout_text;
    ASSERT_NE(client_cookie, 0u) << run.stdout_text;
    // Before 5.12 tracing programs cannot read socket cookies: the stream
    // carries tcpscope's own ids, and a listing joins it by tuple instead.
    const bool own_ids = (listener_cookie & TCPSCOPE_SYNTHETIC_ID) != 0;
    EXPECT_EQ(own_ids, !kernel_at_least(5, 12)) << run.stdout_text;
    EXPECT_EQ(own_ids, (client_cookie & TCPSCOPE_SYNTHETIC_ID) != 0);
    EXPECT_NE(run.stderr_text.find("corrections=0 "), std::string::npos)
        << "the tracer's listings matched its table: " << run.stderr_text;

    ASSERT_EQ(sockets.size(), 2u);
    auto find = [&](std::uint64_t cookie, std::uint16_t sport) {
        return std::find_if(sockets.begin(), sockets.end(), [&](const ListedSocket& s) {
            return own_ids ? s.sport == sport : s.cookie == cookie;
        });
    };
    auto listener = find(listener_cookie, 7000);
    ASSERT_NE(listener, sockets.end());
    EXPECT_EQ(listener->state, TcpState::Listen);
    EXPECT_EQ(listener->sport, 7000);
    EXPECT_NE(listener->inode, 0u);
    EXPECT_FALSE(listener->is_timewait);

    auto timewait = find(client_cookie, static_cast<std::uint16_t>(client_port));
    ASSERT_NE(timewait, sockets.end());
    EXPECT_EQ(timewait->state, TcpState::TimeWait);
    EXPECT_TRUE(timewait->is_timewait);
    EXPECT_EQ(timewait->dport, 7000);
    EXPECT_EQ(to_string(timewait->daddr), "127.0.0.1");
    EXPECT_GT(timewait->expires_ms, 50'000u);  // 60 s TIME_WAIT, just begun
}

TEST(SockDiag, RejectsAPathThatIsNotANamespace) {
    TCPSCOPE_REQUIRE_BPF();
    EXPECT_THROW(SockDiag("/run/netns/tcpscope-does-not-exist"), std::runtime_error);
}

}  // namespace
}  // namespace tcpscope::ktest

namespace tcpscope::ktest {
namespace {

std::string read_first_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

bool tcp_diag_is_a_module() {
    std::error_code ec;
    const std::string dir = "/lib/modules/" + run_shell("uname -r | tr -d '\\n'");
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (it->path().filename().string().starts_with("tcp_diag.ko")) {
            return true;
        }
    }
    return false;
}

// Unloads tcp_diag and points the kernel's module loader at /bin/false, so
// sock_diag cannot list TCP sockets until it is restored (always, on exit).
class TcpDiagUnavailable {
  public:
    TcpDiagUnavailable() : saved_modprobe_(read_first_line(kModprobe)) {
        std::ofstream(kModprobe) << "/bin/false\n";
        run_shell("modprobe -r tcp_diag 2>&1");
    }
    ~TcpDiagUnavailable() { std::ofstream(kModprobe) << saved_modprobe_ << "\n"; }
    TcpDiagUnavailable(const TcpDiagUnavailable&) = delete;
    TcpDiagUnavailable& operator=(const TcpDiagUnavailable&) = delete;

  private:
    static constexpr const char* kModprobe = "/proc/sys/kernel/modprobe";
    std::string saved_modprobe_;
};

// Debian's kernels build tcp_diag as a module: a host where it is missing and
// cannot be loaded must still trace, and netstat must say why it cannot run.
// Needs tcp_diag as a module (the kernel matrix's kernels); labelled
// `modular`, which the host's own run leaves out.
TEST(SockDiagUnavailable, TraceGoesOnWithoutReconciliationAndNetstatSaysWhy) {
    TCPSCOPE_REQUIRE_BPF();
    ASSERT_TRUE(tcp_diag_is_a_module())
        << "tcp_diag is built into this kernel, so it cannot be made unavailable: run this "
           "under scripts/test-kernels";
    TcpDiagUnavailable unavailable;
    ASSERT_FALSE(std::filesystem::exists("/sys/module/tcp_diag")) << "tcp_diag is still loaded";
    NetNamespace ns;

    std::string netstat = run_shell(tcpscope_binary() + " netstat -tan --netns " + ns.path() +
                                    " 2>&1 >/dev/null; echo \"rc=$?\"");
    EXPECT_NE(netstat.find("cannot list TCP sockets"), std::string::npos) << netstat;
    EXPECT_NE(netstat.find("rc=4"), std::string::npos) << netstat;
    EXPECT_EQ(std::count(netstat.begin(), netstat.end(), '\n'), 2) << "one line: " << netstat;

    TracerProcess tracer({"trace", "--json", "--netns", ns.path()});
    ASSERT_TRUE(tracer.wait_ready());
    Child server = serve_one_until_eof(ns, AF_INET, "127.0.0.1", 7001);
    Child client(ns, [] { return connect_and_close(AF_INET, "127.0.0.1", 7001); });
    ASSERT_EQ(client.wait(), 0);
    ASSERT_EQ(server.wait(), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    TracerRun run = tracer.stop();
    EXPECT_EQ(run.exit_status, 0) << run.stderr_text;
    const std::string& err = run.stderr_text;
    std::size_t warned = 0;
    for (std::size_t at = err.find("cannot list TCP sockets"); at != std::string::npos;
         at = err.find("cannot list TCP sockets", at + 1)) {
        ++warned;
    }
    EXPECT_EQ(warned, 1u) << err;
    EXPECT_NE(err.find("without reconciliation"), std::string::npos) << err;
    EXPECT_NE(err.find("reconciled=off"), std::string::npos) << err;
    std::size_t established = 0;
    for (const auto& e : run.events) {
        established += e["new"] == "ESTABLISHED" ? 1 : 0;
    }
    EXPECT_EQ(established, 2u) << "both sides traced: " << run.stdout_text;
}

}  // namespace
}  // namespace tcpscope::ktest
