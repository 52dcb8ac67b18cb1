#include <gtest/gtest.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include "core/listen_metrics.h"
#include "core/listen_report.h"
#include "core/proc_net_counters.h"
#include "unit/event_builder.h"
#include "views/listen_format.h"

namespace tcpscope {
namespace {

using testing::ipv4;
using testing::ipv6;

ListedSocket listener(std::uint64_t cookie, const char* addr, std::uint16_t port,
                      std::uint32_t queue, std::uint32_t backlog, std::uint32_t drops) {
    ListedSocket s;
    s.cookie = cookie;
    s.state = TcpState::Listen;
    s.saddr = addr[0] == ':' || addr[1] == ':' ? ipv6(addr) : ipv4(addr);
    s.daddr = s.saddr.family == AF_INET6 ? ipv6("::") : ipv4("0.0.0.0");
    s.sport = port;
    s.rqueue = queue;
    s.wqueue = backlog;
    s.drops = drops;
    s.inode = 1000 + cookie;
    return s;
}

ProcNetCounters counters(std::uint64_t overflows, std::uint64_t resets) {
    return {{"TcpExt.ListenOverflows", overflows},
            {"TcpExt.ListenDrops", overflows},
            {"Tcp.OutRsts", resets}};
}

TEST(ProcNetCounters, ParsesNamePairsAndSkipsNegatives) {
    ProcNetCounters out;
    parse_proc_net_counters(
        "TcpExt: SyncookiesSent ListenOverflows ListenDrops\n"
        "TcpExt: 3 41 42\n"
        "IpExt: InNoRoutes\n"
        "IpExt: 7\n",
        out);
    parse_proc_net_counters("Tcp: RtoAlgorithm MaxConn OutRsts\nTcp: 1 -1 9\n", out);
    EXPECT_EQ(out.at("TcpExt.ListenOverflows"), 41u);
    EXPECT_EQ(out.at("TcpExt.ListenDrops"), 42u);
    EXPECT_EQ(out.at("IpExt.InNoRoutes"), 7u);
    EXPECT_EQ(out.at("Tcp.OutRsts"), 9u);
    EXPECT_EQ(out.count("Tcp.MaxConn"), 0u);  // -1: no limit, not a count
}

TEST(BucketQuantile, UpperBoundOfThePowerOfTwoBucket) {
    std::array<std::uint64_t, kWaitSlots> slots{};
    EXPECT_FALSE(bucket_quantile_us(slots, 0.5));
    slots[3] = 98;  // [4, 8) µs
    slots[20] = 2;  // [2^19, 2^20) µs
    EXPECT_EQ(bucket_quantile_us(slots, 0.5), 8u);
    EXPECT_EQ(bucket_quantile_us(slots, 0.98), 8u);
    EXPECT_EQ(bucket_quantile_us(slots, 0.99), 1u << 20);
    EXPECT_EQ(bucket_quantile_us(slots, 1.0), 1u << 20);
}

TEST(ListenStats, IntervalsAndTotalsAreDeltasOfTheKernelsCounts) {
    ListenStats stats(true, 0);
    SocketTable table(16);
    Transition listened = testing::transition(7, TcpState::Close, TcpState::Listen);
    table.apply(listened);
    stats.listed({listener(7, "0.0.0.0", 80, 0, 128, 10)});
    stats.counted({}, {}, counters(100, 5));

    stats.listed({listener(7, "0.0.0.0", 80, 4, 128, 13)});
    ListenerCounts c;
    c.cookie = 7;
    c.accepted = 6;
    c.synack_retrans = 2;
    c.wait_slots[10] = 6;
    c.queue_peak = 9;
    SynDropCount refused{0, ipv4("10.0.0.1"), 81, "NO_SOCKET", 4};
    SynDropCount filtered{0, ipv4("10.0.0.1"), 80, "NETFILTER_DROP", 1};
    stats.counted({c}, {refused, filtered}, counters(103, 9));
    ListenReport first = stats.interval_report(2'000'000'000, 1.0, &table);
    ASSERT_EQ(first.listeners.size(), 1u);
    const ListenerRow& row = first.listeners[0];
    EXPECT_EQ(row.owner->pid, 4242u);
    EXPECT_EQ(row.queue, 4u);
    EXPECT_EQ(row.queue_peak, 9u);  // an accept() saw more than any listing
    EXPECT_EQ(row.accepted, 6u);
    EXPECT_EQ(row.wait_p50_us, 1024u);
    EXPECT_EQ(row.drops, 3u);  // since the first listing, not since boot
    EXPECT_EQ(row.synack_retrans, 2u);
    EXPECT_EQ(row.syn_drops, (std::map<std::string, std::uint64_t>{{"NETFILTER_DROP", 1}}));
    ASSERT_EQ(first.unlistened.size(), 1u);
    EXPECT_EQ(first.unlistened[0].port, 81);
    EXPECT_EQ(first.unlistened[0].count, 4u);
    EXPECT_EQ(first.namespace_counters.at("TcpExt.ListenOverflows"), 3u);
    EXPECT_EQ(first.namespace_counters.at("Tcp.OutRsts"), 4u);

    // Next interval: only what is new; the listener has closed.
    c.accepted = 7;
    c.queue_peak = 0;
    refused.count = 6;
    stats.listed({});
    stats.counted({c}, {refused, filtered}, counters(103, 11));
    ListenReport second = stats.interval_report(3'000'000'000, 1.0, &table);
    ASSERT_EQ(second.listeners.size(), 1u);
    EXPECT_TRUE(second.listeners[0].closed);
    EXPECT_EQ(second.listeners[0].accepted, 1u);
    EXPECT_EQ(second.listeners[0].queue_peak, 4u);  // the queue the interval began with
    EXPECT_EQ(second.listeners[0].drops, 0u);
    ASSERT_EQ(second.unlistened.size(), 1u);
    EXPECT_EQ(second.unlistened[0].count, 2u);
    EXPECT_TRUE(second.listeners[0].syn_drops.empty());
    // Reported closed once: later intervals leave it out, the totals keep it.
    EXPECT_TRUE(stats.interval_report(4'000'000'000, 1.0, &table).listeners.empty());
    ListenReport total = stats.final_report(4'000'000'000, 3.0, &table);
    ASSERT_EQ(total.listeners.size(), 1u);
    EXPECT_EQ(total.listeners[0].accepted, 7u);
    EXPECT_EQ(total.listeners[0].queue_peak, 9u);
    EXPECT_EQ(total.listeners[0].drops, 3u);
    EXPECT_EQ(total.unlistened[0].count, 6u);
    EXPECT_EQ(total.namespace_counters.at("Tcp.OutRsts"), 6u);
}

TEST(ListenStats, CountsFromOtherNamespacesAreLeftOut) {
    ListenStats stats(true, 42);
    stats.listed({listener(1, "0.0.0.0", 80, 0, 128, 0)});
    Transition connect = testing::transition(9, TcpState::SynSent, TcpState::Established);
    connect.daddr = ipv4("10.0.0.9");
    connect.dport = 80;
    connect.syn_retrans = 2;
    connect.netns = 7;  // a client elsewhere, to a port of the same number
    stats.observe(connect);
    stats.counted(
        {}, {{7, ipv4("10.0.0.1"), 81, "NO_SOCKET", 4}, {42, ipv4("10.0.0.1"), 82, "NO_SOCKET", 1}},
        {});
    ListenReport r = stats.final_report(1, 1.0, nullptr);
    EXPECT_EQ(r.listeners[0].local_client_syn_retrans, 0u);
    ASSERT_EQ(r.unlistened.size(), 1u);
    EXPECT_EQ(r.unlistened[0].port, 82);
}

TEST(ListenStats, AListenerBornDuringTheRunCountsAllItsDrops) {
    ListenStats stats(true, 0);
    stats.listed({listener(1, "0.0.0.0", 80, 0, 128, 50)});  // listening before the run
    stats.listed({listener(1, "0.0.0.0", 80, 0, 128, 52), listener(2, "0.0.0.0", 81, 0, 2, 17)});
    ListenReport r = stats.interval_report(1, 1.0, nullptr);
    ASSERT_EQ(r.listeners.size(), 2u);
    EXPECT_EQ(r.listeners[0].drops, 2u);
    EXPECT_EQ(r.listeners[1].drops, 17u);  // dropped before its first listing, but in the run
    EXPECT_EQ(stats.final_report(1, 1.0, nullptr).listeners[1].drops, 17u);
}

TEST(ListenStats, DropsAndClientRetransmitsGoToTheListenerTheyWereAimedAt) {
    ListenStats stats(true, 0);
    stats.listed({listener(1, "::", 443, 0, 16, 0), listener(2, "0.0.0.0", 443, 0, 16, 0),
                  listener(3, "10.0.0.9", 8080, 0, 16, 0)});
    Transition connect = testing::transition(9, TcpState::SynSent, TcpState::Established);
    connect.daddr = ipv4("10.0.0.9");
    connect.dport = 8080;
    connect.syn_retrans = 2;
    connect.netns = 0;  // the namespace these stats cover
    stats.observe(connect);
    connect.dport = 9999;  // no listener here
    stats.observe(connect);
    stats.counted({},
                  {{0, ipv4("10.0.0.1"), 443, "TCP_LISTEN_OVERFLOW", 5},
                   {0, ipv6("fe80::1"), 443, "TCP_LISTEN_OVERFLOW", 2},
                   {0, ipv4("10.0.0.1"), 8080, "NETFILTER_DROP", 1}},
                  {});
    ListenReport r = stats.final_report(1, 1.0, nullptr);
    ASSERT_EQ(r.listeners.size(), 3u);
    EXPECT_EQ(r.listeners[0].syn_drops.at("TCP_LISTEN_OVERFLOW"), 2u);  // [::]:443, IPv6
    EXPECT_EQ(r.listeners[1].syn_drops.at("TCP_LISTEN_OVERFLOW"), 5u);  // 0.0.0.0:443, IPv4
    EXPECT_TRUE(r.listeners[2].syn_drops.empty());                      // bound to 10.0.0.9, not .1
    EXPECT_EQ(r.listeners[2].local_client_syn_retrans, 2u);
    ASSERT_EQ(r.unlistened.size(), 1u);
    EXPECT_EQ(r.unlistened[0].reason, "NETFILTER_DROP");
    EXPECT_TRUE(r.namespace_counters.empty());  // a kernel without them: left out, not 0
}

// The sample of family name with exactly these labels; -1 when absent.
double sample_of(const std::vector<MetricFamilyData>& all, const std::string& name,
                 const MetricLabels& labels) {
    for (const MetricFamilyData& f : all) {
        for (const MetricSample& s : f.samples) {
            if (f.name == name && s.labels == labels) {
                return s.value;
            }
        }
    }
    return -1;
}

TEST(ListenMetrics, PortsBeyondTheTopNAreOther) {
    ListenReport r;
    auto row = [](std::uint16_t port, std::uint64_t drops, std::uint32_t queue) {
        ListenerRow l;
        l.port = port;
        l.drops = drops;
        l.queue = queue;
        l.backlog = 128;
        return l;
    };
    r.listeners = {row(443, 50, 3), row(443, 10, 1), row(80, 5, 0), row(8080, 1, 2)};
    r.unlistened = {{ipv4("10.0.0.1"), 25, "NO_SOCKET", 4}, {ipv4("10.0.0.1"), 26, "NO_SOCKET", 1}};
    r.namespace_counters = {{"TcpExt.ListenDrops", 66}};
    auto m = listen_metric_families(r, 7, 1);
    // 443's two listeners (SO_REUSEPORT) add up; 80 and 8080 merge as other.
    EXPECT_EQ(sample_of(m, "tcpscope_listen_drops_total", {{"netns", "7"}, {"port", "443"}}), 60);
    EXPECT_EQ(sample_of(m, "tcpscope_listen_queue", {{"netns", "7"}, {"port", "443"}}), 4);
    EXPECT_EQ(sample_of(m, "tcpscope_listen_drops_total", {{"netns", "7"}, {"port", "other"}}), 6);
    EXPECT_EQ(sample_of(m, "tcpscope_listen_queue", {{"netns", "7"}, {"port", "other"}}), 2);
    EXPECT_EQ(sample_of(m, "tcpscope_listen_drops_total", {{"netns", "7"}, {"port", "80"}}), -1);
    EXPECT_EQ(sample_of(m, "tcpscope_refused_syns_total", {{"netns", "7"}, {"port", "25"}}), 4);
    EXPECT_EQ(sample_of(m, "tcpscope_refused_syns_total", {{"netns", "7"}, {"port", "other"}}), 1);
    EXPECT_EQ(sample_of(m, "tcpscope_netns_tcp_counter_total",
                        {{"netns", "7"}, {"counter", "TcpExt.ListenDrops"}}),
              66);
}

TEST(ListenFormat, TextAndJsonShowUnknownsAsUnknown) {
    ListenReport r;
    r.now_ns = 1'000'000'000;
    r.span_s = 1.0;
    r.syn_drops_known = false;
    ListenerRow row;
    row.addr = ipv4("127.0.0.1");
    row.port = 7400;
    row.backlog = 2;
    row.queue = 3;
    row.queue_peak = 3;
    row.drops = 47;
    r.listeners.push_back(row);
    r.unlistened.push_back({ipv4("127.0.0.1"), 7998, "NO_SOCKET", 5});
    r.namespace_counters = {{"TcpExt.ListenDrops", 47}};
    ListenFormatter f(testing::test_clock(), 4026531840);
    std::vector<std::string> lines = f.text_lines(r);
    ASSERT_EQ(lines.size(), 5u);
    EXPECT_EQ(lines[0], "netns 4026531840: 04:31:02.123456 (1.0 s)");
    EXPECT_NE(lines[1].find("LISTEN                   OWNER"), std::string::npos) << lines[1];
    EXPECT_TRUE(lines[2].starts_with("127.0.0.1:7400           -                          2     3"))
        << lines[2];
    EXPECT_NE(lines[2].find("      -        -      47 "), std::string::npos) << lines[2];
    EXPECT_TRUE(lines[2].ends_with(" n/a")) << lines[2];
    EXPECT_EQ(lines[3], "  refused (no listener, RST sent) 127.0.0.1:7998: 5");
    EXPECT_EQ(lines[4], "  netns: ListenDrops=47");

    auto j = nlohmann::json::parse(f.json_line(r));
    const auto& l = j["listeners"][0];
    EXPECT_TRUE(l["pid"].is_null());
    EXPECT_TRUE(l["accept_wait_p50_us"].is_null());
    EXPECT_TRUE(l["syn_drops"].is_null());
    EXPECT_EQ(l["drops"], 47);
    EXPECT_EQ(j["unlistened"][0]["reason"], "NO_SOCKET");
    EXPECT_EQ(j["namespace"]["TcpExt.ListenDrops"], 47);
    EXPECT_EQ(j["netns"], 4026531840u);
    EXPECT_FALSE(j.contains("final"));
    row.drops.reset();
    r.listeners = {row};
    EXPECT_TRUE(nlohmann::json::parse(f.json_line(r))["listeners"][0]["drops"].is_null());
}

}  // namespace
}  // namespace tcpscope
