#include <gtest/gtest.h>
#include <sys/socket.h>

#include "cli/exit_codes.h"
#include "cli/options.h"

namespace tcpscope {
namespace {

ParseOutcome parse(std::vector<std::string> args) {
    args.insert(args.begin(), "tcpscope");
    args.insert(args.begin() + 1, "netstat");
    return parse_command_line(args);
}

NetstatConfig netstat_of(const std::vector<std::string>& args) {
    ParseOutcome outcome = parse(args);
    EXPECT_TRUE(outcome.command) << outcome.output;
    return outcome.command ? std::get<NetstatConfig>(*outcome.command) : NetstatConfig{};
}

TEST(NetstatOptions, CombinedShortFlagsAsNetstatTakesThem) {
    NetstatConfig c = netstat_of({"-tanepoW"});
    EXPECT_TRUE(c.flags.all && c.flags.numeric && c.flags.extend && c.flags.programs &&
                c.flags.timers && c.flags.wide);
    EXPECT_FALSE(c.flags.listening || c.flags.age || c.flags.owner);
    EXPECT_EQ(c.family, 0);
    EXPECT_FALSE(c.interval_s);
    EXPECT_FALSE(c.netns);
}

TEST(NetstatOptions, FamiliesAndRepeatedE) {
    EXPECT_EQ(netstat_of({"-4tan"}).family, AF_INET);
    EXPECT_EQ(netstat_of({"-6tan"}).family, AF_INET6);
    EXPECT_EQ(netstat_of({"-4", "-6", "-tan"}).family, 0);
    EXPECT_TRUE(netstat_of({"-taee"}).flags.extend);
    EXPECT_TRUE(netstat_of({"-tln"}).flags.listening);
}

TEST(NetstatOptions, ContinuousWithAndWithoutSeconds) {
    EXPECT_EQ(netstat_of({"-tanc"}).interval_s, 1.0);
    EXPECT_EQ(netstat_of({"-c", "-tan"}).interval_s, 1.0);
    NetstatConfig c = netstat_of({"-tan", "-c", "0.5", "--count", "3", "--short-lived", "--age",
                                  "--owner", "--netns", "/run/netns/x"});
    EXPECT_EQ(c.interval_s, 0.5);
    EXPECT_EQ(c.count, 3u);
    EXPECT_TRUE(c.short_lived && c.flags.age && c.flags.owner);
    EXPECT_EQ(c.netns, "/run/netns/x");
}

TEST(NetstatOptions, UsageErrors) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"-c", "0"}, {"-c", "soon"}, {"--count", "2"}, {"--short-lived"}, {"-x"}}) {
        ParseOutcome outcome = parse(args);
        EXPECT_FALSE(outcome.command) << args.front();
        EXPECT_EQ(outcome.exit_code, exit_code::kUsage) << args.front();
    }
}

}  // namespace
}  // namespace tcpscope
