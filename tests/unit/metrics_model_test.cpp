// `serve`'s metrics on synthetic transitions: the model's snapshot, and its
// exposition through prometheus-cpp's serializer.
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <cmath>
#include <sstream>

#include "cli/exit_codes.h"
#include "cli/options.h"
#include "cli/serve_command.h"
#include "core/cgroup_name.h"
#include "core/metrics_model.h"
#include "core/socket_table.h"
#include "export/metrics_exporter.h"
#include "unit/event_builder.h"

namespace tcpscope {
namespace {

using testing::transition;

constexpr std::uint64_t kMs = 1'000'000ull;
constexpr std::uint32_t kNetns = 4026531840u;

const MetricFamilyData& family(const std::vector<MetricFamilyData>& all, const std::string& name) {
    for (const MetricFamilyData& f : all) {
        if (f.name == name) {
            return f;
        }
    }
    throw std::runtime_error("no family " + name);
}

// The sample with exactly these labels, or nullptr.
const MetricSample* sample(const MetricFamilyData& f, const MetricLabels& labels) {
    for (const MetricSample& s : f.samples) {
        if (s.labels == labels) {
            return &s;
        }
    }
    return nullptr;
}

double value(const std::vector<MetricFamilyData>& all, const std::string& name,
             const MetricLabels& labels = {}) {
    const MetricSample* s = sample(family(all, name), labels);
    return s ? s->value : NAN;
}

// Feeds t to the table and the model, as the daemon does.
void feed(SocketTable& table, MetricsModel& model, const Transition& t) {
    model.observe(t, table.apply(t));
}

void connect_ok(SocketTable& table, MetricsModel& model, std::uint64_t cookie, std::uint64_t ts) {
    feed(table, model, transition(cookie, TcpState::Close, TcpState::SynSent, ts));
    Transition up = transition(cookie, TcpState::SynSent, TcpState::Established, ts + kMs / 2);
    up.dur_ns = kMs / 2;
    feed(table, model, up);
}

void connect_failed(SocketTable& table, MetricsModel& model, std::uint64_t cookie, std::uint64_t ts,
                    int sk_err) {
    feed(table, model, transition(cookie, TcpState::Close, TcpState::SynSent, ts));
    Transition down = transition(cookie, TcpState::SynSent, TcpState::Close, ts + 2 * kMs);
    down.dur_ns = 2 * kMs;
    down.sk_err = sk_err;
    feed(table, model, down);
}

TEST(MetricsModelTest, CountsTransitionsAndConnectOutcomesAsSynfailDoes) {
    SocketTable table(1024);
    MetricsModel model(5);
    for (std::uint64_t i = 1; i <= 3; ++i) {
        connect_ok(table, model, i, i * 10 * kMs);
    }
    connect_failed(table, model, 10, 100 * kMs, ECONNREFUSED);
    connect_failed(table, model, 11, 110 * kMs, ECONNREFUSED);
    connect_failed(table, model, 12, 120 * kMs, 0);  // closed during SYN_SENT
    Transition sync = transition(0, TcpState::Close, TcpState::Close, 130 * kMs);
    sync.connect_sync = true;
    sync.sk_err = ENETUNREACH;
    model.observe(sync, {});

    auto m = model.snapshot();
    EXPECT_EQ(
        value(m, "tcpscope_transitions_total", {{"old_state", "CLOSE"}, {"new_state", "SYN_SENT"}}),
        6);
    EXPECT_EQ(value(m, "tcpscope_transitions_total",
                    {{"old_state", "SYN_SENT"}, {"new_state", "ESTABLISHED"}}),
              3);
    EXPECT_EQ(
        value(m, "tcpscope_transitions_total", {{"old_state", "SYN_SENT"}, {"new_state", "CLOSE"}}),
        3);
    // A failure before any SYN is no transition.
    EXPECT_EQ(family(m, "tcpscope_transitions_total").samples.size(), 3u);
    EXPECT_EQ(value(m, "tcpscope_connect_failures_total", {{"reason", "ECONNREFUSED"}}), 2);
    EXPECT_EQ(value(m, "tcpscope_connect_failures_total", {{"reason", "CANCELLED"}}), 1);
    EXPECT_EQ(value(m, "tcpscope_connect_failures_total", {{"reason", "ENETUNREACH"}}), 1);
    EXPECT_EQ(value(m, "tcpscope_connect_successes_total"), 3);

    const MetricFamilyData& syn = family(m, "tcpscope_syn_sent_seconds");
    EXPECT_EQ(syn.kind, MetricKind::Histogram);
    const MetricSample* ok = sample(syn, {{"outcome", "succeeded"}});
    const MetricSample* failed = sample(syn, {{"outcome", "failed"}});
    ASSERT_TRUE(ok && ok->histogram && failed && failed->histogram);
    EXPECT_EQ(ok->histogram->count(), 3u);
    EXPECT_NEAR(ok->histogram->sum(), 0.0015, 1e-12);
    EXPECT_EQ(failed->histogram->count(), 3u);  // the synchronous failure has no SYN_SENT time

    // Time in state: SYN_SENT left six times with known durations.
    const MetricSample* in_syn =
        sample(family(m, "tcpscope_state_duration_seconds"), {{"state", "SYN_SENT"}});
    ASSERT_TRUE(in_syn && in_syn->histogram);
    EXPECT_EQ(in_syn->histogram->count(), 6u);
}

TEST(MetricsModelTest, HistogramBucketsAreUpperInclusive) {
    SecondsHistogram h({0.001, 0.01});
    h.observe_ns(kMs);       // exactly 1 ms: le="0.001"
    h.observe_ns(kMs + 1);   // just above
    h.observe_ns(20 * kMs);  // +Inf
    EXPECT_EQ(h.counts(), (std::vector<std::uint64_t>{1, 1, 1}));
    EXPECT_EQ(h.count(), 3u);
}

TEST(MetricsModelTest, TimewaitBirthsEarlyDeathsAndLiveCountFollowTheTable) {
    SocketTable table(1024);
    MetricsModel model(5);
    auto active_close = [&](std::uint64_t cookie, std::uint16_t sport, std::uint64_t ts) {
        auto at = [&](TcpState from, TcpState to, std::uint64_t when) {
            Transition t = transition(cookie, from, to, when);
            t.sport = sport;
            feed(table, model, t);
        };
        at(TcpState::Close, TcpState::SynSent, ts);
        at(TcpState::SynSent, TcpState::Established, ts + 1);
        at(TcpState::Established, TcpState::FinWait1, ts + 2);
        at(TcpState::FinWait1, TcpState::FinWait2, ts + 3);
        at(TcpState::FinWait2, TcpState::Close, ts + 4);
    };
    active_close(1, 40001, 1000 * kMs);
    active_close(2, 40002, 1100 * kMs);
    model.set_table(table);
    auto m = model.snapshot();
    EXPECT_EQ(value(m, "tcpscope_timewait_births_total"), 2);
    EXPECT_EQ(value(m, "tcpscope_timewait_sockets"), 2);
    EXPECT_EQ(
        value(m, "tcpscope_sockets", {{"netns", std::to_string(kNetns)}, {"state", "TIME_WAIT"}}),
        2);
    EXPECT_EQ(value(m, "tcpscope_transitions_total",
                    {{"old_state", "FIN_WAIT2"}, {"new_state", "TIME_WAIT"}}),
              2);

    // A listing a second later shows only socket 2: socket 1 died early.
    ListedSocket tw;
    tw.cookie = 2;
    tw.state = TcpState::TimeWait;
    tw.is_timewait = true;
    tw.saddr = testing::ipv4("127.0.0.1");
    tw.daddr = testing::ipv4("127.0.0.1");
    tw.sport = 40002;
    tw.dport = 8080;
    tw.expires_ms = 59000;
    model.observe_reconcile(table.reconcile({tw}, kNetns, 2000 * kMs));
    model.set_table(table);
    m = model.snapshot();
    EXPECT_EQ(value(m, "tcpscope_timewait_deaths_total"), 1);
    EXPECT_EQ(value(m, "tcpscope_timewait_early_deaths_total"), 1);
    EXPECT_EQ(value(m, "tcpscope_timewait_sockets"), 1);
    EXPECT_EQ(value(m, "tcpscope_reconcile_corrections_total", {{"kind", "removed"}}), 1);
    EXPECT_EQ(value(m, "tcpscope_reconciliations_total"), 1);
    EXPECT_EQ(value(m, "tcpscope_transitions_total",
                    {{"old_state", "TIME_WAIT"}, {"new_state", "CLOSE"}}),
              1);
    EXPECT_EQ(value(m, "tcpscope_table_sockets"), 1);
    EXPECT_EQ(value(m, "tcpscope_table_capacity_sockets"), 1024);
}

TEST(MetricsModelTest, PortPressureKeepsOnlyTheTopDestinations) {
    MetricsModel model(2);
    std::vector<PortPressure> all;
    for (std::uint16_t port = 1; port <= 5; ++port) {
        all.push_back({testing::ipv4("10.0.0.1"), port, 10u * (6 - port), 0, 10.0 * (6 - port)});
    }
    model.set_pressure(all);
    auto m = model.snapshot();
    const MetricFamilyData& f = family(m, "tcpscope_port_range_usage_ratio");
    ASSERT_EQ(f.samples.size(), 2u);
    EXPECT_DOUBLE_EQ(
        value(m, "tcpscope_port_range_usage_ratio", {{"daddr", "10.0.0.1"}, {"dport", "1"}}), 0.5);
    EXPECT_DOUBLE_EQ(
        value(m, "tcpscope_port_range_usage_ratio", {{"daddr", "10.0.0.1"}, {"dport", "2"}}), 0.4);
}

TEST(MetricsModelTest, LossesByCauseAndTableCounters) {
    MetricsModel model(5);
    model.set_events({100, 3, 2, 1, 4, 7});
    auto m = model.snapshot();
    EXPECT_EQ(value(m, "tcpscope_events_total"), 100);
    EXPECT_EQ(value(m, "tcpscope_events_lost_total", {{"cause", "ringbuf_full"}}), 3);
    EXPECT_EQ(value(m, "tcpscope_events_lost_total", {{"cause", "recursion"}}), 2);
    EXPECT_EQ(value(m, "tcpscope_events_lost_total", {{"cause", "malformed"}}), 1);
    EXPECT_EQ(value(m, "tcpscope_events_lost_total", {{"cause", "found_by_listing"}}), 4);
    EXPECT_EQ(value(m, "tcpscope_events_recovered_total"), 7);

    SocketTable small(1024);
    MetricsModel table_model(5);
    for (std::uint64_t c = 1; c <= 1100; ++c) {  // past capacity: the idlest are evicted
        feed(small, table_model, transition(c, TcpState::Close, TcpState::SynSent, c * kMs));
    }
    table_model.set_table(small);
    m = table_model.snapshot();
    EXPECT_EQ(value(m, "tcpscope_table_evictions_total"),
              static_cast<double>(small.counters().evictions));
    EXPECT_GT(small.counters().evictions, 0u);
}

TEST(MetricsModelTest, EveryNameIsPrefixedAndEveryLabelSetBounded) {
    SocketTable table(1024);
    MetricsModel model(5);
    for (std::uint64_t i = 1; i <= 200; ++i) {
        connect_failed(table, model, i, i * kMs, ECONNREFUSED);
    }
    for (const MetricFamilyData& f : model.snapshot()) {
        EXPECT_EQ(f.name.rfind("tcpscope_", 0), 0u) << f.name;
        EXPECT_LE(f.samples.size(), 4u) << f.name;  // 200 sockets, no per-socket series
        for (const MetricSample& s : f.samples) {
            for (const auto& [name, v] : s.labels) {
                EXPECT_NE(name, "sport");
                EXPECT_NE(name, "cookie");
            }
        }
    }
}

TEST(MetricsExporterTest, PrometheusCppRendersTheSnapshot) {
    SocketTable table(1024);
    MetricsModel model(5);
    connect_ok(table, model, 1, 10 * kMs);
    connect_failed(table, model, 2, 20 * kMs, ECONNREFUSED);
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, to_prometheus(model.snapshot()));
    const std::string text = out.str();
    EXPECT_NE(text.find("# TYPE tcpscope_transitions_total counter"), std::string::npos) << text;
    EXPECT_NE(text.find("tcpscope_connect_failures_total{reason=\"ECONNREFUSED\"} 1"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("# TYPE tcpscope_syn_sent_seconds histogram"), std::string::npos);
    EXPECT_NE(text.find("tcpscope_syn_sent_seconds_bucket{outcome=\"succeeded\",le=\"0.001\"} 1"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("tcpscope_syn_sent_seconds_bucket{outcome=\"failed\",le=\"+Inf\"} 1"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("tcpscope_syn_sent_seconds_count{outcome=\"failed\"} 1"),
              std::string::npos);
}

TEST(ServeOptionsTest, MetricsAddressIsHostAndPort) {
    EXPECT_FALSE(check_metrics_address("127.0.0.1:9464"));
    EXPECT_FALSE(check_metrics_address("0.0.0.0:80"));
    EXPECT_FALSE(check_metrics_address("[::1]:9464"));
    EXPECT_TRUE(check_metrics_address("127.0.0.1"));
    EXPECT_TRUE(check_metrics_address("127.0.0.1:0"));
    EXPECT_TRUE(check_metrics_address("127.0.0.1:65536"));
    EXPECT_TRUE(check_metrics_address("localhost:9464"));
    EXPECT_TRUE(check_metrics_address("::1:9464"));
    EXPECT_TRUE(check_metrics_address("127.0.0.1:94x"));
    EXPECT_EQ(metrics_port("[::1]:9464"), 9464);
    EXPECT_EQ(metrics_port("127.0.0.1:80"), 80);
}

TEST(ServeOptionsTest, DefaultsAndFlags) {
    ParseOutcome parsed = parse_command_line({"tcpscope", "serve"});
    ASSERT_TRUE(parsed.command) << parsed.output;
    const auto& defaults = std::get<ServeConfig>(*parsed.command);
    EXPECT_EQ(defaults.metrics_addr, "127.0.0.1:9464");
    EXPECT_FALSE(defaults.log_path);

    parsed =
        parse_command_line({"tcpscope", "serve", "--metrics-addr", "[::1]:9100", "--log",
                            "/tmp/x.jsonl", "--log-size", "1000", "--port", "80", "--top", "3"});
    ASSERT_TRUE(parsed.command) << parsed.output;
    const auto& c = std::get<ServeConfig>(*parsed.command);
    EXPECT_EQ(c.metrics_addr, "[::1]:9100");
    EXPECT_EQ(c.log_path, "/tmp/x.jsonl");
    EXPECT_EQ(c.log_rotate_bytes, 1000u);
    EXPECT_EQ(c.top_n, 3u);
    EXPECT_EQ(c.filters.ports.size(), 1u);

    parsed = parse_command_line({"tcpscope", "serve", "--metrics-addr", "9464"});
    EXPECT_FALSE(parsed.command);
    EXPECT_EQ(parsed.exit_code, exit_code::kUsage);
    EXPECT_NE(parsed.output.find("--metrics-addr"), std::string::npos) << parsed.output;
}

TEST(MetricsModelTest, FailuresByUnitKeepTheTopNAndMergeTheRest) {
    testing::FakeCgroups cgroups{
        {1, "/system.slice/web.service"}, {2, "/system.slice/batch.service"}, {3, "/adhoc"}};
    SocketTable table(1024);
    MetricsModel model(2, &cgroups);
    std::uint64_t cookie = 1;
    auto fail_from = [&](std::uint64_t cgroup, int n) {
        for (int i = 0; i < n; ++i, ++cookie) {
            Transition t = transition(cookie, TcpState::SynSent, TcpState::Close, cookie * kMs);
            t.sk_err = ECONNREFUSED;
            t.owner->cgroup_id = cgroup;
            model.observe(t, table.apply(t));
        }
    };
    fail_from(1, 5);
    fail_from(2, 3);
    fail_from(3, 1);  // third: merged into "other"
    fail_from(0, 2);  // owner's cgroup never learned
    auto m = model.snapshot();
    auto by_unit = [&](const char* unit) {
        return value(m, "tcpscope_connect_failures_by_unit_total",
                     {{"unit", unit}, {"reason", "ECONNREFUSED"}});
    };
    EXPECT_EQ(by_unit("web.service"), 5);
    EXPECT_EQ(by_unit("batch.service"), 3);
    EXPECT_EQ(by_unit("other"), 3) << "/adhoc and the unknown owners, past the top 2";
    EXPECT_EQ(value(m, "tcpscope_connect_failures_total", {{"reason", "ECONNREFUSED"}}), 11);
}

TEST(MetricsModelTest, FailuresByDestinationKeepTheTopNAndMergeTheRest) {
    SocketTable table(1024);
    MetricsModel model(1);
    std::uint64_t cookie = 1;
    auto fail_to = [&](std::uint16_t port, int error, int n) {
        for (int i = 0; i < n; ++i, ++cookie) {
            Transition t = transition(cookie, TcpState::SynSent, TcpState::Close, cookie * kMs);
            t.sk_err = error;
            t.dport = port;
            model.observe(t, table.apply(t));
        }
    };
    fail_to(5432, ECONNREFUSED, 2);
    fail_to(5432, ETIMEDOUT, 1);
    fail_to(6379, ECONNREFUSED, 2);  // fewer in all: merged into "other"
    auto m = model.snapshot();
    auto to = [&](const char* destination, const char* reason) {
        return value(m, "tcpscope_connect_failures_by_destination_total",
                     {{"destination", destination}, {"reason", reason}});
    };
    EXPECT_EQ(to("127.0.0.1:5432", "ECONNREFUSED"), 2);
    EXPECT_EQ(to("127.0.0.1:5432", "ETIMEDOUT"), 1);
    EXPECT_EQ(to("other", "ECONNREFUSED"), 2);
}

}  // namespace
}  // namespace tcpscope
