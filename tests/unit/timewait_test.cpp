// TIME_WAIT inference in the socket table, its reconciliation against
// listings, and the `timewait` aggregation, on synthetic transitions.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "core/listing_schedule.h"
#include "core/socket_table.h"
#include "core/timewait_stats.h"
#include "unit/event_builder.h"

namespace tcpscope {
namespace {

using testing::transition;

constexpr std::uint32_t kNetns = 4026531840u;
constexpr std::uint64_t kSec = 1'000'000'000ull;

// An active close from ESTABLISHED, ending at ts with the full socket's ->CLOSE.
SocketTable::Applied active_close(SocketTable& table, std::uint64_t cookie, std::uint64_t ts,
                                  TcpState last = TcpState::FinWait2, int sk_err = 0) {
    table.apply(transition(cookie, TcpState::Close, TcpState::SynSent, ts - 40));
    table.apply(transition(cookie, TcpState::SynSent, TcpState::Established, ts - 30));
    table.apply(transition(cookie, TcpState::Established, TcpState::FinWait1, ts - 20));
    table.apply(transition(cookie, TcpState::FinWait1, last, ts - 10));
    Transition close = transition(cookie, last, TcpState::Close, ts);
    close.sk_err = sk_err;
    close.dur_ns = 10;
    return table.apply(close);
}

ListedSocket listed_timewait(std::uint64_t cookie, std::uint32_t expires_ms,
                             std::uint16_t sport = 40000) {
    ListedSocket s;
    s.cookie = cookie;
    s.state = TcpState::TimeWait;
    s.is_timewait = true;
    s.saddr = testing::ipv4("127.0.0.1");
    s.daddr = testing::ipv4("127.0.0.1");
    s.sport = sport;
    s.dport = 8080;
    s.expires_ms = expires_ms;
    return s;
}

TEST(TimewaitInference, AFinCloseFromFinWait2LeavesATimeWaitEntry) {
    SocketTable table(16);
    auto applied = active_close(table, 1, 10 * kSec);
    EXPECT_FALSE(applied.closed);
    ASSERT_TRUE(applied.timewait_born);
    const Transition& born = *applied.timewait_born;
    EXPECT_TRUE(born.inferred);
    EXPECT_EQ(born.old_state, TcpState::FinWait2);
    EXPECT_EQ(born.new_state, TcpState::TimeWait);
    EXPECT_EQ(born.ts_ns, 10 * kSec);
    EXPECT_EQ(born.dur_ns, 10u) << "time in FIN_WAIT2, as the kernel's event says";
    EXPECT_EQ(born.owner->pid, 4242u);

    const SocketEntry* e = table.find(1);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->state, TcpState::TimeWait);
    EXPECT_EQ(e->entered_ns, 10 * kSec);
    EXPECT_EQ(e->expires_ns, 70 * kSec);
    EXPECT_EQ(e->role, SocketRole::Client);
    EXPECT_EQ(table.count_in_state(TcpState::TimeWait), 1u);
    EXPECT_EQ(table.counters().gaps, 0u);
}

TEST(TimewaitInference, SimultaneousCloseFromClosingToo) {
    SocketTable table(16);
    auto applied = active_close(table, 1, 10 * kSec, TcpState::Closing);
    ASSERT_TRUE(applied.timewait_born);
    EXPECT_EQ(applied.timewait_born->old_state, TcpState::Closing);
}

TEST(TimewaitInference, AResetCloseLeavesNoTimeWait) {
    SocketTable table(16);
    auto applied = active_close(table, 1, 10 * kSec, TcpState::FinWait2, 104);
    EXPECT_FALSE(applied.timewait_born);
    EXPECT_TRUE(applied.closed);
    EXPECT_EQ(table.find(1), nullptr);
}

TEST(TimewaitInference, OtherClosesLeaveNoTimeWait) {
    SocketTable table(16);
    table.apply(transition(1, TcpState::Close, TcpState::SynSent, 1));
    auto applied = table.apply(transition(1, TcpState::SynSent, TcpState::Close, 2));
    EXPECT_FALSE(applied.timewait_born);
    table.apply(transition(2, TcpState::Listen, TcpState::SynRecv, 1));
    table.apply(transition(2, TcpState::SynRecv, TcpState::Established, 2));
    table.apply(transition(2, TcpState::Established, TcpState::CloseWait, 3));
    table.apply(transition(2, TcpState::CloseWait, TcpState::LastAck, 4));
    applied = table.apply(transition(2, TcpState::LastAck, TcpState::Close, 5));
    EXPECT_FALSE(applied.timewait_born);
    EXPECT_EQ(table.size(), 0u);
}

TEST(TimewaitInference, ASocketThatPredatesTheTracerStillCounts) {
    SocketTable table(16);
    auto applied = table.apply(transition(9, TcpState::FinWait2, TcpState::Close, 5 * kSec));
    ASSERT_TRUE(applied.timewait_born);
    EXPECT_EQ(table.find(9)->state, TcpState::TimeWait);
    EXPECT_EQ(table.find(9)->role, SocketRole::Unknown);
}

TEST(TimewaitInference, AcceptedSocketsAreServerSide) {
    SocketTable table(16);
    table.apply(transition(3, TcpState::Listen, TcpState::SynRecv, 1));
    table.apply(transition(3, TcpState::SynRecv, TcpState::Established, 2));
    table.apply(transition(3, TcpState::Established, TcpState::FinWait1, 3));
    table.apply(transition(3, TcpState::FinWait1, TcpState::FinWait2, 4));
    table.apply(transition(3, TcpState::FinWait2, TcpState::Close, 5));
    EXPECT_EQ(table.find(3)->role, SocketRole::Server);
}

TEST(TimewaitReconcileTest, ConfirmsAndTakesTheKernelsExpiry) {
    SocketTable table(16);
    active_close(table, 1, 10 * kSec);
    auto r = table.reconcile({listed_timewait(1, 59'000)}, kNetns, 11 * kSec);
    EXPECT_EQ(r.total(), 0u);
    EXPECT_TRUE(r.timewait_missed.empty());
    EXPECT_TRUE(table.find(1)->timewait_confirmed);
    EXPECT_EQ(table.find(1)->expires_ns, 70 * kSec);
}

TEST(TimewaitReconcileTest, AnEarlyDisappearanceIsAnEarlyDeath) {
    SocketTable table(16);
    active_close(table, 1, 10 * kSec);
    auto r = table.reconcile({}, kNetns, 12 * kSec);
    ASSERT_EQ(r.timewait_ended.size(), 1u);
    EXPECT_TRUE(r.timewait_ended[0].early);
    EXPECT_EQ(r.early_deaths, 1u);
    EXPECT_EQ(table.find(1), nullptr);

    Transition end = timewait_end_transition(r.timewait_ended[0]);
    EXPECT_TRUE(end.inferred);
    EXPECT_EQ(end.old_state, TcpState::TimeWait);
    EXPECT_EQ(end.new_state, TcpState::Close);
    EXPECT_EQ(end.ts_ns, 12 * kSec);
    EXPECT_EQ(end.dur_ns, 2 * kSec);
    EXPECT_EQ(end.owner->pid, 4242u);
}

TEST(TimewaitReconcileTest, ADisappearanceAfterExpiryIsANormalEnd) {
    SocketTable table(16);
    active_close(table, 1, 10 * kSec);
    auto r = table.reconcile({}, kNetns, 71 * kSec);
    ASSERT_EQ(r.timewait_ended.size(), 1u);
    EXPECT_FALSE(r.timewait_ended[0].early);
    EXPECT_EQ(r.timewait_ended[0].ended_ns, 70 * kSec) << "ends at its expiry, not at the listing";
    EXPECT_EQ(r.early_deaths, 0u);
}

TEST(TimewaitReconcileTest, EntriesNewerThanTheListingStay) {
    SocketTable table(16);
    active_close(table, 1, 10 * kSec);
    auto r = table.reconcile({}, kNetns, 9 * kSec);
    EXPECT_TRUE(r.timewait_ended.empty());
    EXPECT_NE(table.find(1), nullptr);
}

TEST(TimewaitReconcileTest, AMissedFinCloseIsFixedAndTheLateEventIgnored) {
    SocketTable table(16);
    table.apply(transition(1, TcpState::Close, TcpState::SynSent, 1));
    table.apply(transition(1, TcpState::SynSent, TcpState::Established, 2));
    auto r = table.reconcile({listed_timewait(1, 60'000)}, kNetns, 3 * kSec);
    EXPECT_EQ(r.fixed, 1u);
    ASSERT_EQ(r.timewait_missed.size(), 1u);
    EXPECT_EQ(table.find(1)->state, TcpState::TimeWait);
    // The ->CLOSE that was still in the ring buffer: no second birth, no gap.
    auto applied = table.apply(transition(1, TcpState::FinWait2, TcpState::Close, 2 * kSec));
    EXPECT_FALSE(applied.timewait_born);
    EXPECT_EQ(table.counters().gaps, 0u);
}

TEST(TimewaitReconcileTest, AnUntrackedTimewaitSocketIsAMissedBirth) {
    SocketTable table(16);
    ListedSocket orphan = listed_timewait(2, 30'000, 40001);
    orphan.state = TcpState::FinWait2;  // substate: still waiting for the peer's FIN
    auto r = table.reconcile({orphan}, kNetns, 3 * kSec);
    EXPECT_EQ(r.added, 1u);
    ASSERT_EQ(r.timewait_missed.size(), 1u);
    ASSERT_NE(table.find(2), nullptr);
    EXPECT_EQ(table.find(2)->state, TcpState::TimeWait) << "the live table shows TIME_WAIT";
    EXPECT_FALSE(table.find(2)->entered_ns);
    EXPECT_EQ(table.find(2)->expires_ns, 33 * kSec);
    // Listed again in its substate: nothing to fix.
    EXPECT_EQ(table.reconcile({orphan}, kNetns, 4 * kSec).total(), 0u);
}

TEST(TimewaitReconcileTest, OtherSocketsEndWithoutTimewaitReports) {
    SocketTable table(16);
    table.apply(transition(1, TcpState::Close, TcpState::SynSent, 1));
    auto r = table.reconcile({}, kNetns, 3 * kSec);
    EXPECT_EQ(r.removed, 1u);
    EXPECT_TRUE(r.timewait_ended.empty());
}

TEST(TimewaitReconcileTest, ListingsOfAnotherNamespaceDoNotEndEntries) {
    SocketTable table(16);
    active_close(table, 1, 10 * kSec);
    auto r = table.reconcile({}, 7, 12 * kSec);
    EXPECT_TRUE(r.timewait_ended.empty());
}

TEST(TimewaitExpiry, EndsEntriesPastTheirExpiryAndGrace) {
    SocketTable table(16);
    active_close(table, 1, 10 * kSec);
    EXPECT_TRUE(table.expire_timewait(71 * kSec, 2 * kSec).empty());
    auto ended = table.expire_timewait(73 * kSec, 2 * kSec);
    ASSERT_EQ(ended.size(), 1u);
    EXPECT_FALSE(ended[0].early);
    EXPECT_EQ(ended[0].ended_ns, 70 * kSec);
    EXPECT_EQ(table.size(), 0u);
}

SocketEntry timewait_entry(const char* daddr, std::uint16_t dport, std::uint16_t sport,
                           std::uint32_t pid, const char* comm,
                           SocketRole role = SocketRole::Client) {
    SocketEntry e;
    e.state = TcpState::TimeWait;
    e.saddr = testing::ipv4("127.0.0.1");
    e.daddr = testing::ipv4(daddr);
    e.dport = dport;
    e.sport = sport;
    e.owner = Owner{pid, comm, OwnerSource::Cached};
    e.role = role;
    return e;
}

// A table holding `listing`, as a first listing at listed_at_ns leaves it.
SocketTable table_of(const std::vector<ListedSocket>& listing, std::uint64_t listed_at_ns = 0) {
    SocketTable table(1024);
    table.reconcile(listing, kNetns, listed_at_ns);
    return table;
}

// n timewait sockets, to give reports their live count.
SocketTable table_with_timewait(std::uint64_t n) {
    std::vector<ListedSocket> listing;
    for (std::uint64_t i = 1; i <= n; ++i) {
        listing.push_back(listed_timewait(100 + i, 30'000));
    }
    return table_of(listing);
}

TEST(TimewaitStatsTest, CountsRatesTopEndpointsAndClosers) {
    TimewaitStats stats(2, 80.0);
    for (int i = 0; i < 6; ++i) {
        stats.birth(timewait_entry("10.0.0.1", 80, 40000, 100, "curl"));
    }
    for (int i = 0; i < 3; ++i) {
        stats.birth(timewait_entry("10.0.0.2", 443, 40001, 200, "wget"));
    }
    stats.birth(timewait_entry("10.0.0.3", 22, 40002, 300, "sshd", SocketRole::Server));
    stats.death({timewait_entry("10.0.0.1", 80, 40000, 100, "curl"), 5, true});
    stats.death({timewait_entry("10.0.0.1", 80, 40000, 100, "curl"), 5, false});

    TimewaitReport r = stats.interval_report(5 * kSec, 2.0, table_with_timewait(8), {});
    EXPECT_EQ(r.births, 10u);
    EXPECT_DOUBLE_EQ(r.births_per_s, 5.0);
    EXPECT_EQ(r.deaths, 2u);
    EXPECT_DOUBLE_EQ(r.deaths_per_s, 1.0);
    EXPECT_EQ(r.early_deaths, 1u);
    EXPECT_EQ(r.corrections, 1u);
    EXPECT_EQ(r.live, 8u);
    EXPECT_EQ(r.client_side, 9u);
    EXPECT_EQ(r.server_side, 1u);
    ASSERT_EQ(r.top_remote.size(), 2u);
    EXPECT_EQ(to_string(r.top_remote[0].addr), "10.0.0.1");
    EXPECT_EQ(r.top_remote[0].port, 80);
    EXPECT_EQ(r.top_remote[0].births, 6u);
    EXPECT_EQ(r.top_remote[1].births, 3u);
    ASSERT_EQ(r.top_lport.size(), 2u);
    EXPECT_EQ(r.top_lport[0].port, 40000);
    ASSERT_EQ(r.closers.size(), 2u);
    EXPECT_EQ(r.closers[0].pid, 100u);
    EXPECT_EQ(r.closers[0].comm, "curl");
    EXPECT_EQ(r.closers[0].count, 6u);
    EXPECT_TRUE(r.warnings.empty());

    // The next interval starts from zero; the final report holds totals.
    stats.birth(timewait_entry("10.0.0.1", 80, 40000, 100, "curl"));
    TimewaitReport next = stats.interval_report(6 * kSec, 1.0, table_with_timewait(9), {});
    EXPECT_EQ(next.births, 1u);
    EXPECT_EQ(next.deaths, 0u);
    EXPECT_EQ(next.live, 9u);
    TimewaitReport total = stats.final_report(6 * kSec, 3.0, table_with_timewait(9), {});
    EXPECT_TRUE(total.final);
    EXPECT_EQ(total.births, 11u);
    EXPECT_EQ(total.deaths, 2u);
    EXPECT_EQ(total.top_remote[0].births, 7u);
}

TEST(TimewaitStatsTest, UnknownClosersHaveNoPid) {
    TimewaitStats stats(5, 80.0);
    SocketEntry e = timewait_entry("10.0.0.1", 80, 40000, 0, "");
    e.owner.reset();
    stats.birth(e);
    TimewaitReport r = stats.interval_report(1, 1.0, table_with_timewait(1), {});
    ASSERT_EQ(r.closers.size(), 1u);
    EXPECT_FALSE(r.closers[0].pid);
}

TEST(TimewaitStatsTest, RemainingLifetimesFromTheTableAtTheReportsTime) {
    std::vector<ListedSocket> listing = {listed_timewait(1, 10'000), listed_timewait(2, 50'000),
                                         listed_timewait(3, 30'000)};
    ListedSocket full = listed_timewait(4, 99'000);
    full.is_timewait = false;
    full.state = TcpState::Established;
    listing.push_back(full);
    SocketTable table = table_of(listing, 100 * kSec);
    auto p = remaining_percentiles(table, 100 * kSec);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->first, 30'000u);
    EXPECT_EQ(p->second, 50'000u);
    // Four seconds later, between listings: the same expiries, less left.
    p = remaining_percentiles(table, 104 * kSec);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->first, 26'000u);
    EXPECT_EQ(p->second, 46'000u);
    // An inferred birth counts with its estimated 60 s.
    active_close(table, 9, 103 * kSec);
    p = remaining_percentiles(table, 104 * kSec);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->second, 59'000u);
    EXPECT_FALSE(remaining_percentiles(SocketTable(4), 0));
}

TEST(TimewaitStatsTest, WarnsPastTheBucketLimitAndPortRangeShare) {
    // Range 40000-40009 (10 ports): 8 towards 127.0.0.1:8080, 1 towards :9090.
    std::vector<ListedSocket> listing;
    for (std::uint16_t i = 0; i < 8; ++i) {
        ListedSocket s = listed_timewait(i + 1, 1000, static_cast<std::uint16_t>(40000 + i));
        if (i == 7) {
            s.is_timewait = false;
            s.state = TcpState::Established;
        }
        listing.push_back(s);
    }
    ListedSocket other = listed_timewait(20, 1000, 40009);
    other.dport = 9090;
    listing.push_back(other);
    ListedSocket server = listed_timewait(21, 1000, 8080);  // not an ephemeral port
    listing.push_back(server);

    TimewaitLimits limits;
    limits.max_buckets = 10;
    limits.port_range = std::pair<std::uint16_t, std::uint16_t>{40000, 40009};
    ListedSocket listener = listed_timewait(22, 0, 40005);  // in the range, but a listener
    listener.is_timewait = false;
    listener.state = TcpState::Listen;
    listener.dport = 0;
    listing.push_back(listener);
    const SocketTable table = table_of(listing);
    TimewaitStats stats(5, 80.0);
    TimewaitReport r = stats.interval_report(1, 1.0, table, limits);
    ASSERT_TRUE(r.buckets_pct);
    EXPECT_DOUBLE_EQ(*r.buckets_pct, 90.0);
    ASSERT_EQ(r.pressure.size(), 2u);
    EXPECT_EQ(r.pressure[0].port, 8080);
    EXPECT_EQ(r.pressure[0].timewait, 7u);
    EXPECT_EQ(r.pressure[0].other, 1u);
    EXPECT_DOUBLE_EQ(r.pressure[0].pct, 80.0);
    EXPECT_DOUBLE_EQ(r.pressure[1].pct, 10.0);
    ASSERT_EQ(r.warnings.size(), 2u);
    EXPECT_NE(r.warnings[0].find("tcp_max_tw_buckets"), std::string::npos) << r.warnings[0];
    EXPECT_NE(r.warnings[1].find("127.0.0.1:8080"), std::string::npos) << r.warnings[1];
    EXPECT_NE(r.warnings[1].find("40000-40009"), std::string::npos) << r.warnings[1];

    TimewaitStats lenient(5, 95.0);
    EXPECT_TRUE(lenient.interval_report(1, 1.0, table, limits).warnings.empty());
}

}  // namespace
}  // namespace tcpscope

namespace tcpscope {
namespace {

constexpr std::uint64_t kS = 1'000'000'000ull;

TEST(ListingScheduleTest, CheapListingsRunEveryInterval) {
    ListingSchedule schedule(1 * kS, 0.02, 10 * kS);
    EXPECT_TRUE(schedule.due(0)) << "the first tick always lists";
    schedule.listed(100 * kS, 5'000'000);  // 5 ms: 0.25 s at 2%, under the interval
    EXPECT_EQ(schedule.period_ns(), 1 * kS);
    EXPECT_FALSE(schedule.due(100 * kS + 400'000'000));
    // Ticks drift: one a little early still lists.
    EXPECT_TRUE(schedule.due(100 * kS + 900'000'000));
}

TEST(ListingScheduleTest, CostlyListingsAreSpacedToTheirCpuShare) {
    ListingSchedule schedule(1 * kS, 0.02, 10 * kS);
    schedule.listed(100 * kS, 80'000'000);  // 80 ms: every 4 s keeps to 2% of a CPU
    EXPECT_EQ(schedule.period_ns(), 4 * kS);
    EXPECT_FALSE(schedule.due(101 * kS));
    EXPECT_FALSE(schedule.due(103 * kS));
    EXPECT_TRUE(schedule.due(104 * kS));
    schedule.listed(104 * kS, 1'000'000'000);  // however costly: at most 10 s apart
    EXPECT_EQ(schedule.period_ns(), 10 * kS);
    schedule.listed(114 * kS, 1'000'000);  // cheap again: back to every interval
    EXPECT_EQ(schedule.period_ns(), 1 * kS);
}

TEST(ListingScheduleTest, AFixedPeriodIgnoresCost) {
    ListingSchedule schedule = ListingSchedule::fixed(1 * kS, 5 * kS);
    schedule.listed(10 * kS, 1);
    EXPECT_EQ(schedule.period_ns(), 5 * kS);
    EXPECT_FALSE(schedule.due(12 * kS));
    EXPECT_FALSE(schedule.due(14 * kS));
    EXPECT_TRUE(schedule.due(15 * kS - 100'000'000));  // the tick just before it
    schedule.listed(15 * kS, 1'000'000'000);
    EXPECT_EQ(schedule.period_ns(), 5 * kS);
    EXPECT_EQ(ListingSchedule::fixed(2 * kS, 1 * kS).period_ns(), 2 * kS)
        << "never more often than the interval";
}

TEST(TimewaitReconcileTest, AnOverdueSocketInferenceEndedIsNotAMissedBirth) {
    SocketTable table(16);
    table.reconcile({}, kNetns, 1 * kS);  // the namespace has been listed
    Transition fin = transition(1, TcpState::FinWait2, TcpState::Close, 10 * kS);
    fin.netns = kNetns;
    table.apply(fin);
    ASSERT_EQ(table.expire_timewait(74 * kS, 3 * kS).size(), 1u);  // inferred end at 70 s
    // The kernel's coarse timer has not fired yet: listed with 0 ms left.
    auto r = table.reconcile({listed_timewait(1, 0)}, kNetns, 74 * kS);
    EXPECT_TRUE(r.timewait_missed.empty());
    EXPECT_EQ(r.added, 0u);
    EXPECT_EQ(table.find(1), nullptr);
    // One with time left is a birth the stream missed.
    r = table.reconcile({listed_timewait(2, 20'000)}, kNetns, 75 * kS);
    EXPECT_EQ(r.timewait_missed.size(), 1u);
}

TEST(TimewaitReconcileTest, AFirstListingAdoptsOverdueSockets) {
    SocketTable table(16);
    auto r = table.reconcile({listed_timewait(1, 0)}, kNetns, 1 * kS);
    EXPECT_EQ(r.added, 1u);
    EXPECT_EQ(table.count_in_state(TcpState::TimeWait), 1u);
}

}  // namespace
}  // namespace tcpscope
