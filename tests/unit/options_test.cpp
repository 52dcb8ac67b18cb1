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
