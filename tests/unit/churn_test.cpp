#include <gtest/gtest.h>

#include "core/churn.h"
#include "unit/event_builder.h"

namespace tcpscope {
namespace {

using testing::transition;

struct Fixture {
    SocketTable table{64};
    ChurnTracker churn;

    void feed(const Transition& t) {
        bool known = table.find(t.cookie) != nullptr;
        churn.observe(t, known, table.apply(t));
    }
};

ListedSocket listed(std::uint64_t cookie, TcpState state) {
    ListedSocket s;
    s.cookie = cookie;
    s.state = state;
    return s;
}

TEST(Churn, ASocketBornAndClosedBetweenTablesIsReportedOnce) {
    Fixture f;
    f.feed(transition(1, TcpState::Close, TcpState::SynSent, 1'000));
    f.feed(transition(1, TcpState::SynSent, TcpState::Established, 2'000));
    f.feed(transition(1, TcpState::Established, TcpState::Close, 5'000));
    auto gone = f.churn.collect({});
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0].born_ns, 1'000u);
    EXPECT_EQ(gone[0].closed_ns, 5'000u);
    EXPECT_EQ(gone[0].final_from, TcpState::Established);
    EXPECT_EQ(gone[0].last.owner->pid, 4242u);
    EXPECT_TRUE(f.churn.collect({}).empty());
}

TEST(Churn, SocketsATableShowedOrThatPredateUsAreNotShortLived) {
    Fixture f;
    f.feed(transition(1, TcpState::Close, TcpState::SynSent, 1'000));
    EXPECT_TRUE(f.churn.collect({listed(1, TcpState::SynSent)}).empty());  // seen by polling
    f.feed(transition(1, TcpState::SynSent, TcpState::Close, 2'000));
    // A socket first seen mid-life (it predates the tracer).
    f.feed(transition(2, TcpState::Established, TcpState::FinWait1, 3'000));
    f.feed(transition(2, TcpState::FinWait1, TcpState::Close, 4'000));
    EXPECT_TRUE(f.churn.collect({}).empty());
}

TEST(Churn, AClosedSocketLivingOnInTimeWaitIsLeftToTheTable) {
    Fixture f;
    f.feed(transition(1, TcpState::Close, TcpState::SynSent, 1'000));
    f.feed(transition(1, TcpState::SynSent, TcpState::Established, 2'000));
    f.feed(transition(1, TcpState::Established, TcpState::FinWait1, 3'000));
    f.feed(transition(1, TcpState::FinWait1, TcpState::FinWait2, 3'500));
    f.feed(transition(1, TcpState::FinWait2, TcpState::Close, 4'000));
    // A child of a listener, gone before the table.
    f.feed(transition(2, TcpState::Listen, TcpState::SynRecv, 1'500));
    f.feed(transition(2, TcpState::SynRecv, TcpState::Established, 1'600));
    f.feed(transition(2, TcpState::Established, TcpState::CloseWait, 3'600));
    f.feed(transition(2, TcpState::CloseWait, TcpState::LastAck, 3'700));
    f.feed(transition(2, TcpState::LastAck, TcpState::Close, 4'100));
    auto gone = f.churn.collect({listed(1, TcpState::TimeWait)});
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0].last.cookie, 2u);
    EXPECT_EQ(gone[0].closed_ns - gone[0].born_ns, 2'600u);
}

TEST(SocketTableContinueClosed, AFinCloseStaysInTheTableAsTimeWaitWithItsOwner) {
    SocketTable table(16);
    table.apply(transition(1, TcpState::Close, TcpState::SynSent, 1'000));
    table.apply(transition(1, TcpState::SynSent, TcpState::Established, 2'000));
    table.apply(transition(1, TcpState::Established, TcpState::FinWait1, 3'000));
    table.apply(transition(1, TcpState::FinWait1, TcpState::FinWait2, 3'500));
    Transition close = transition(1, TcpState::FinWait2, TcpState::Close, 4'000);
    close.dur_ns = 500;
    auto applied = table.apply(close);
    EXPECT_FALSE(applied.closed) << "a FIN close leaves a timewait socket, not a closed one";
    ASSERT_TRUE(applied.timewait_born);
    const SocketEntry* e = table.find(1);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->state, TcpState::TimeWait);
    EXPECT_EQ(e->owner->pid, 4242u);
    EXPECT_EQ(e->entered_ns, 4'000u);

    ListedSocket tw;
    tw.cookie = 1;
    tw.state = TcpState::TimeWait;
    tw.is_timewait = true;
    EXPECT_EQ(table.reconcile({tw}, close.netns, 5'000).total(), 0u)
        << "the listing confirms the inferred TIME_WAIT";
}

// The table counts every timewait socket as TIME_WAIT (it holds a bucket and
// a port either way), including an orphan still in its FIN_WAIT2 substate:
// its time in state starts at the full socket's close.
TEST(SocketTableContinueClosed, AnOrphanFinWait2TimewaitSocketKeepsOwnerAndCloseTime) {
    SocketEntry last;
    last.cookie = 1;
    last.state = TcpState::FinWait2;
    last.owner = Owner{4242, "client", OwnerSource::Current};
    Transition close = transition(1, TcpState::FinWait2, TcpState::Close, 4'000);
    close.dur_ns = 500;
    ClosedSocket closed = ClosedSocket::of(close, last);

    SocketTable orphan(16);
    EXPECT_FALSE(orphan.continue_closed(closed)) << "not listed yet";
    ListedSocket fw2;
    fw2.cookie = 1;
    fw2.state = TcpState::FinWait2;
    fw2.is_timewait = true;
    orphan.reconcile({fw2}, close.netns, 5'000);
    ASSERT_TRUE(orphan.continue_closed(closed));
    EXPECT_EQ(orphan.find(1)->state, TcpState::TimeWait);
    EXPECT_EQ(orphan.find(1)->entered_ns, 4'000u);
    EXPECT_EQ(orphan.find(1)->owner->pid, 4242u);
}

}  // namespace
}  // namespace tcpscope
