#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstring>

#include "core/decode.h"
#include "unit/event_builder.h"

namespace tcpscope {
namespace {

using testing::raw_event;

TEST(Decode, TheTwoRecoveryMechanismsAreToldApart) {
    tcpscope_event backup = raw_event(1, TcpState::SynSent, TcpState::Close);
    backup.flags |= TCPSCOPE_F_RECOVERED;
    auto t = decode_event(&backup, sizeof(backup));
    ASSERT_TRUE(t);
    EXPECT_TRUE(t->recovered);
    EXPECT_FALSE(t->recovered_at_connect);

    tcpscope_event at_connect = raw_event(2, TcpState::SynSent, TcpState::Close);
    at_connect.flags |= TCPSCOPE_F_RECOVERED_AT_CONNECT;
    t = decode_event(&at_connect, sizeof(at_connect));
    ASSERT_TRUE(t);
    EXPECT_FALSE(t->recovered) << "not the backup program's";
    EXPECT_TRUE(t->recovered_at_connect);
}

TEST(Decode, CopiesEveryField) {
    tcpscope_event e = raw_event(77, TcpState::SynSent, TcpState::Close);
    e.flags |= TCPSCOPE_F_DUR_KNOWN | TCPSCOPE_F_SOFTIRQ;
    e.dur_ns = 1500;
    e.sk_err = 111;
    e.syn_retrans = 2;

    auto t = decode_event(&e, sizeof(e));
    ASSERT_TRUE(t);
    EXPECT_EQ(t->ts_ns, 5'000'000'000u);
    EXPECT_EQ(t->cookie, 77u);
    EXPECT_EQ(t->netns, 4026531840u);
    EXPECT_EQ(to_string(t->saddr), "10.0.0.1");
    EXPECT_EQ(to_string(t->daddr), "10.0.0.2");
    EXPECT_EQ(t->sport, 40000);
    EXPECT_EQ(t->dport, 80);
    EXPECT_EQ(t->old_state, TcpState::SynSent);
    EXPECT_EQ(t->new_state, TcpState::Close);
    EXPECT_EQ(t->dur_ns, 1500u);
    ASSERT_TRUE(t->owner);
    EXPECT_EQ(t->owner->pid, 1234u);
    EXPECT_EQ(t->owner->comm, "curl");
    EXPECT_EQ(t->owner->source, OwnerSource::Current);
    EXPECT_EQ(t->sk_err, 111);
    EXPECT_TRUE(t->softirq);
    EXPECT_EQ(t->syn_retrans, 2);
}

TEST(Decode, UnknownsStayUnknown) {
    tcpscope_event e = raw_event(1, TcpState::Close, TcpState::SynSent);
    e.pid = 0;
    e.comm[0] = '\0';
    e.flags = TCPSCOPE_F_SPORT_UNKNOWN;
    e.sport = 0;
    e.dur_ns = 999;  // must be ignored without TCPSCOPE_F_DUR_KNOWN

    auto t = decode_event(&e, sizeof(e));
    ASSERT_TRUE(t);
    EXPECT_FALSE(t->owner);
    EXPECT_FALSE(t->sport);
    EXPECT_FALSE(t->dur_ns);
}

TEST(Decode, OwnerSourceFollowsFlags) {
    tcpscope_event e = raw_event(1, TcpState::Listen, TcpState::SynRecv);
    e.flags = TCPSCOPE_F_OWNER_LISTENER;
    EXPECT_EQ(decode_event(&e, sizeof(e))->owner->source, OwnerSource::Listener);
    e.flags = TCPSCOPE_F_OWNER_CACHED;
    EXPECT_EQ(decode_event(&e, sizeof(e))->owner->source, OwnerSource::Cached);
}

TEST(Decode, RoleFollowsFlags) {
    tcpscope_event e = raw_event(1, TcpState::FinWait2, TcpState::Close);
    EXPECT_EQ(decode_event(&e, sizeof(e))->role, SocketRole::Unknown);
    e.flags = TCPSCOPE_F_ROLE_CLIENT;
    EXPECT_EQ(decode_event(&e, sizeof(e))->role, SocketRole::Client);
    e.flags = TCPSCOPE_F_ROLE_SERVER;
    EXPECT_EQ(decode_event(&e, sizeof(e))->role, SocketRole::Server);
}

TEST(Decode, CommWithoutTerminatorIsBounded) {
    tcpscope_event e = raw_event(1, TcpState::Established, TcpState::FinWait1);
    std::memset(e.comm, 'x', sizeof(e.comm));
    auto t = decode_event(&e, sizeof(e));
    ASSERT_TRUE(t);
    EXPECT_EQ(t->owner->comm, std::string(16, 'x'));
}

TEST(Decode, RejectsShortRecords) {
    tcpscope_event e = raw_event(1, TcpState::Close, TcpState::SynSent);
    EXPECT_FALSE(decode_event(&e, sizeof(e) - 1));
    EXPECT_FALSE(decode_event(nullptr, sizeof(e)));
}

TEST(Decode, RejectsStatesAndFamiliesTheKernelNeverSends) {
    tcpscope_event e = raw_event(1, TcpState::Close, TcpState::SynSent);
    e.newstate = 13;
    EXPECT_FALSE(decode_event(&e, sizeof(e)));
    e.newstate = 0;
    EXPECT_FALSE(decode_event(&e, sizeof(e)));
    e = raw_event(1, TcpState::Close, TcpState::SynSent);
    e.family = AF_UNIX;
    EXPECT_FALSE(decode_event(&e, sizeof(e)));
}

TEST(Decode, Ipv6Addresses) {
    tcpscope_event e = raw_event(1, TcpState::Close, TcpState::Listen);
    e.family = AF_INET6;
    std::memset(e.saddr, 0, 16);
    e.saddr[15] = 1;
    auto t = decode_event(&e, sizeof(e));
    ASSERT_TRUE(t);
    EXPECT_EQ(to_string(t->saddr), "::1");
    EXPECT_EQ(format_endpoint(t->saddr, t->sport), "[::1]:40000");
}

}  // namespace
}  // namespace tcpscope
