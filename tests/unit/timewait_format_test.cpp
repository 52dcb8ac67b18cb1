#include <gtest/gtest.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include "cli/exit_codes.h"
#include "cli/options.h"

#include "core/cgroup_name.h"
#include "unit/event_builder.h"
#include "views/timewait_format.h"

namespace tcpscope {
namespace {

TimewaitReport sample_report() {
    TimewaitReport r;
    r.ts_ns = 1'000'000'000;
    r.interval_s = 1.0;
    r.births = 500;
    r.births_per_s = 500.0;
    r.deaths = 3;
    r.deaths_per_s = 3.0;
    r.early_deaths = 1;
    r.corrections = 1;
    r.live = 2500;
    r.client_side = 500;
    r.top_remote = {{testing::ipv4("127.0.0.1"), 8080, 500}};
    r.top_lport = {{40000, 1}};
    r.closers = {{4242u, "churn\x1b", SocketRole::Client, 500},
                 {std::nullopt, "", SocketRole::Unknown, 2}};
    r.remaining_p50_ms = 30'000;
    r.remaining_max_ms = 59'900;
    r.limits.max_buckets = 131072;
    r.limits.port_range = std::pair<std::uint16_t, std::uint16_t>{32768, 60999};
    r.buckets_pct = 1.9;
    r.pressure = {{testing::ipv4("127.0.0.1"), 8080, 2500, 1, 8.9}};
    r.warnings = {"a \"quoted\" warning"};
    return r;
}

TEST(TimewaitFormat, JsonHasTheIssuesKeys) {
    TimewaitFormatter f(WallClock(0));
    auto j = nlohmann::json::parse(f.json_line(sample_report()));
    for (const char* key : {"ts", "interval_s", "births", "births_per_s", "deaths", "live",
                            "top_remote", "top_lport", "closers", "tw_buckets_max", "warnings"}) {
        EXPECT_TRUE(j.contains(key)) << key;
    }
    EXPECT_EQ(j["ts"], "1970-01-01T00:00:01.000000Z");
    EXPECT_EQ(j["births"], 500);
    EXPECT_EQ(j["top_remote"][0]["addr"], "127.0.0.1");
    EXPECT_EQ(j["top_remote"][0]["port"], 8080);
    EXPECT_EQ(j["top_remote"][0]["births"], 500);
    EXPECT_EQ(j["top_lport"][0]["port"], 40000);
    EXPECT_EQ(j["closers"][0]["pid"], 4242);
    EXPECT_EQ(j["closers"][0]["comm"], "churn\x1b");
    EXPECT_EQ(j["closers"][0]["side"], "client");
    EXPECT_TRUE(j["closers"][1]["pid"].is_null());
    EXPECT_EQ(j["side"]["client"], 500);
    EXPECT_EQ(j["remaining_ms"]["p50"], 30000);
    EXPECT_EQ(j["tw_buckets_max"], 131072);
    EXPECT_EQ(j["port_range"][1], 60999);
    EXPECT_EQ(j["port_pressure"][0]["timewait"], 2500);
    EXPECT_EQ(j["warnings"][0], "a \"quoted\" warning");
    EXPECT_FALSE(j.contains("final"));
}

TEST(TimewaitFormat, FinalAndUnknownsInJson) {
    TimewaitFormatter f(WallClock(0));
    TimewaitReport r;
    r.final = true;
    auto j = nlohmann::json::parse(f.json_line(r));
    EXPECT_EQ(j["final"], true);
    EXPECT_TRUE(j["tw_buckets_max"].is_null());
    EXPECT_TRUE(j["remaining_ms"].is_null());
    EXPECT_TRUE(j["top_remote"].is_array());
    EXPECT_TRUE(j["warnings"].empty());
}

TEST(TimewaitFormat, TextEscapesCommAndShowsWarnings) {
    TimewaitFormatter f(WallClock(0));
    auto lines = f.text_lines(sample_report());
    std::string all;
    for (const auto& l : lines) {
        all += l + "\n";
    }
    EXPECT_EQ(lines[0].rfind("00:00:01.000000  births 500 (500.0/s)", 0), 0u) << all;
    EXPECT_NE(all.find("4242/churn\\x1b (client) 500"), std::string::npos) << all;
    EXPECT_EQ(all.find('\x1b'), std::string::npos);
    EXPECT_NE(all.find("127.0.0.1:8080 500"), std::string::npos) << all;
    EXPECT_NE(all.find("p50 30.0 s, max 59.9 s"), std::string::npos) << all;
    EXPECT_NE(all.find("2500/131072 tw_buckets"), std::string::npos) << all;
    EXPECT_NE(all.find("  WARNING: a \"quoted\" warning"), std::string::npos) << all;
}

TEST(TimewaitFormat, ClosersNameTheirUnit) {
    testing::FakeCgroups cgroups{{9, "/system.slice/churn.service"}};
    TimewaitFormatter f(WallClock(0), &cgroups);
    TimewaitReport r = sample_report();
    r.closers[0].cgroup_id = 9;
    std::string all;
    for (const auto& l : f.text_lines(r)) {
        all += l + "\n";
    }
    EXPECT_NE(all.find("4242/churn\\x1b (client, churn.service) 500"), std::string::npos) << all;
    auto j = nlohmann::json::parse(f.json_line(r));
    EXPECT_EQ(j["closers"][0]["unit"], "churn.service");
    EXPECT_EQ(j["closers"][0]["cgroup"], "/system.slice/churn.service");
    EXPECT_TRUE(j["closers"][1]["unit"].is_null());
}

}  // namespace
}  // namespace tcpscope

namespace tcpscope {
namespace {

ParseOutcome parse_timewait(std::vector<std::string> args) {
    args.insert(args.begin(), {"tcpscope", "timewait"});
    return parse_command_line(args);
}

TEST(TimewaitOptions, DefaultsAndFlags) {
    auto outcome = parse_timewait({});
    ASSERT_TRUE(outcome.command) << outcome.output;
    const auto& d = std::get<TimewaitConfig>(*outcome.command);
    EXPECT_DOUBLE_EQ(d.interval_s, 1.0);
    EXPECT_EQ(d.top_n, 5u);
    EXPECT_DOUBLE_EQ(d.warn_pct, 80.0);
    EXPECT_FALSE(d.json);

    outcome = parse_timewait({"--interval", "2.5", "--top", "3", "--json", "--warn-pct", "50", "-6",
                              "--rport", "443", "--netns", "/run/netns/x", "--duration", "4"});
    ASSERT_TRUE(outcome.command) << outcome.output;
    const auto& c = std::get<TimewaitConfig>(*outcome.command);
    EXPECT_DOUBLE_EQ(c.interval_s, 2.5);
    EXPECT_EQ(c.top_n, 3u);
    EXPECT_TRUE(c.json);
    EXPECT_DOUBLE_EQ(c.warn_pct, 50.0);
    EXPECT_EQ(c.filters.family, AF_INET6);
    ASSERT_EQ(c.filters.ports.size(), 1u);
    EXPECT_EQ(c.filters.ports[0].side, PortSide::Remote);
    EXPECT_EQ(c.filters.netns, "/run/netns/x");
    EXPECT_EQ(c.duration_s, 4.0);
    EXPECT_EQ(c.filters.ports[0].port, 443);
}

TEST(TimewaitOptions, RejectsBadValues) {
    EXPECT_EQ(parse_timewait({"--interval", "0"}).exit_code, exit_code::kUsage);
    EXPECT_EQ(parse_timewait({"--top", "0"}).exit_code, exit_code::kUsage);
    EXPECT_EQ(parse_timewait({"--warn-pct", "101"}).exit_code, exit_code::kUsage);
}

}  // namespace
}  // namespace tcpscope
