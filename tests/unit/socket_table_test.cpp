#include <gtest/gtest.h>

#include "core/socket_table.h"
#include "unit/event_builder.h"

namespace tcpscope {
namespace {

using testing::transition;

TEST(SocketTable, FollowsALifecycleAndDropsTheSocketAtClose) {
    SocketTable table(16);
    table.apply(transition(1, TcpState::Close, TcpState::SynSent, 100));
    ASSERT_NE(table.find(1), nullptr);
    EXPECT_EQ(table.find(1)->state, TcpState::SynSent);
    EXPECT_EQ(table.find(1)->entered_ns, 100u);

    table.apply(transition(1, TcpState::SynSent, TcpState::Established, 250));
    EXPECT_EQ(table.find(1)->state, TcpState::Established);
    EXPECT_EQ(table.find(1)->entered_ns, 250u);

    table.apply(transition(1, TcpState::Established, TcpState::FinWait1, 300));
    table.apply(transition(1, TcpState::FinWait1, TcpState::FinWait2, 310));
    auto applied = table.apply(transition(1, TcpState::FinWait2, TcpState::Close, 320));
    EXPECT_EQ(table.find(1), nullptr);
    EXPECT_EQ(table.size(), 0u);
    ASSERT_TRUE(applied.closed);
    EXPECT_EQ(applied.closed->state, TcpState::Close);
    EXPECT_EQ(table.counters().gaps, 0u);
    EXPECT_EQ(table.counters().inserted, 1u);
}

TEST(SocketTable, KeysByCookieNotByAddress) {
    SocketTable table(16);
    // Same tuple, two sockets (address reuse): two entries.
    table.apply(transition(1, TcpState::Close, TcpState::SynSent));
    table.apply(transition(2, TcpState::Close, TcpState::SynSent));
    EXPECT_EQ(table.size(), 2u);
}

TEST(SocketTable, LaterEventsCompleteTheTuple) {
    SocketTable table(16);
    Transition connect = transition(1, TcpState::Close, TcpState::SynSent);
    connect.sport.reset();  // port not chosen yet at connect()
    table.apply(connect);
    EXPECT_FALSE(table.find(1)->sport);

    table.apply(transition(1, TcpState::SynSent, TcpState::Established));
    EXPECT_EQ(table.find(1)->sport, 40000);
}

TEST(SocketTable, AWildcardNeverOverwritesAKnownAddress) {
    SocketTable table(16);
    table.apply(transition(1, TcpState::Close, TcpState::SynSent));
    Transition later = transition(1, TcpState::SynSent, TcpState::Established);
    later.daddr = testing::ipv4("0.0.0.0");
    table.apply(later);
    EXPECT_EQ(to_string(table.find(1)->daddr), "127.0.0.1");
}

TEST(SocketTable, CountsGapsWhenOldStateDisagrees) {
    SocketTable table(16);
    table.apply(transition(1, TcpState::Close, TcpState::SynSent));
    // SYN_SENT->ESTABLISHED was lost.
    auto applied = table.apply(transition(1, TcpState::Established, TcpState::FinWait1));
    EXPECT_TRUE(applied.gap);
    EXPECT_EQ(table.counters().gaps, 1u);
    EXPECT_TRUE(table.find(1)->history_gap);
    EXPECT_EQ(table.find(1)->state, TcpState::FinWait1);
}

TEST(SocketTable, FirstSightOfAnOlderSocketIsNotAGap) {
    SocketTable table(16);
    auto applied = table.apply(transition(9, TcpState::Established, TcpState::FinWait1));
    EXPECT_FALSE(applied.gap);
    EXPECT_EQ(table.counters().gaps, 0u);
    EXPECT_EQ(table.size(), 1u);
}

TEST(SocketTable, CloseOfAnUnknownSocketLeavesNoEntry) {
    SocketTable table(16);
    table.apply(transition(5, TcpState::LastAck, TcpState::Close));
    EXPECT_EQ(table.size(), 0u);
}

TEST(SocketTable, KeepsTheOwnerWhenAnEventHasNone) {
    SocketTable table(16);
    table.apply(transition(1, TcpState::Close, TcpState::SynSent));
    Transition anonymous = transition(1, TcpState::SynSent, TcpState::Established);
    anonymous.owner.reset();
    table.apply(anonymous);
    ASSERT_TRUE(table.find(1)->owner);
    EXPECT_EQ(table.find(1)->owner->pid, 4242u);
}

TEST(SocketTable, EvictsTheIdlestWhenFullAndCounts) {
    SocketTable table(8);
    for (std::uint64_t cookie = 1; cookie <= 8; ++cookie) {
        table.apply(transition(cookie, TcpState::Close, TcpState::SynSent, cookie * 10));
    }
    EXPECT_EQ(table.size(), 8u);
    table.apply(transition(100, TcpState::Close, TcpState::SynSent, 1000));
    EXPECT_LE(table.size(), 8u);
    EXPECT_EQ(table.counters().evictions, 1u);
    EXPECT_EQ(table.find(1), nullptr) << "the idlest socket goes first";
    EXPECT_NE(table.find(100), nullptr);
    EXPECT_NE(table.find(8), nullptr);
}

TEST(SocketTable, RejectsZeroCapacity) {
    EXPECT_THROW(SocketTable(0), std::invalid_argument);
}

}  // namespace
}  // namespace tcpscope
