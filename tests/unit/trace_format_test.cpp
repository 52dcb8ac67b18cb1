#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>

#include "core/cgroup_name.h"
#include "unit/event_builder.h"
#include "views/trace_format.h"

namespace tcpscope {
namespace {

using testing::transition;

TraceFormatter formatter() {
    return TraceFormatter(testing::test_clock());
}

TEST(TraceText, HeaderNamesTheColumns) {
    EXPECT_EQ(TraceFormatter(testing::test_clock()).text_header(),
              "TIME            PID     COMM             LADDR:LPORT           RADDR:RPORT       "
              "    OLD -> NEW                         MS ERROR");
}

TEST(TraceText, FormatsAKnownTransition) {
    Transition t = transition(1, TcpState::Established, TcpState::FinWait1);
    t.dur_ns = 1'234'567;
    EXPECT_EQ(formatter().text_line(t),
              "04:31:02.123456 4242    client           127.0.0.1:40000       127.0.0.1:8080     "
              "   ESTABLISHED -> FIN_WAIT1        1.235");
}

TEST(TraceText, UnknownsAreDashesNeverZeros) {
    Transition t = transition(1, TcpState::Close, TcpState::SynSent);
    t.owner.reset();
    t.sport.reset();
    std::string line = formatter().text_line(t);
    EXPECT_EQ(line,
              "04:31:02.123456 -       -                127.0.0.1:-           127.0.0.1:8080     "
              "   CLOSE -> SYN_SENT                   -");
}

TEST(TraceText, AppendsTheErrorName) {
    Transition t = transition(1, TcpState::SynSent, TcpState::Close);
    t.sk_err = 111;
    t.dur_ns = 271'000;
    std::string line = formatter().text_line(t);
    EXPECT_TRUE(line.ends_with("0.271 ECONNREFUSED")) << line;
}

TEST(TraceText, ListenerPeerPrintsAsStar) {
    Transition t = transition(1, TcpState::Close, TcpState::Listen);
    t.daddr = testing::ipv4("0.0.0.0");
    t.dport = 0;
    EXPECT_NE(formatter().text_line(t).find("0.0.0.0:*"), std::string::npos);
}

TEST(TraceText, EscapesControlBytesInComm) {
    Transition t = transition(1, TcpState::Close, TcpState::SynSent);
    t.owner->comm = "\x1b[31mevil\n";
    std::string line = formatter().text_line(t);
    EXPECT_EQ(line.find('\x1b'), std::string::npos);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    EXPECT_NE(line.find("\\x1b[31mevil\\x0a"), std::string::npos) << line;
}

TEST(TraceText, Ipv6EndpointsAreBracketed) {
    Transition t = transition(1, TcpState::Close, TcpState::SynSent);
    t.saddr = testing::ipv6("::1");
    t.daddr = testing::ipv6("fd00::2");
    std::string line = formatter().text_line(t);
    EXPECT_NE(line.find("[::1]:40000"), std::string::npos);
    EXPECT_NE(line.find("[fd00::2]:8080"), std::string::npos);
}

TEST(TraceJson, HasExactlyTheDocumentedKeys) {
    Transition t = transition(7, TcpState::SynSent, TcpState::Close);
    t.dur_ns = 2'500;
    t.sk_err = 111;
    auto j = nlohmann::json::parse(formatter().json_line(t));
    std::set<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it) {
        keys.insert(it.key());
    }
    EXPECT_EQ(keys,
              (std::set<std::string>{"ts", "ts_ns", "cookie", "netns", "pid", "comm", "cgroup",
                                     "unit", "container", "family", "saddr", "sport", "daddr",
                                     "dport", "old", "new", "dur_us", "error"}));
    EXPECT_EQ(j["ts"], "2026-11-26T04:31:02.123456Z");
    EXPECT_EQ(j["ts_ns"], 1'000'000'000u);
    EXPECT_EQ(j["cookie"], 7);
    EXPECT_EQ(j["netns"], 4026531840u);
    EXPECT_EQ(j["pid"], 4242);
    EXPECT_EQ(j["comm"], "client");
    EXPECT_EQ(j["family"], 4);
    EXPECT_EQ(j["saddr"], "127.0.0.1");
    EXPECT_EQ(j["sport"], 40000);
    EXPECT_EQ(j["dport"], 8080);
    EXPECT_EQ(j["old"], "SYN_SENT");
    EXPECT_EQ(j["new"], "CLOSE");
    EXPECT_DOUBLE_EQ(j["dur_us"].get<double>(), 2.5);
    EXPECT_EQ(j["error"], "ECONNREFUSED");
}

TEST(TraceJson, UnknownsAreNull) {
    Transition t = transition(7, TcpState::Close, TcpState::SynSent);
    t.owner.reset();
    t.sport.reset();
    auto j = nlohmann::json::parse(formatter().json_line(t));
    EXPECT_TRUE(j["pid"].is_null());
    EXPECT_TRUE(j["comm"].is_null());
    EXPECT_TRUE(j["sport"].is_null());
    EXPECT_TRUE(j["dur_us"].is_null());
    EXPECT_TRUE(j["error"].is_null());
}

TEST(TraceJson, OddCommBytesStayValidJson) {
    Transition t = transition(7, TcpState::Close, TcpState::SynSent);
    t.owner->comm = std::string("a\"b\\c\x01\x1b\xff\xc3\xa9", 10);
    std::string line = formatter().json_line(t);
    auto j = nlohmann::json::parse(line);                     // throws on invalid JSON or UTF-8
    EXPECT_EQ(j["comm"], "a\"b\\c\x01\x1b\xc3\xbf\xc3\xa9");  // 0xff -> U+00FF
    EXPECT_EQ(line.find('\x1b'), std::string::npos);
}

TEST(TraceJson, Ipv6FamilyAndNoInferredKeyForKernelEvents) {
    Transition t = transition(7, TcpState::Close, TcpState::Listen);
    t.saddr = testing::ipv6("::");
    t.daddr = testing::ipv6("::");
    auto j = nlohmann::json::parse(formatter().json_line(t));
    EXPECT_EQ(j["family"], 6);
    EXPECT_EQ(j["saddr"], "::");
    EXPECT_FALSE(j.contains("inferred"));
}

}  // namespace
}  // namespace tcpscope

namespace tcpscope {
namespace {

// Found by fuzz_decode: a stamp past INT64_MAX overflowed the conversion.
TEST(WallClockTest, CorruptStampsNeitherOverflowNorCrash) {
    WallClock clock(1'000'000'000);
    EXPECT_EQ(clock.to_realtime_ns(UINT64_MAX), INT64_MAX);
    std::string text = clock.rfc3339(UINT64_MAX);
    EXPECT_FALSE(text.empty());
    EXPECT_EQ(WallClock(-5).to_realtime_ns(0), -5);
    EXPECT_EQ(WallClock(-1'500'000'000).time_of_day(0), "23:59:58.500000");
}

}  // namespace
}  // namespace tcpscope

namespace tcpscope {
namespace {

TEST(TraceJson, NamesTheOwnersCgroupOrNull) {
    testing::FakeCgroups cgroups{{77, "/system.slice/nginx.service"}};
    TraceFormatter f(testing::test_clock(), &cgroups);
    Transition t = testing::transition(1, TcpState::Close, TcpState::SynSent);
    t.owner->cgroup_id = 77;
    auto j = nlohmann::json::parse(f.json_line(t));
    EXPECT_EQ(j["cgroup"], "/system.slice/nginx.service");
    EXPECT_EQ(j["unit"], "nginx.service");
    EXPECT_TRUE(j["container"].is_null());
    t.owner->cgroup_id = 0;  // learned in no process context
    j = nlohmann::json::parse(f.json_line(t));
    EXPECT_TRUE(j["cgroup"].is_null());
    EXPECT_TRUE(j["unit"].is_null());
}

TEST(TraceText, TheCgroupColumnShowsTheUnitOrADash) {
    testing::FakeCgroups cgroups{{77, "/system.slice/nginx.service"}};
    TraceFormatter f(testing::test_clock(), &cgroups);
    f.show_cgroup_column();
    EXPECT_NE(f.text_header().find("COMM             UNIT                     LADDR:LPORT"),
              std::string::npos)
        << f.text_header();
    Transition t = testing::transition(1, TcpState::Close, TcpState::SynSent);
    t.owner->cgroup_id = 77;
    EXPECT_NE(f.text_line(t).find(" nginx.service            127.0.0.1:"), std::string::npos)
        << f.text_line(t);
    t.owner->cgroup_id = 0;
    EXPECT_NE(f.text_line(t).find(" -                        127.0.0.1:"), std::string::npos)
        << f.text_line(t);
    EXPECT_EQ(TraceFormatter(testing::test_clock()).text_header().find("UNIT"), std::string::npos);
}

TEST(CgroupName, UnitsAndContainersFromThePath) {
    EXPECT_EQ(name_cgroup("/system.slice/nginx.service").unit, "nginx.service");
    CgroupName session = name_cgroup("/user.slice/user-1000.slice/session-3.scope");
    EXPECT_EQ(session.unit, "session-3.scope");
    EXPECT_EQ(session.container, "");
    const std::string id(64, 'a');
    CgroupName docker = name_cgroup("/system.slice/docker-" + id + ".scope");
    EXPECT_EQ(docker.container, id);
    EXPECT_EQ(docker.unit, "docker-" + id + ".scope");
    CgroupName pod = name_cgroup(
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/"
        "cri-containerd-" +
        id + ".scope");
    EXPECT_EQ(pod.container, id);
    EXPECT_EQ(name_cgroup("/kubepods/burstable/pod1234/" + id).container, id);
    EXPECT_EQ(name_cgroup("/docker/" + id).unit, "");
    EXPECT_EQ(
        name_cgroup("/machine.slice/libpod-" + id.substr(0, 12) + ".scope/container").container,
        id.substr(0, 12));
    EXPECT_EQ(name_cgroup("").path, "/");
    EXPECT_EQ(name_cgroup("/docker-notHex.scope").container, "");
}

}  // namespace
}  // namespace tcpscope
