#include <gtest/gtest.h>

#include "core/connect_outcome.h"
#include "core/decode.h"
#include "core/duration_histogram.h"
#include "core/synfail_summary.h"
#include "unit/event_builder.h"

namespace tcpscope {
namespace {

using testing::transition;

Transition refused(std::uint64_t cookie, std::uint64_t syn_sent_ns) {
    Transition t = transition(cookie, TcpState::SynSent, TcpState::Close);
    t.sk_err = 111;
    t.dur_ns = syn_sent_ns;
    return t;
}

Transition connected(std::uint64_t cookie, std::uint64_t syn_sent_ns) {
    Transition t = transition(cookie, TcpState::SynSent, TcpState::Established);
    t.dur_ns = syn_sent_ns;
    return t;
}

Transition sync_failure(int err) {
    Transition t = transition(0, TcpState::Close, TcpState::Close);
    t.connect_sync = true;
    t.sk_err = err;
    t.sport.reset();
    return t;
}

TEST(ConnectOutcome, OnlyLeavingSynSentOrFailingConnectCounts) {
    EXPECT_EQ(connect_outcome(refused(1, 10)), ConnectOutcome::Failed);
    EXPECT_EQ(connect_outcome(connected(1, 10)), ConnectOutcome::Succeeded);
    EXPECT_EQ(connect_outcome(sync_failure(113)), ConnectOutcome::Failed);
    EXPECT_EQ(connect_outcome(transition(1, TcpState::Close, TcpState::SynSent)),
              ConnectOutcome::None);
    EXPECT_EQ(connect_outcome(transition(1, TcpState::Established, TcpState::Close)),
              ConnectOutcome::None);
    EXPECT_EQ(connect_outcome(transition(1, TcpState::SynSent, TcpState::SynSent)),
              ConnectOutcome::None);
    // Simultaneous open leaves SYN_SENT for SYN_RECV: not a failure.
    EXPECT_EQ(connect_outcome(transition(1, TcpState::SynSent, TcpState::SynRecv)),
              ConnectOutcome::Succeeded);
}

TEST(ConnectOutcome, ReasonsAreErrnoNamesOrCancelled) {
    EXPECT_EQ(failure_reason(refused(1, 10)), "ECONNREFUSED");
    Transition timeout = refused(1, 10);
    timeout.sk_err = 110;
    EXPECT_EQ(failure_reason(timeout), "ETIMEDOUT");
    Transition killed = refused(1, 10);
    killed.sk_err = 103;
    EXPECT_EQ(failure_reason(killed), "ECONNABORTED");
    Transition cancelled = refused(1, 10);
    cancelled.sk_err = 0;
    EXPECT_EQ(failure_reason(cancelled), "CANCELLED");
    // No source port: connect() found none after entering SYN_SENT.
    Transition no_port = cancelled;
    no_port.sport.reset();
    EXPECT_EQ(failure_reason(no_port), "EADDRNOTAVAIL");
    no_port.sport = 0;
    EXPECT_EQ(failure_reason(no_port), "EADDRNOTAVAIL");
    no_port.softirq = true;  // never the port search: it runs in connect()
    EXPECT_EQ(failure_reason(no_port), "CANCELLED");
    EXPECT_EQ(failure_reason(sync_failure(101)), "ENETUNREACH");
    EXPECT_EQ(failure_reason(sync_failure(99)), "EADDRNOTAVAIL");
    EXPECT_EQ(failure_reason(connected(1, 10)), "");
}

TEST(ConnectOutcome, KnownReasons) {
    for (const char* name : {"CANCELLED", "ECONNREFUSED", "ETIMEDOUT", "EHOSTUNREACH",
                             "ENETUNREACH", "ECONNABORTED", "EADDRNOTAVAIL", "EACCES"}) {
        EXPECT_TRUE(is_known_failure_reason(name)) << name;
    }
    for (const char* name : {"", "cancelled", "REFUSED", "E999", "ECONNREFUSEDX"}) {
        EXPECT_FALSE(is_known_failure_reason(name)) << name;
    }
}

TEST(Decode, ConnectSyncFlag) {
    tcpscope_event e = testing::raw_event(0, TcpState::Close, TcpState::Close);
    e.flags |= TCPSCOPE_F_CONNECT_SYNC;
    e.sk_err = 113;
    auto t = decode_event(&e, sizeof(e));
    ASSERT_TRUE(t);
    EXPECT_TRUE(t->connect_sync);
    EXPECT_EQ(failure_reason(*t), "EHOSTUNREACH");
    e.flags &= ~TCPSCOPE_F_CONNECT_SYNC;
    EXPECT_FALSE(decode_event(&e, sizeof(e))->connect_sync);
}

TEST(Decode, RecoveredConnectFailureIsAnOrdinaryFailure) {
    // A SYN_SENT->CLOSE the connect() exit sent because the kernel skipped the
    // transition program for it.
    tcpscope_event e = testing::raw_event(9, TcpState::SynSent, TcpState::Close);
    e.flags |= TCPSCOPE_F_RECOVERED | TCPSCOPE_F_DUR_KNOWN;
    e.sk_err = 110;
    e.dur_ns = 3'000'000'000;
    e.syn_retrans = 2;
    auto t = decode_event(&e, sizeof(e));
    ASSERT_TRUE(t);
    EXPECT_TRUE(t->recovered);
    EXPECT_FALSE(t->connect_sync);
    EXPECT_EQ(connect_outcome(*t), ConnectOutcome::Failed);
    EXPECT_EQ(failure_reason(*t), "ETIMEDOUT");
    SynfailSummary s;
    s.add(*t);
    EXPECT_EQ(s.rows().at(0).stats->syn_sent.count(), 1u);
}

TEST(DurationHistogram, EmptyHasNoPercentile) {
    DurationHistogram h;
    EXPECT_FALSE(h.percentile(50));
    EXPECT_EQ(h.count(), 0u);
}

TEST(DurationHistogram, SmallValuesAreExact) {
    DurationHistogram h;
    for (std::uint64_t v = 1; v <= 100; ++v) {
        h.add(v);
    }
    EXPECT_EQ(h.percentile(50), 50u);
    EXPECT_EQ(h.percentile(99), 99u);
    EXPECT_EQ(h.percentile(100), 100u);
}

TEST(DurationHistogram, LargeValuesWithinOnePointSixPercent) {
    DurationHistogram h;
    // 1..1000 ms: p50 = 500 ms, p99 = 990 ms (nearest rank).
    for (std::uint64_t ms = 1; ms <= 1000; ++ms) {
        h.add(ms * 1'000'000);
    }
    EXPECT_NEAR(static_cast<double>(*h.percentile(50)), 500e6, 500e6 / 64);
    EXPECT_NEAR(static_cast<double>(*h.percentile(99)), 990e6, 990e6 / 64);
    EXPECT_NEAR(static_cast<double>(*h.percentile(1)), 10e6, 10e6 / 64);
    h.add(3'000'000'000ull);  // a SYN timeout
    EXPECT_NEAR(static_cast<double>(*h.percentile(100)), 3e9, 3e9 / 64);
}

TEST(DurationHistogram, OneSampleIsEveryPercentile) {
    DurationHistogram h;
    h.add(271'000);
    EXPECT_NEAR(static_cast<double>(*h.percentile(50)), 271'000, 271'000 / 64.0);
    EXPECT_EQ(h.percentile(50), h.percentile(99));
}

TEST(SynfailSummary, CountsPerDestination) {
    SynfailSummary s;
    s.add(refused(1, 100'000));
    s.add(refused(2, 300'000));
    s.add(connected(3, 200'000));
    Transition cancelled = refused(4, 50'000'000);
    cancelled.sk_err = 0;
    s.add(cancelled);
    s.add(transition(5, TcpState::Close, TcpState::SynSent));      // not an outcome
    s.add(transition(6, TcpState::Established, TcpState::Close));  // not an outcome
    Transition elsewhere = refused(7, 100'000);
    elsewhere.dport = 9;
    s.add(elsewhere);

    auto rows = s.rows();
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].destination.dport, 8080);  // most failures first
    const DestinationStats& d = *rows[0].stats;
    EXPECT_EQ(d.attempts, 4u);
    EXPECT_EQ(d.successes, 1u);
    EXPECT_EQ(d.failed(), 3u);
    EXPECT_EQ(d.failures,
              (std::map<std::string, std::uint64_t>{{"CANCELLED", 1}, {"ECONNREFUSED", 2}}));
    EXPECT_EQ(d.syn_sent.count(), 4u);
    EXPECT_NEAR(static_cast<double>(*d.syn_sent.percentile(50)), 200'000, 200'000 / 64.0);
    EXPECT_NEAR(static_cast<double>(*d.syn_sent.percentile(99)), 50e6, 50e6 / 64);
    EXPECT_EQ(rows[1].destination.dport, 9);
    EXPECT_EQ(rows[1].stats->attempts, 1u);
}

TEST(SynfailSummary, SyncFailuresAndUnknownTimesCountWithoutASample) {
    SynfailSummary s;
    s.add(sync_failure(113));
    Transition old = refused(1, 0);
    old.dur_ns.reset();  // the socket predates the tracer
    s.add(old);
    auto rows = s.rows();
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].stats->attempts, 2u);
    EXPECT_EQ(rows[0].stats->syn_sent.count(), 0u);
    EXPECT_FALSE(rows[0].stats->syn_sent.percentile(50));
}

TEST(SynfailSummary, ClearStartsOver) {
    SynfailSummary s;
    s.add(refused(1, 10));
    EXPECT_FALSE(s.empty());
    s.clear();
    EXPECT_TRUE(s.empty());
    EXPECT_TRUE(s.rows().empty());
}

TEST(SynfailSummary, Ipv4AndIpv6DestinationsAreApart) {
    SynfailSummary s;
    s.add(refused(1, 10));
    Transition v6 = refused(2, 10);
    v6.daddr = testing::ipv6("::1");
    s.add(v6);
    EXPECT_EQ(s.rows().size(), 2u);
}

}  // namespace
}  // namespace tcpscope
