#include <gtest/gtest.h>

#include "core/socket_filter.h"
#include "core/socket_table.h"
#include "tcpscope/event.h"

#include <sys/socket.h>
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

    // A passive close: no TIME_WAIT follows (see timewait_test.cpp for that).
    table.apply(transition(1, TcpState::Established, TcpState::CloseWait, 300));
    table.apply(transition(1, TcpState::CloseWait, TcpState::LastAck, 310));
    auto applied = table.apply(transition(1, TcpState::LastAck, TcpState::Close, 320));
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

namespace tcpscope {
namespace {

using testing::transition;

constexpr std::uint32_t kNetns = 4026531840u;

using testing::listed;

TEST(SocketTableReconcile, SeedsAnEmptyTableWithUnknownAges) {
    SocketTable table(16);
    auto r =
        table.reconcile({listed(1, TcpState::Listen), listed(2, TcpState::TimeWait)}, kNetns, 100);
    EXPECT_EQ(r.added, 2u);
    EXPECT_EQ(r.total(), 2u);
    ASSERT_NE(table.find(2), nullptr);
    EXPECT_EQ(table.find(2)->state, TcpState::TimeWait);
    EXPECT_FALSE(table.find(2)->entered_ns) << "a seeded socket's age is unknown";
    EXPECT_FALSE(table.find(2)->owner);
    EXPECT_EQ(table.find(2)->sport, 5000);
}

TEST(SocketTableReconcile, RemovesWhatTheKernelNoLongerHas) {
    SocketTable table(16);
    table.apply(transition(1, TcpState::Close, TcpState::SynSent, 50));
    table.reconcile({listed(2, TcpState::Listen)}, kNetns, 10);  // older listing: keep 1
    EXPECT_NE(table.find(1), nullptr);
    auto r = table.reconcile({}, kNetns, 100);  // newer listing without 1 and 2
    EXPECT_EQ(r.removed, 2u);
    EXPECT_EQ(table.size(), 0u);
}

TEST(SocketTableReconcile, FixesAStateTheStreamMissed) {
    SocketTable table(16);
    table.apply(transition(1, TcpState::Close, TcpState::SynSent, 50));
    auto r = table.reconcile({listed(1, TcpState::Established)}, kNetns, 100);
    EXPECT_EQ(r.fixed, 1u);
    EXPECT_EQ(table.find(1)->state, TcpState::Established);
    EXPECT_FALSE(table.find(1)->entered_ns);
    EXPECT_EQ(table.find(1)->owner->pid, 4242u) << "the owner survives reconciliation";
}

TEST(SocketTableReconcile, NewerEventsWinOverAnOlderListing) {
    SocketTable table(16);
    table.apply(transition(1, TcpState::Close, TcpState::SynSent, 50));
    table.apply(transition(1, TcpState::SynSent, TcpState::Established, 200));
    auto r = table.reconcile({listed(1, TcpState::SynSent)}, kNetns, 100);
    EXPECT_EQ(r.total(), 0u);
    EXPECT_EQ(table.find(1)->state, TcpState::Established);
}

// Kernels whose tracing programs cannot read socket cookies (before 5.12):
// the stream knows sockets by tcpscope's own ids, the listing by cookie.
ListedSocket listed_as(const Transition& t, std::uint64_t cookie, TcpState state) {
    ListedSocket s;
    s.cookie = cookie;
    s.state = state;
    s.saddr = t.saddr;
    s.daddr = t.daddr;
    s.sport = *t.sport;
    s.dport = t.dport;
    return s;
}

TEST(SocketTableReconcile, MatchesSyntheticIdsToListedCookiesByTuple) {
    SocketTable table(16);
    constexpr std::uint64_t kId = TCPSCOPE_SYNTHETIC_ID | 5;
    Transition open = transition(kId, TcpState::SynSent, TcpState::Established, 50);
    table.apply(open);
    auto r = table.reconcile({listed_as(open, 9001, TcpState::Established)}, kNetns, 100);
    EXPECT_EQ(r.total(), 0u) << "the same socket, not one removed and one added";
    ASSERT_NE(table.find(kId), nullptr);
    EXPECT_EQ(table.find(kId)->owner->pid, 4242u);
    ASSERT_EQ(table.find(9001), table.find(kId)) << "known by the listed cookie from now on";

    r = table.reconcile({listed_as(open, 9001, TcpState::CloseWait)}, kNetns, 200);
    EXPECT_EQ(r.fixed, 1u);
    EXPECT_EQ(table.find(kId)->state, TcpState::CloseWait);
    EXPECT_EQ(table.size(), 1u);

    table.apply(transition(kId, TcpState::CloseWait, TcpState::LastAck, 300));
    table.apply(transition(kId, TcpState::LastAck, TcpState::Close, 310));
    EXPECT_EQ(table.find(9001), nullptr) << "the alias leaves with its entry";
}

TEST(SocketTableReconcile, ReuseportListenersSharingATupleEachMatchOneEntry) {
    SocketTable table(16);
    Transition first = transition(TCPSCOPE_SYNTHETIC_ID | 1, TcpState::Close, TcpState::Listen, 50);
    Transition second = first;
    second.cookie = TCPSCOPE_SYNTHETIC_ID | 2;
    table.apply(first);
    table.apply(second);
    auto r = table.reconcile(
        {listed_as(first, 10, TcpState::Listen), listed_as(first, 11, TcpState::Listen)}, kNetns,
        100);
    EXPECT_EQ(r.total(), 0u);
    EXPECT_EQ(table.size(), 2u);
    r = table.reconcile({listed_as(first, 10, TcpState::Listen)}, kNetns, 200);
    EXPECT_EQ(r.removed, 1u) << "one listener closed unseen";
    EXPECT_EQ(table.size(), 1u);
}

TEST(SocketTableReconcile, ACookieSocketIsNeverMatchedByTuple) {
    SocketTable table(16);
    Transition open = transition(7, TcpState::SynSent, TcpState::Established, 50);
    table.apply(open);
    auto r = table.reconcile({listed_as(open, 8, TcpState::Established)}, kNetns, 100);
    EXPECT_EQ(r.added, 1u) << "cookies name sockets; an equal tuple is another socket";
    EXPECT_EQ(r.removed, 1u);
}

TEST(SocketTableReconcile, AListingOfKnownSocketsOnlyMakesNoLaterFirstSightAGap) {
    // --pid: the seed keeps only sockets the table holds (none yet), so a
    // socket of the traced process from before the tracer is news, not loss.
    SocketTable table(16);
    table.reconcile({}, kNetns, 10, ListingScope::KnownSocketsOnly);
    auto applied = table.apply(transition(1, TcpState::Established, TcpState::FinWait1, 50));
    EXPECT_FALSE(applied.gap);
    EXPECT_EQ(table.counters().gaps, 0u);

    table.reconcile({}, kNetns, 60);  // a whole-namespace listing
    applied = table.apply(transition(2, TcpState::Established, TcpState::CloseWait, 70));
    EXPECT_TRUE(applied.gap) << "after a whole listing, first sight mid-life is lost history";
}

// A slow handshake (the client's ACK lost once): a listing shows the request
// socket as SYN_RECV under the cookie its child takes over.
ListedSocket listed_request(std::uint64_t cookie) {
    ListedSocket s = listed(cookie, TcpState::SynRecv);
    s.is_request = true;
    return s;
}

TEST(SocketTableReconcile, AListedRequestSocketsChildIsNoGapAndNoCorrection) {
    SocketTable table(16);
    table.reconcile({}, kNetns, 10);  // the namespace is seeded
    auto r = table.reconcile({listed_request(1)}, kNetns, 100);
    EXPECT_EQ(r.total(), 0u) << "the stream never carries request sockets";
    ASSERT_NE(table.find(1), nullptr);
    EXPECT_EQ(table.find(1)->state, TcpState::SynRecv);

    auto applied = table.apply(transition(1, TcpState::Listen, TcpState::SynRecv, 150));
    EXPECT_FALSE(applied.gap) << "the child of the listed request, not lost history";
    table.apply(transition(1, TcpState::SynRecv, TcpState::Established, 151));
    EXPECT_EQ(table.counters().gaps, 0u);
    EXPECT_EQ(table.find(1)->owner->pid, 4242u);
    EXPECT_EQ(table.find(1)->entered_ns, 151u);

    r = table.reconcile({listed(1, TcpState::Established)}, kNetns, 200);
    EXPECT_EQ(r.total(), 0u);
}

TEST(SocketTableReconcile, ARequestSocketThatTimesOutLeavesSilently) {
    SocketTable table(16);
    table.reconcile({listed_request(1)}, kNetns, 100);
    auto r = table.reconcile({}, kNetns, 200);
    EXPECT_EQ(r.total(), 0u) << "request sockets end with no transition";
    EXPECT_EQ(table.size(), 0u);
}

TEST(SocketTableReconcile, ARequestWhoseChildsBirthWasMissedIsFixed) {
    SocketTable table(16);
    table.reconcile({listed_request(1)}, kNetns, 100);
    auto r = table.reconcile({listed(1, TcpState::Established)}, kNetns, 200);
    EXPECT_EQ(r.fixed, 1u);
    EXPECT_FALSE(table.find(1)->request);
    EXPECT_TRUE(table.apply(transition(1, TcpState::SynRecv, TcpState::Established, 250)).gap);
}

TEST(SocketTableReconcile, OnKernelsWithoutCookiesTheChildTakesOverTheListedRequest) {
    SocketTable table(16);
    table.reconcile({}, kNetns, 10);
    constexpr std::uint64_t kId = TCPSCOPE_SYNTHETIC_ID | 3;
    Transition born = transition(kId, TcpState::Listen, TcpState::SynRecv, 150);
    ListedSocket request = listed_as(born, 9001, TcpState::SynRecv);
    request.is_request = true;
    table.reconcile({request}, kNetns, 100);
    ASSERT_NE(table.find(9001), nullptr);

    EXPECT_FALSE(table.apply(born).gap);
    table.apply(transition(kId, TcpState::SynRecv, TcpState::Established, 151));
    auto r = table.reconcile({listed_as(born, 9001, TcpState::Established)}, kNetns, 200);
    EXPECT_EQ(r.total(), 0u) << "one socket: the child, known by the request's cookie";
    EXPECT_EQ(table.size(), 1u);
    ASSERT_EQ(table.find(9001), table.find(kId));
    EXPECT_EQ(table.find(kId)->owner->pid, 4242u);
}

TEST(SocketTableReconcile, LeavesOtherNamespacesAlone) {
    SocketTable table(16);
    Transition t = transition(1, TcpState::Close, TcpState::Listen, 50);
    t.netns = 7;
    table.apply(t);
    auto r = table.reconcile({}, kNetns, 100);
    EXPECT_EQ(r.removed, 0u);
    EXPECT_NE(table.find(1), nullptr);
}

}  // namespace
}  // namespace tcpscope

namespace tcpscope {
namespace {

TEST(SocketFilter, MatchesLikeTheKernelFilter) {
    SocketFilter any;
    EXPECT_TRUE(any.matches(AF_INET, 1, 2));

    SocketFilter v6{AF_INET6, {}};
    EXPECT_FALSE(v6.matches(AF_INET, 1, 2));
    EXPECT_TRUE(v6.matches(AF_INET6, 1, 2));

    SocketFilter ports{0,
                       {{80, PortSide::Either}, {8080, PortSide::Local}, {443, PortSide::Remote}}};
    EXPECT_TRUE(ports.matches(AF_INET, 80, 5));
    EXPECT_TRUE(ports.matches(AF_INET, 5, 80));
    EXPECT_TRUE(ports.matches(AF_INET, 8080, 5));
    EXPECT_FALSE(ports.matches(AF_INET, 5, 8080));
    EXPECT_TRUE(ports.matches(AF_INET, 5, 443));
    EXPECT_FALSE(ports.matches(AF_INET, 443, 5));
    EXPECT_FALSE(ports.matches(AF_INET, 1, 2));
}

}  // namespace
}  // namespace tcpscope

namespace tcpscope {
namespace {

TEST(SocketTableReconcile, AfterSeedingAMidLifeFirstSightIsAGap) {
    SocketTable table(16);
    table.reconcile({}, 4026531840u, 10);
    auto applied = table.apply(testing::transition(3, TcpState::Established, TcpState::FinWait1));
    EXPECT_TRUE(applied.gap);
    EXPECT_EQ(table.counters().gaps, 1u);
    EXPECT_TRUE(table.find(3)->history_gap);
    // Births are never gaps.
    EXPECT_FALSE(table.apply(testing::transition(4, TcpState::Close, TcpState::SynSent)).gap);
    EXPECT_FALSE(table.apply(testing::transition(5, TcpState::Listen, TcpState::SynRecv)).gap);
    // Another namespace was never listed: its first sights stay innocent.
    Transition other = testing::transition(6, TcpState::Established, TcpState::FinWait1);
    other.netns = 99;
    EXPECT_FALSE(table.apply(other).gap);
}

// timewait mode: the kernel sends only the FIN closes that leave a timewait
// socket, with the role it cached from the socket's first transition.
TEST(SocketTableReconcile, ASparseStreamIsNotAGapAndTakesTheKernelsRole) {
    SocketTable table(16);
    table.set_sparse(true);
    table.reconcile({listed(1, TcpState::Established)}, kNetns, 10);
    Transition birth = testing::transition(1, TcpState::FinWait2, TcpState::Close, 20);
    birth.role = SocketRole::Client;
    auto applied = table.apply(birth);
    EXPECT_FALSE(applied.gap);
    ASSERT_TRUE(applied.timewait_born);
    EXPECT_EQ(table.find(1)->role, SocketRole::Client) << "a listed socket learns its role";

    Transition unseen = testing::transition(2, TcpState::Closing, TcpState::Close, 30);
    unseen.role = SocketRole::Server;
    applied = table.apply(unseen);
    EXPECT_FALSE(applied.gap);
    ASSERT_TRUE(applied.timewait_born);
    EXPECT_EQ(table.find(2)->role, SocketRole::Server);
    EXPECT_EQ(table.find(2)->state, TcpState::TimeWait);
    EXPECT_EQ(table.counters().gaps, 0u);

    // The same stream in a full-stream table is two gaps.
    SocketTable full(16);
    full.reconcile({listed(1, TcpState::Established)}, kNetns, 10);
    full.apply(birth);
    full.apply(unseen);
    EXPECT_EQ(full.counters().gaps, 2u);
    EXPECT_EQ(full.find(2)->role, SocketRole::Server);
}

}  // namespace
}  // namespace tcpscope

namespace tcpscope {
namespace {

// count_in_state() is kept by every change rather than counted: after any
// mix of transitions, listings, expiries and evictions it must equal a count.
void expect_counts_match_a_scan(const SocketTable& table) {
    std::array<std::size_t, 16> scanned{};
    table.for_each([&](const SocketEntry& e) { ++scanned[static_cast<std::size_t>(e.state)]; });
    for (std::uint8_t s = 1; s <= 12; ++s) {
        ASSERT_EQ(table.count_in_state(static_cast<TcpState>(s)), scanned[s])
            << state_name(static_cast<TcpState>(s));
    }
}

TEST(SocketTableCounts, StateCountsFollowEveryKindOfChange) {
    constexpr std::uint32_t kNs = 7;
    constexpr std::uint64_t kSec = 1'000'000'000ull;
    SocketTable table(64);  // small: the storm below also evicts
    std::uint64_t ts = kSec;
    std::uint32_t seed = 12345;
    auto next = [&] { return seed = seed * 1103515245u + 12345u, (seed >> 16) & 0x7fff; };
    const TcpState path[] = {TcpState::Close,    TcpState::SynSent,  TcpState::Established,
                             TcpState::FinWait1, TcpState::FinWait2, TcpState::Close};
    std::array<int, 200> step{};  // where each cookie is on its path
    for (int i = 0; i < 20'000; ++i) {
        ts += 1'000'000;
        const std::uint64_t cookie = next() % step.size();
        int& at = step[cookie];
        Transition t = transition(cookie + 1, path[at], path[at + 1], ts);
        t.netns = kNs;
        t.sk_err = next() % 4 == 0 ? 104 : 0;  // some resets: no TIME_WAIT
        table.apply(t);
        at = at + 1 == 5 ? 0 : at + 1;
        if (i % 997 == 0) {
            // A listing that shows a few sockets in other states and misses the rest.
            std::vector<ListedSocket> listing;
            for (std::uint64_t c = 1; c <= 10; ++c) {
                ListedSocket s = listed(c, c % 2 ? TcpState::TimeWait : TcpState::CloseWait);
                s.is_timewait = c % 2 == 1;
                s.expires_ms = 1000;
                listing.push_back(s);
            }
            table.reconcile(listing, kNs, ts - 500'000);
        }
        if (i % 1500 == 0) {
            table.expire_timewait(ts + 120 * kSec * (i % 3000 == 0), kSec);
        }
        expect_counts_match_a_scan(table);
    }
    EXPECT_GT(table.counters().evictions, 0u);
    EXPECT_GT(table.count_in_state(TcpState::TimeWait), 0u);
}

TEST(SocketTableCounts, AListingThatMovesAnExpiryEarlierStillExpiresOnTime) {
    constexpr std::uint64_t kSec = 1'000'000'000ull;
    SocketTable table(16);
    Transition fin = transition(1, TcpState::FinWait2, TcpState::Close, 100 * kSec);
    fin.netns = kNetns;
    table.apply(fin);  // inferred: expires at 160 s
    ListedSocket tw = listed(1, TcpState::TimeWait);
    tw.is_timewait = true;
    tw.expires_ms = 5'000;
    table.reconcile({tw}, kNetns, 101 * kSec);  // the kernel says 106 s
    EXPECT_TRUE(table.expire_timewait(107 * kSec, kSec).empty());
    auto ended = table.expire_timewait(108 * kSec, kSec);
    ASSERT_EQ(ended.size(), 1u);
    EXPECT_EQ(ended[0].ended_ns, 106 * kSec);
    EXPECT_EQ(table.count_in_state(TcpState::TimeWait), 0u);
}

}  // namespace
}  // namespace tcpscope
