#include <gtest/gtest.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include <set>

#include "unit/event_builder.h"
#include "views/synfail_format.h"

namespace tcpscope {
namespace {

using testing::transition;

SynfailFormatter formatter() {
    return SynfailFormatter(testing::test_clock());
}

Transition refused() {
    Transition t = transition(7, TcpState::SynSent, TcpState::Close);
    t.sk_err = 111;
    t.dur_ns = 271'000;
    t.softirq = true;
    return t;
}

Transition sync_unreachable() {
    Transition t = transition(0, TcpState::Close, TcpState::Close);
    t.connect_sync = true;
    t.sk_err = 113;
    t.saddr = testing::ipv4("0.0.0.0");
    t.sport.reset();
    t.daddr = testing::ipv4("10.77.0.1");
    t.dport = 80;
    return t;
}

std::set<std::string> keys_of(const nlohmann::json& j) {
    std::set<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it) {
        keys.insert(it.key());
    }
    return keys;
}

TEST(SynfailText, HeaderAndFailureLine) {
    EXPECT_EQ(SynfailFormatter::text_header(),
              "TIME            PID     COMM             LADDR:LPORT           RADDR:RPORT       "
              "    REASON            SYN_MS RETRANS");
    Transition t = refused();
    t.syn_retrans = 2;
    t.sk_err = 110;
    EXPECT_EQ(formatter().text_line(t),
              "04:31:02.123456 4242    client           127.0.0.1:40000       127.0.0.1:8080     "
              "   ETIMEDOUT          0.271       2");
}

TEST(SynfailText, SyncFailureHasNoSourceNoTimeAndSaysSync) {
    EXPECT_EQ(formatter().text_line(sync_unreachable()),
              "04:31:02.123456 4242    client           -                     10.77.0.1:80       "
              "   EHOSTUNREACH           -       0 sync");
}

TEST(SynfailText, CancelledAndUnknownOwner) {
    Transition t = refused();
    t.sk_err = 0;
    t.owner.reset();
    t.dur_ns.reset();
    std::string line = formatter().text_line(t);
    EXPECT_NE(line.find(" -       -                127.0.0.1:40000"), std::string::npos) << line;
    EXPECT_NE(line.find("CANCELLED              -       0"), std::string::npos) << line;
}

TEST(SynfailFormat, ATimeoutNamesTheLocalListenerItWasAimedAt) {
    Transition t = refused();
    t.sk_err = ETIMEDOUT;
    ListedSocket l;
    l.saddr = t.daddr;
    l.sport = t.dport;
    l.rqueue = 3;
    l.wqueue = 2;
    l.drops = 94;
    EXPECT_TRUE(
        formatter().text_line(t, &l).ends_with(" local listener 127.0.0.1:8080 queue 3/2 drops 94"))
        << formatter().text_line(t, &l);
    auto j = nlohmann::json::parse(formatter().json_line(t, &l));
    EXPECT_EQ(
        j["local_listener"],
        nlohmann::json(
            {{"addr", "127.0.0.1"}, {"port", 8080}, {"backlog", 2}, {"queue", 3}, {"drops", 94}}));
    EXPECT_TRUE(nlohmann::json::parse(formatter().json_line(t))["local_listener"].is_null());
}

TEST(SynfailJson, HasExactlyTheDocumentedKeys) {
    auto j = nlohmann::json::parse(formatter().json_line(refused()));
    EXPECT_EQ(keys_of(j), (std::set<std::string>{"ts", "ts_ns", "cookie", "netns", "pid", "comm",
                                                 "cgroup", "unit", "container", "family", "saddr",
                                                 "sport", "daddr", "dport", "reason", "syn_sent_us",
                                                 "syn_retrans", "sync", "local_listener"}));
    EXPECT_EQ(j["ts"], "2026-11-26T04:31:02.123456Z");
    EXPECT_EQ(j["cookie"], 7);
    EXPECT_EQ(j["pid"], 4242);
    EXPECT_EQ(j["comm"], "client");
    EXPECT_EQ(j["family"], 4);
    EXPECT_EQ(j["saddr"], "127.0.0.1");
    EXPECT_EQ(j["sport"], 40000);
    EXPECT_EQ(j["daddr"], "127.0.0.1");
    EXPECT_EQ(j["dport"], 8080);
    EXPECT_EQ(j["reason"], "ECONNREFUSED");
    EXPECT_DOUBLE_EQ(j["syn_sent_us"].get<double>(), 271.0);
    EXPECT_EQ(j["syn_retrans"], 0);
    EXPECT_EQ(j["sync"], false);
}

TEST(SynfailJson, SyncFailureUnknownsAreNull) {
    auto j = nlohmann::json::parse(formatter().json_line(sync_unreachable()));
    EXPECT_TRUE(j["cookie"].is_null());
    EXPECT_TRUE(j["saddr"].is_null());
    EXPECT_TRUE(j["sport"].is_null());
    EXPECT_TRUE(j["syn_sent_us"].is_null());
    EXPECT_EQ(j["daddr"], "10.77.0.1");
    EXPECT_EQ(j["reason"], "EHOSTUNREACH");
    EXPECT_EQ(j["sync"], true);
    EXPECT_EQ(j["syn_retrans"], 0);
}

TEST(SynfailJson, UnknownOwnerAndTimeAreNull) {
    Transition t = refused();
    t.owner.reset();
    t.dur_ns.reset();
    auto j = nlohmann::json::parse(formatter().json_line(t));
    EXPECT_TRUE(j["pid"].is_null());
    EXPECT_TRUE(j["comm"].is_null());
    EXPECT_TRUE(j["syn_sent_us"].is_null());
}

SynfailSummary sample_summary() {
    SynfailSummary s;
    s.add(refused());
    Transition ok = transition(8, TcpState::SynSent, TcpState::Established);
    ok.dur_ns = 100'000;
    s.add(ok);
    s.add(sync_unreachable());
    return s;
}

TEST(SynfailSummaryText, OneLinePerDestination) {
    SummaryScope scope{"interval", 1'000'000'000, 5.0};
    auto lines = formatter().summary_text(sample_summary(), scope);
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(lines[0], "-- connect attempts, interval 5.0 s, at 04:31:02.123456 --");
    EXPECT_EQ(lines[1],
              "DESTINATION                  ATTEMPTS        OK    FAILED    P50_MS    P99_MS "
              "REASONS");
    EXPECT_EQ(lines[2],
              // Percentiles come from the histogram: within 1/64 of the samples.
              "127.0.0.1:8080                      2         1         1     0.100     0.272 "
              "ECONNREFUSED=1");
    EXPECT_EQ(lines[3],
              "10.77.0.1:80                        1         0         1         -         - "
              "EHOSTUNREACH=1");
}

TEST(SynfailSummaryText, EmptySummarySaysNone) {
    auto lines = formatter().summary_text(SynfailSummary{}, {"total", 1'000'000'000, 2.0});
    EXPECT_EQ(lines, (std::vector<std::string>{
                         "-- connect attempts, total 2.0 s, at 04:31:02.123456 --", "(none)"}));
}

TEST(SynfailSummaryJson, OneLineWithEveryDestination) {
    SummaryScope scope{"total", 1'000'000'000, 2.5};
    std::string line = formatter().summary_json(sample_summary(), scope);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(keys_of(j),
              (std::set<std::string>{"summary", "ts", "ts_ns", "seconds", "destinations"}));
    EXPECT_EQ(j["summary"], "total");
    EXPECT_EQ(j["ts"], "2026-11-26T04:31:02.123456Z");
    EXPECT_DOUBLE_EQ(j["seconds"].get<double>(), 2.5);
    ASSERT_EQ(j["destinations"].size(), 2u);
    const auto& d = j["destinations"][0];
    EXPECT_EQ(d["daddr"], "127.0.0.1");
    EXPECT_EQ(d["dport"], 8080);
    EXPECT_EQ(d["attempts"], 2);
    EXPECT_EQ(d["successes"], 1);
    EXPECT_EQ(d["failures"], nlohmann::json({{"ECONNREFUSED", 1}}));
    EXPECT_NEAR(d["syn_sent_p50_us"].get<double>(), 100.0, 100.0 / 64);
    EXPECT_NEAR(d["syn_sent_p99_us"].get<double>(), 271.0, 271.0 / 64);
    const auto& sync = j["destinations"][1];
    EXPECT_EQ(sync["failures"], nlohmann::json({{"EHOSTUNREACH", 1}}));
    EXPECT_TRUE(sync["syn_sent_p50_us"].is_null());
    EXPECT_TRUE(sync["syn_sent_p99_us"].is_null());
}

TEST(SynfailSummaryJson, EmptyHasNoDestinations) {
    auto j = nlohmann::json::parse(formatter().summary_json(SynfailSummary{}, {"interval", 1, 1}));
    EXPECT_TRUE(j["destinations"].is_array());
    EXPECT_TRUE(j["destinations"].empty());
}

}  // namespace
}  // namespace tcpscope
