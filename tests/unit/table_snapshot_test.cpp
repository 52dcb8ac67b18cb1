#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "unit/event_builder.h"
#include "views/table_snapshot.h"

namespace tcpscope {
namespace {

using testing::transition;

// 1_000_000_000 ns monotonic + offset = 2026-11-26T04:31:02.123456Z
constexpr std::int64_t kOffset = 1795667462'123456000LL - 1'000'000'000LL;

std::vector<SocketEntry> sample() {
    SocketTable table(16);
    table.apply(transition(5, TcpState::SynRecv, TcpState::Established, 400'000'000));
    Transition l = transition(9, TcpState::Close, TcpState::Listen, 100'000'000);
    l.dport = 0;
    l.owner->comm = "srv\\n";
    table.apply(l);
    ListedSocket seeded;
    seeded.cookie = 3;
    seeded.saddr = testing::ipv4("10.0.0.1");
    seeded.daddr = testing::ipv4("10.0.0.2");
    seeded.sport = 22;
    seeded.dport = 5555;
    seeded.state = TcpState::Established;
    table.reconcile({seeded}, 4026531840u, 50'000'000);
    std::vector<SocketEntry> entries = table.snapshot();
    sort_for_snapshot(entries);
    return entries;
}

TEST(TableSnapshot, TextListsListenersFirstWithAgesAndOwners) {
    auto lines = snapshot_text(sample(), 1'000'000'000, WallClock(kOffset));
    ASSERT_EQ(lines.size(), 5u);
    EXPECT_EQ(lines[0], "SNAPSHOT 2026-11-26T04:31:02.123456Z sockets=3");
    EXPECT_EQ(lines[1],
              "STATE        LADDR:LPORT           RADDR:RPORT           AGE       OWNER      "
              "            NETNS      COOKIE");
    EXPECT_EQ(lines[2],
              "LISTEN       127.0.0.1:40000       127.0.0.1:*           900ms     4242/srv\\\\n   "
              "         4026531840 9");
    EXPECT_EQ(lines[3],
              "ESTABLISHED  10.0.0.1:22           10.0.0.2:5555         -         -          "
              "            4026531840 3");
    EXPECT_TRUE(lines[4].starts_with(
        "ESTABLISHED  127.0.0.1:40000       127.0.0.1:8080        600ms     4242/client"))
        << lines[4];
}

TEST(TableSnapshot, JsonLinesCarryASnapshotKeyAndNullsForUnknowns) {
    auto lines = snapshot_json(sample(), 1'000'000'000, WallClock(kOffset));
    ASSERT_EQ(lines.size(), 3u);
    auto listener = nlohmann::json::parse(lines[0]);
    EXPECT_EQ(listener["snapshot"], "2026-11-26T04:31:02.123456Z");
    EXPECT_EQ(listener["state"], "LISTEN");
    EXPECT_EQ(listener["cookie"], 9);
    EXPECT_EQ(listener["age_us"], 900000.0);
    EXPECT_EQ(listener["comm"], "srv\\n");
    auto seeded = nlohmann::json::parse(lines[1]);
    EXPECT_TRUE(seeded["age_us"].is_null());
    EXPECT_TRUE(seeded["pid"].is_null());
    EXPECT_EQ(seeded["dport"], 5555);
}

}  // namespace
}  // namespace tcpscope
