#include <gtest/gtest.h>
#include <sys/socket.h>

#include "cli/exit_codes.h"
#include "cli/options.h"

namespace tcpscope {
namespace {

ParseOutcome parse(std::vector<std::string> args) {
    args.insert(args.begin(), "tcpscope");
    return parse_command_line(args);
}

const TraceConfig& trace_of(const ParseOutcome& outcome) {
    return std::get<TraceConfig>(*outcome.command);
}

TEST(Options, NoSubcommandMeansTraceWithDefaults) {
    auto outcome = parse({});
    ASSERT_TRUE(outcome.command);
    const TraceConfig& c = trace_of(outcome);
    EXPECT_FALSE(c.json);
    EXPECT_EQ(c.filters.family, 0);
    EXPECT_EQ(c.tuning.ringbuf_bytes, 16u << 20);
}

TEST(Options, VersionPrintsTheBuildsVersion) {
    ParseOutcome r = parse({"--version"});
    EXPECT_FALSE(r.command);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.output, std::string("tcpscope ") + TCPSCOPE_VERSION + "\n");
}

TEST(Options, TraceFlags) {
    auto outcome = parse(
        {"trace",   "--json",     "-4",     "--port", "80",       "--lport",      "8080",
         "--rport", "443",        "--port", "22",     "--netns",  "/run/netns/x", "--pid",
         "99",      "--duration", "2.5",    "-o",     "/tmp/out", "--stats",      "--ringbuf-size",
         "65536"});
    ASSERT_TRUE(outcome.command) << outcome.output;
    const TraceConfig& c = trace_of(outcome);
    EXPECT_TRUE(c.json);
    EXPECT_EQ(c.filters.family, AF_INET);
    ASSERT_EQ(c.filters.ports.size(), 4u);
    EXPECT_EQ(c.filters.ports[0].port, 80);
    EXPECT_EQ(c.filters.ports[0].side, PortSide::Either);
    EXPECT_EQ(c.filters.ports[1].port, 22);
    EXPECT_EQ(c.filters.ports[2].port, 8080);
    EXPECT_EQ(c.filters.ports[2].side, PortSide::Local);
    EXPECT_EQ(c.filters.ports[3].side, PortSide::Remote);
    EXPECT_EQ(c.filters.netns, "/run/netns/x");
    EXPECT_EQ(c.filters.pid, 99u);
    EXPECT_DOUBLE_EQ(*c.duration_s, 2.5);
    EXPECT_EQ(c.output_path, "/tmp/out");
    EXPECT_TRUE(c.stats);
    EXPECT_EQ(c.tuning.ringbuf_bytes, 65536u);
}

TEST(Options, BothFamiliesMeansNoFamilyFilter) {
    EXPECT_EQ(trace_of(parse({"trace", "-4", "-6"})).filters.family, 0);
    EXPECT_EQ(trace_of(parse({"trace", "-6"})).filters.family, AF_INET6);
}

TEST(Options, UsageErrorsExitTwoWithOneLine) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"trace", "--port", "0"},
             {"trace", "--port", "65536"},
             {"trace", "--lport", "-1"},
             {"trace", "--rport", "http"},
             {"trace", "--duration", "0"},
             {"trace", "--duration", "soon"},
             {"trace", "--ringbuf-size", "1000"},
             {"trace", "--ringbuf-size", "3000000"},
             {"trace", "--rotate-size", "100"},
             {"trace", "--pid", "0"},
             {"trace", "--bogus"},
             {"trace", "extra-positional"},
             {"nosuchcommand"},
         }) {
        auto outcome = parse(args);
        EXPECT_FALSE(outcome.command) << args.back();
        EXPECT_EQ(outcome.exit_code, exit_code::kUsage) << args.back();
        EXPECT_FALSE(outcome.output.empty());
        EXPECT_EQ(outcome.output.find('\n'), std::string::npos) << outcome.output;
    }
}

TEST(Options, EverySubcommandSaysWhatASecondsFlagNeeds) {
    for (const char* command : {"trace", "synfail", "timewait", "serve"}) {
        auto outcome = parse({command, "--duration", "0"});
        EXPECT_FALSE(outcome.command) << command;
        EXPECT_EQ(outcome.exit_code, exit_code::kUsage) << command;
        EXPECT_NE(outcome.output.find("--duration: expected a positive number of seconds, got '0'"),
                  std::string::npos)
            << command << ": " << outcome.output;
    }
    EXPECT_EQ(
        std::get<TimewaitConfig>(*parse({"timewait", "--duration", "2.5"}).command).duration_s,
        2.5);
}

TEST(Options, SynfailFlags) {
    auto outcome = parse({"synfail", "--json", "-6", "--rport", "443", "--netns", "/run/netns/x",
                          "--pid", "7", "--interval", "2", "--duration", "10", "--reason",
                          "ECONNREFUSED,etimedout", "--reason", "CANCELLED"});
    ASSERT_TRUE(outcome.command) << outcome.output;
    const auto& c = std::get<SynfailConfig>(*outcome.command);
    EXPECT_TRUE(c.json);
    EXPECT_EQ(c.filters.family, AF_INET6);
    ASSERT_EQ(c.filters.ports.size(), 1u);
    EXPECT_EQ(c.filters.ports[0].side, PortSide::Remote);
    EXPECT_EQ(c.filters.netns, "/run/netns/x");
    EXPECT_EQ(c.filters.pid, 7u);
    EXPECT_DOUBLE_EQ(*c.interval_s, 2.0);
    EXPECT_DOUBLE_EQ(*c.duration_s, 10.0);
    EXPECT_EQ(c.reasons, (std::vector<std::string>{"ECONNREFUSED", "ETIMEDOUT", "CANCELLED"}));
}

TEST(Options, SynfailDefaults) {
    auto outcome = parse({"synfail"});
    ASSERT_TRUE(outcome.command) << outcome.output;
    const auto& c = std::get<SynfailConfig>(*outcome.command);
    EXPECT_FALSE(c.json);
    EXPECT_FALSE(c.interval_s);
    EXPECT_FALSE(c.duration_s);
    EXPECT_TRUE(c.reasons.empty());
    EXPECT_TRUE(c.sync);
    EXPECT_FALSE(std::get<SynfailConfig>(*parse({"synfail", "--no-sync"}).command).sync);
}

TEST(Options, SynfailUsageErrorsExitTwoWithOneLine) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"synfail", "--reason", "REFUSED"},
             {"synfail", "--reason", "ECONNREFUSED,nope"},
             {"synfail", "--reason", ""},
             {"synfail", "--interval", "0"},
             {"synfail", "--interval", "often"},
             {"synfail", "--port", "0"},
         }) {
        auto outcome = parse(args);
        EXPECT_FALSE(outcome.command) << args.back();
        EXPECT_EQ(outcome.exit_code, exit_code::kUsage) << args.back();
        EXPECT_FALSE(outcome.output.empty());
        EXPECT_EQ(outcome.output.find('\n'), std::string::npos) << outcome.output;
    }
    EXPECT_NE(parse({"synfail", "--reason", "REFUSED"}).output.find("unknown reason 'REFUSED'"),
              std::string::npos);
}

TEST(Options, HelpExitsZeroWithText) {
    auto outcome = parse({"--help"});
    EXPECT_FALSE(outcome.command);
    EXPECT_EQ(outcome.exit_code, exit_code::kOk);
    EXPECT_NE(outcome.output.find("trace"), std::string::npos);
}

}  // namespace
}  // namespace tcpscope

namespace tcpscope {
namespace {

TEST(Options, RecordAndReplayFlags) {
    auto trace = parse({"trace", "-w", "/var/tmp/a.tsr", "--print", "--rotate-size", "1000000",
                        "--rotate-count", "9"});
    ASSERT_TRUE(trace.command) << trace.output;
    const auto& t = std::get<TraceConfig>(*trace.command);
    EXPECT_EQ(t.record.write_path, std::optional<std::string>("/var/tmp/a.tsr"));
    EXPECT_TRUE(t.print);
    EXPECT_EQ(t.record.rotate_bytes, 1000000u);  // -o's rotation flags rotate -w too
    EXPECT_EQ(t.record.rotate_files, 9u);

    auto replay =
        parse({"timewait", "-r", "a.2.tsr", "-r", "a.1.tsr", "--read", "a.tsr", "--json"});
    ASSERT_TRUE(replay.command) << replay.output;
    EXPECT_EQ(std::get<TimewaitConfig>(*replay.command).record.read_paths,
              (std::vector<std::string>{"a.2.tsr", "a.1.tsr", "a.tsr"}));
    auto listen = parse({"listen", "-r", "l.tsr", "--json"});
    ASSERT_TRUE(listen.command) << listen.output;
    EXPECT_EQ(std::get<ListenConfig>(*listen.command).record.read_paths,
              std::vector<std::string>{"l.tsr"});
    auto synfail = parse({"synfail", "-w", "s.tsr", "--rotate-size", "5000"});
    ASSERT_TRUE(synfail.command) << synfail.output;
    EXPECT_EQ(std::get<SynfailConfig>(*synfail.command).record.rotate_bytes, 5000u);

    for (const auto& [args, says] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"trace", "-w", "a", "-r", "b"}, "-w and -r: record or replay, not both"},
             {{"trace", "-r", "a", "--pid", "7"}, "--pid: not with -r"},
             {{"synfail", "-r", "a", "--netns", "/run/netns/x"}, "--netns: not with -r"},
             {{"timewait", "-r", "a", "--duration", "3"}, "--duration: not with -r"},
             {{"trace", "-r", "a", "--cgroup", "/x"}, "--cgroup: not with -r"},
             {{"trace", "--print"}, "--print needs -w FILE"},
         }) {
        auto outcome = parse(args);
        EXPECT_FALSE(outcome.command) << says;
        EXPECT_EQ(outcome.exit_code, exit_code::kUsage) << says;
        EXPECT_NE(outcome.output.find(says), std::string::npos) << outcome.output;
    }
}

}  // namespace
}  // namespace tcpscope

namespace tcpscope {
namespace {

TEST(WallTime, TheFormsTcpscopePrintsAndNothingElse) {
    auto full = parse_wall_time("2026-12-03T17:32:50.192717Z");
    ASSERT_TRUE(full);
    EXPECT_TRUE(full->has_date);
    EXPECT_EQ(full->ns, 1796319170192717000LL);
    EXPECT_EQ(parse_wall_time("2026-12-03T17:32:50Z")->ns, 1796319170000000000LL);
    auto tod = parse_wall_time("17:32:50.5");
    ASSERT_TRUE(tod);
    EXPECT_FALSE(tod->has_date);
    EXPECT_EQ(tod->ns, (17 * 3600 + 32 * 60 + 50) * 1'000'000'000LL + 500'000'000);
    // A time of day is on the day it is asked from, or the next one.
    const std::int64_t morning = 1796256000LL * 1'000'000'000 + 3600LL * 1'000'000'000;  // 01:00
    EXPECT_EQ(tod->resolve(morning), 1796256000LL * 1'000'000'000 + tod->ns);
    const std::int64_t night = 1796256000LL * 1'000'000'000 + 23 * 3600LL * 1'000'000'000;
    EXPECT_EQ(tod->resolve(night),
              1796256000LL * 1'000'000'000 + 86400LL * 1'000'000'000 + tod->ns);
    for (const char* bad : {"", "now", "17:32", "25:00:00", "2026-12-03 17:32:50", "17:32:50.",
                            "2026-12-03T17:32:50+01:00", "17:32:50x"}) {
        EXPECT_FALSE(parse_wall_time(bad)) << bad;
    }
    auto at = parse({"netstat", "-r", "a.tsr", "--at", "12:00:00"});
    ASSERT_TRUE(at.command) << at.output;
    EXPECT_EQ(std::get<NetstatConfig>(*at.command).replay_paths, std::vector<std::string>{"a.tsr"});
    for (const auto& [args, says] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"netstat", "-r", "a.tsr"}, "-r FILE and --at TIME go together"},
             {{"netstat", "--at", "12:00:00"}, "-r FILE and --at TIME go together"},
             {{"netstat", "-r", "a", "--at", "noon"}, "--at: 'noon' is no time"},
             {{"netstat", "-r", "a", "--at", "12:00:00", "-p"}, "-p: not with -r"},
             {{"netstat", "-r", "a", "--at", "12:00:00", "-c"}, "-c: not with -r"},
         }) {
        auto outcome = parse(args);
        EXPECT_FALSE(outcome.command) << says;
        EXPECT_NE(outcome.output.find(says), std::string::npos) << outcome.output;
    }
}

}  // namespace
}  // namespace tcpscope
