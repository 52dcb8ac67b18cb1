// sock_diag listings carry the same cookies as the BPF event stream, and see
// TIME_WAIT sockets (the timewait socket inherits the full socket's cookie).
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "kernel/harness.h"
#include "kernel/sock_diag.h"

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
    for (auto& [cookie, events] : by_cookie(run.events)) {
        auto seq = sequence_of(events);
        if (seq.front() == "CLOSE->LISTEN") {
            listener_cookie = cookie;
        } else if (seq.front() == "CLOSE->SYN_SENT") {
            client_cookie = cookie;
        }
    }
    ASSERT_NE(listener_cookie, 0u) << run.stdout_text;
    ASSERT_NE(client_cookie, 0u) << run.stdout_text;

    ASSERT_EQ(sockets.size(), 2u);
    auto find = [&](std::uint64_t cookie) {
        return std::find_if(sockets.begin(), sockets.end(),
                            [&](const ListedSocket& s) { return s.cookie == cookie; });
    };
    auto listener = find(listener_cookie);
    ASSERT_NE(listener, sockets.end());
    EXPECT_EQ(listener->state, TcpState::Listen);
    EXPECT_EQ(listener->sport, 7000);
    EXPECT_NE(listener->inode, 0u);
    EXPECT_FALSE(listener->is_timewait);

    auto timewait = find(client_cookie);
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
