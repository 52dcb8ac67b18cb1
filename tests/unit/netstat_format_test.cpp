// The netstat formatter against the rows captured from net-tools netstat 2.10
// in /work/shared/docs/netstat-format.md (section 9), with fake name services.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <map>

#include "cli/system_names.h"
#include "unit/event_builder.h"
#include "views/netstat_format.h"

namespace tcpscope {
namespace {

IpAddress ip(const char* text) {
    IpAddress a;
    a.family = std::string_view(text).find(':') != std::string_view::npos ? AF_INET6 : AF_INET;
    EXPECT_EQ(inet_pton(a.family, text, a.bytes.data()), 1) << text;
    return a;
}

class FakeNames : public NameLookup {
  public:
    std::map<std::string, std::string> hosts;  // numeric text -> name
    std::map<std::uint16_t, std::string> services;
    std::map<std::uint32_t, std::string> users;
    int lookups = 0;

    std::optional<std::string> host_v4(const IpAddress& a) override { return find(a); }
    std::optional<std::string> network_v4(const IpAddress&) override { return std::nullopt; }
    std::string host_v6(const IpAddress& a) override { return find(a).value_or(to_string(a)); }
    std::optional<std::string> service(std::uint16_t port) override {
        auto it = services.find(port);
        return it == services.end() ? std::nullopt : std::optional(it->second);
    }
    std::optional<std::string> user(std::uint32_t uid) override {
        auto it = users.find(uid);
        return it == users.end() ? std::nullopt : std::optional(it->second);
    }

  private:
    std::optional<std::string> find(const IpAddress& a) {
        ++lookups;
        auto it = hosts.find(to_string(a));
        return it == hosts.end() ? std::nullopt : std::optional(it->second);
    }
};

class FakePrograms : public ProgramLookup {
  public:
    std::map<std::uint64_t, std::string> by_inode;
    std::optional<std::string> program(std::uint64_t inode) override {
        auto it = by_inode.find(inode);
        return it == by_inode.end() ? std::nullopt : std::optional(it->second);
    }
};

ListedSocket sock(const char* src, std::uint16_t sport, const char* dst, std::uint16_t dport,
                  TcpState state, std::uint32_t rq = 0, std::uint32_t wq = 0) {
    ListedSocket s;
    s.saddr = ip(src);
    s.daddr = ip(dst);
    s.sport = sport;
    s.dport = dport;
    s.state = state;
    s.rqueue = rq;
    s.wqueue = wq;
    return s;
}

FakeNames spec_names() {
    FakeNames n;
    n.hosts = {{"10.99.0.1", "a-very-long-hostname.example.internal"},
               {"127.0.0.1", "localhost"},
               {"::1", "localhost"}};
    n.services = {{80, "http"},       {443, "https"}, {22, "ssh"},
                  {8080, "http-alt"}, {631, "ipp"},   {6000, "x11"}};
    n.users = {{0, "root"}, {997, "systemd-timesync"}};
    return n;
}

ListedSocket with_timer(ListedSocket s, std::uint8_t timer, std::uint8_t retrans,
                        std::uint32_t expires_ms) {
    s.timer = timer;
    s.retrans = retrans;
    s.expires_ms = expires_ms;
    return s;
}

std::string row(const ListedSocket& s, const NetstatFlags& f, NameLookup& names,
                ProgramLookup* programs = nullptr) {
    return netstat_row(NetstatRow{s, std::nullopt, std::nullopt}, f, names, programs);
}

NetstatFlags tan() {
    NetstatFlags f;
    f.all = true;
    f.numeric = true;
    return f;
}

TEST(NetstatHeader, EveryFlagCombinationInNetstatsOrder) {
    NetstatFlags f;
    EXPECT_EQ(netstat_header(f),
              "Active Internet connections (w/o servers)\n"
              "Proto Recv-Q Send-Q Local Address           Foreign Address         State      \n");
    f.listening = true;
    EXPECT_EQ(netstat_header(f).substr(0, 43), "Active Internet connections (only servers)\n");
    f.all = true;  // -a beats -l
    EXPECT_EQ(netstat_header(f).substr(0, 54),
              "Active Internet connections (servers and established)\n");
    f.programs = true;
    EXPECT_EQ(netstat_header(f).substr(54),
              "Proto Recv-Q Send-Q Local Address           Foreign Address         State       "
              "PID/Program name    \n");
    f.extend = true;
    f.timers = true;
    EXPECT_EQ(netstat_header(f).substr(54),
              "Proto Recv-Q Send-Q Local Address           Foreign Address         State       "
              "User       Inode      PID/Program name     Timer\n");
}

TEST(NetstatHeader, ExtrasOnlyWhenAskedFor) {
    NetstatFlags f = tan();
    f.age = true;
    f.owner = true;
    EXPECT_EQ(netstat_header(f).substr(54),
              "Proto Recv-Q Send-Q Local Address           Foreign Address         State       "
              "Age       Owner                \n");
}

TEST(NetstatRows, CapturedTanRows) {
    FakeNames names;
    NetstatFlags f = tan();
    auto mapped = [](const char* v4) { return std::string("::ffff:") + v4; };
    EXPECT_EQ(row(sock("0.0.0.0", 9999, "0.0.0.0", 0, TcpState::Listen), f, names),
              "tcp        0      0 0.0.0.0:9999            0.0.0.0:*               LISTEN     \n");
    // LISTEN's Send-Q is always 0: inet_diag's wqueue there is the backlog.
    EXPECT_EQ(row(sock("0.0.0.0", 40000, "0.0.0.0", 0, TcpState::Listen, 2, 128), f, names),
              "tcp        2      0 0.0.0.0:40000           0.0.0.0:*               LISTEN     \n");
    EXPECT_EQ(row(sock("10.99.0.1", 40836, "10.99.0.2", 443, TcpState::SynSent, 0, 1), f, names),
              "tcp        0      1 10.99.0.1:40836         10.99.0.2:443           SYN_SENT   \n");
    EXPECT_EQ(row(sock("127.0.0.1", 46004, "127.0.0.1", 22, TcpState::TimeWait), f, names),
              "tcp        0      0 127.0.0.1:46004         127.0.0.1:22            TIME_WAIT  \n");
    EXPECT_EQ(
        row(sock("127.0.0.1", 5432, "127.0.0.1", 47060, TcpState::LastAck, 1, 3782145), f, names),
        "tcp        1 3782145 127.0.0.1:5432          127.0.0.1:47060         LAST_ACK   \n");
    EXPECT_EQ(row(sock("127.0.0.1", 58726, "127.0.0.1", 3306, TcpState::Established, 0, 3782144), f,
                  names),
              "tcp        0 3782144 127.0.0.1:58726         127.0.0.1:3306          ESTABLISHED\n");
    EXPECT_EQ(row(sock("fd00:1234:5678:9abc:def0:1234:5678:9abc", 45678, "::", 0, TcpState::Listen),
                  f, names),
              "tcp6       0      0 fd00:1234:5678:9a:45678 :::*                    LISTEN     \n");
    EXPECT_EQ(row(sock("::", 8080, "::", 0, TcpState::Listen), f, names),
              "tcp6       0      0 :::8080                 :::*                    LISTEN     \n");
    EXPECT_EQ(row(sock(mapped("127.0.0.1").c_str(), 8080, mapped("127.0.0.1").c_str(), 52788,
                       TcpState::Established),
                  f, names),
              "tcp6       0      0 127.0.0.1:8080          127.0.0.1:52788         ESTABLISHED\n");
    EXPECT_EQ(names.lookups, 0) << "-n never resolves";
}

TEST(NetstatRows, CapturedTaRowsWithNames) {
    FakeNames names = spec_names();
    NetstatFlags f;
    f.all = true;
    EXPECT_EQ(row(sock("10.99.0.1", 80, "0.0.0.0", 0, TcpState::Listen), f, names),
              "tcp        0      0 a-very-long-hostna:http 0.0.0.0:*               LISTEN     \n");
    EXPECT_EQ(row(sock("10.99.0.1", 40836, "10.99.0.2", 443, TcpState::SynSent, 0, 1), f, names),
              "tcp        0      1 a-very-long-hostn:40836 10.99.0.2:https         SYN_SENT   \n");
    ListedSocket request = sock("10.99.0.1", 80, "10.99.0.2", 55555, TcpState::SynRecv);
    request.is_request = true;
    EXPECT_EQ(row(request, f, names),
              "tcp        0      0 a-very-long-hostna:http 10.99.0.2:55555         SYN_RECV   \n");
    EXPECT_EQ(row(sock("127.0.0.1", 45998, "127.0.0.1", 22, TcpState::FinWait2), f, names),
              "tcp        0      0 localhost:45998         localhost:ssh           FIN_WAIT2  \n");
    EXPECT_EQ(row(sock("::", 8080, "::", 0, TcpState::Listen), f, names),
              "tcp6       0      0 [::]:http-alt           [::]:*                  LISTEN     \n");
    EXPECT_EQ(row(sock("::1", 631, "::1", 52426, TcpState::Established), f, names),
              "tcp6       0      0 localhost:ipp           localhost:52426         ESTABLISHED\n");
    // v4-mapped: resolved as IPv6 (no /etc/hosts match), printed as IPv4.
    EXPECT_EQ(row(sock("::ffff:127.0.0.1", 8080, "::ffff:127.0.0.1", 52788, TcpState::Established),
                  f, names),
              "tcp6       0      0 127.0.0.1:http-alt      127.0.0.1:52788         ESTABLISHED\n");
}

TEST(NetstatRows, CapturedTanWRows) {
    FakeNames names;
    NetstatFlags f = tan();
    f.wide = true;
    const char* a = "fd00:1234:5678:9abc:def0:1234:5678:9abc";
    EXPECT_EQ(row(sock(a, 45678, "::", 0, TcpState::Listen), f, names),
              "tcp6       0      0 fd00:1234:5678:9abc:def0:1234:5678:9abc:45678 :::*          "
              "          LISTEN     \n");
    EXPECT_EQ(row(sock(a, 36176, a, 45678, TcpState::Established), f, names),
              "tcp6       0      0 fd00:1234:5678:9abc:def0:1234:5678:9abc:36176 "
              "fd00:1234:5678:9abc:def0:1234:5678:9abc:45678 ESTABLISHED\n");
}

TEST(NetstatRows, CapturedTapRows) {
    FakeNames names = spec_names();
    names.services[22] = "zzz-dup-ssh";
    names.services[5000] = "a-very-long-service-name-x";
    FakePrograms programs;
    programs.by_inode = {
        {1, netstat_program("8327", std::string("/usr/local/bin/a-really-long-program\0x", 38))},
        {2, netstat_program("8378", std::string("nginx: master process /usr/sbin/nginx\0", 38))},
        {3, netstat_program("8380", std::string("/usr/sbin/daemon --conf=/etc/x/y.conf\0", 38))},
        {4, netstat_program("8329", std::string("./relative/prog\0", 16))}};
    NetstatFlags f;
    f.all = true;
    f.programs = true;
    auto with_inode = [](ListedSocket s, std::uint64_t inode) {
        s.inode = inode;
        return s;
    };
    EXPECT_EQ(row(with_inode(sock("0.0.0.0", 5000, "0.0.0.0", 0, TcpState::Listen, 3), 1), f, names,
                  &programs),
              "tcp        3      0 0.0.:a-very-long-servic 0.0.0.0:*               LISTEN      "
              "8327/a-really-long- \n");
    EXPECT_EQ(row(with_inode(sock("127.0.0.1", 22, "0.0.0.0", 0, TcpState::Listen, 2), 2), f, names,
                  &programs),
              "tcp        2      0 localhost:zzz-dup-ssh   0.0.0.0:*               LISTEN      "
              "8378/nginx: master  \n");
    EXPECT_EQ(
        row(sock("127.0.0.1", 22, "127.0.0.1", 45984, TcpState::TimeWait), f, names, &programs),
        "tcp        0      0 localhost:zzz-dup-ssh   localhost:45984         TIME_WAIT   "
        "-                   \n");
    EXPECT_EQ(
        row(with_inode(sock("::1", 631, "::", 0, TcpState::Listen, 1), 3), f, names, &programs),
        "tcp6       1      0 localhost:ipp           [::]:*                  LISTEN      "
        "8380/y.conf         \n");
    EXPECT_EQ(row(with_inode(sock("::", 7777, "::", 0, TcpState::Listen), 4), f, names, &programs),
              "tcp6       0      0 [::]:7777               [::]:*                  LISTEN      "
              "8329/./relative/pro \n");
}

TEST(NetstatRows, CapturedTaneopWRowsWithTimers) {
    FakeNames names;
    FakePrograms programs;
    programs.by_inode[15253] = "7706/python3";
    NetstatFlags f = tan();
    f.extend = f.timers = f.programs = f.wide = true;

    ListedSocket syn_sent =
        with_timer(sock("10.99.0.1", 40836, "10.99.0.2", 443, TcpState::SynSent, 0, 1), 1, 6, 2600);
    syn_sent.inode = 15253;
    syn_sent.retransmits = 6;
    syn_sent.probes = 0;
    EXPECT_EQ(row(syn_sent, f, names, &programs),
              "tcp        0      1 10.99.0.1:40836         10.99.0.2:443           SYN_SENT    0 "
              "         15253      7706/python3         on (2.60/6/0)\n");

    ListedSocket request =
        with_timer(sock("10.99.0.1", 80, "10.99.0.2", 55555, TcpState::SynRecv), 1, 3, 6565);
    request.is_request = true;
    EXPECT_EQ(row(request, f, names, &programs),
              "tcp        0      0 10.99.0.1:80            10.99.0.2:55555         SYN_RECV    0 "
              "         0          -                    on (6.56/3/0)\n");

    ListedSocket tw =
        with_timer(sock("127.0.0.1", 46004, "127.0.0.1", 22, TcpState::TimeWait), 3, 0, 51409);
    tw.is_timewait = true;
    EXPECT_EQ(row(tw, f, names, &programs),
              "tcp        0      0 127.0.0.1:46004         127.0.0.1:22            TIME_WAIT   0 "
              "         0          -                    timewait (51.40/0/0)\n");
}

// netstat --at between listings: a socket only the stream knows in its state
// shows its tuple and state; what a listing would have said is unknown.
TEST(NetstatRows, WhatNoListingShowedIsUnknownNeverZeroOrRoot) {
    FakeNames names = spec_names();
    NetstatFlags f = tan();
    f.extend = f.timers = f.programs = f.wide = true;
    ListedSocket connecting = sock("10.99.0.1", 0, "10.99.0.2", 443, TcpState::SynSent);
    connecting.stream_only = true;
    EXPECT_EQ(row(connecting, f, names),
              "tcp        -      - 10.99.0.1:-             10.99.0.2:443           SYN_SENT    - "
              "         -          -                    -\n");
    ListedSocket tw = sock("127.0.0.1", 46004, "127.0.0.1", 22, TcpState::TimeWait);
    tw.is_timewait = tw.stream_only = true;
    EXPECT_EQ(row(tw, f, names),
              "tcp        -      - 127.0.0.1:46004         127.0.0.1:22            TIME_WAIT   - "
              "         -          -                    -\n");
    NetstatFlags named;
    named.all = named.extend = true;
    EXPECT_EQ(row(tw, named, names).find("root"), std::string::npos) << row(tw, named, names);
}

TEST(NetstatRows, UserNamesAreNotTruncatedAndUnknownUidsAreNumbers) {
    FakeNames names = spec_names();
    NetstatFlags f;
    f.all = f.extend = f.timers = true;
    ListedSocket s = with_timer(sock("127.0.0.1", 59226, "127.0.0.1", 6000, TcpState::Established),
                                2, 0, 7198020);
    s.uid = 997;
    s.inode = 18156;
    EXPECT_EQ(row(s, f, names),
              "tcp        0      0 localhost:59226         localhost:x11           ESTABLISHED "
              "systemd-timesync 18156      keepalive (7198.02/0/0)\n");

    NetstatFlags n = tan();
    n.extend = true;
    ListedSocket l = sock("127.0.0.1", 5001, "0.0.0.0", 0, TcpState::Listen);
    l.uid = 4242;
    l.inode = 15255;
    EXPECT_EQ(
        row(l, n, names),
        "tcp        0      0 127.0.0.1:5001          0.0.0.0:*               LISTEN      4242 "
        "      15255     \n");
    l.uid = 0;
    EXPECT_EQ(row(l, n, names).substr(79, 12), " 0          ") << "-n: numeric users";
}

TEST(NetstatRows, TimerWordsAndCountsAsProcPrintsThem) {
    EXPECT_EQ(netstat_timer(0, 0, 2, 1), "off (0.00/2/1)");
    EXPECT_EQ(netstat_timer(4, 479, 0, 3), "probe (4.79/0/3)");
    EXPECT_EQ(netstat_timer(9, 100, 0, 0), "unkn-9 (1.00/0/0)");
    // Without tcp_info, inet_diag's idiag_retrans stands for probes on the
    // keepalive timer and for retransmits on the retransmit timer.
    FakeNames names;
    NetstatFlags f = tan();
    f.timers = true;
    ListedSocket s =
        with_timer(sock("127.0.0.1", 1, "127.0.0.1", 2, TcpState::Established), 2, 4, 1000);
    EXPECT_TRUE(row(s, f, names).ends_with(" keepalive (1.00/0/4)\n"));
    s.retransmits = 1;
    s.probes = 5;
    EXPECT_TRUE(row(s, f, names).ends_with(" keepalive (1.00/1/5)\n"));
}

TEST(NetstatEndpoint, TruncationTableOfTheSpec) {
    EXPECT_EQ(netstat_endpoint("a-very-long-hostname.example.internal", "http", false),
              "a-very-long-hostna:http");
    EXPECT_EQ(netstat_endpoint("a-very-long-hostname.example.internal", "40836", false),
              "a-very-long-hostn:40836");
    EXPECT_EQ(netstat_endpoint("fd00:1234:5678:9abc:def0:1234:5678:9abc", "45678", false),
              "fd00:1234:5678:9a:45678");
    EXPECT_EQ(netstat_endpoint("0.0.0.0", "a-very-long-service-name-x", false),
              "0.0.:a-very-long-servic");
    EXPECT_EQ(netstat_endpoint("localhost", "a-very-long-service-name-x", false),
              "loca:a-very-long-servic");
    EXPECT_EQ(netstat_endpoint("127.0.0.1", "a-very-long-service-name-x", false),
              "127.:a-very-long-servic");
    EXPECT_EQ(netstat_endpoint("127.0.0.1", "a-very-long-service-name-x", true),
              "127.0.0.1:a-very-long-service-name-x");
    EXPECT_EQ(netstat_endpoint("exactly-seventeen", "12345", false), "exactly-seventeen:12345");
}

TEST(NetstatHost, WildcardsAndMappedAddresses) {
    FakeNames names = spec_names();
    EXPECT_EQ(netstat_host(ip("0.0.0.0"), false, names), "0.0.0.0");
    EXPECT_EQ(netstat_host(ip("::"), false, names), "[::]");
    EXPECT_EQ(netstat_host(ip("::"), true, names), "::");
    EXPECT_EQ(netstat_host(ip("127.0.0.1"), false, names), "localhost");
    EXPECT_EQ(netstat_host(ip("10.1.2.3"), false, names), "10.1.2.3");
    EXPECT_EQ(netstat_host(ip("::ffff:10.1.2.3"), true, names), "10.1.2.3");
    names.hosts["::ffff:10.1.2.3"] = "mapped.example";
    EXPECT_EQ(netstat_host(ip("::ffff:10.1.2.3"), false, names), "mapped.example");
}

TEST(NetstatRows, NamesWithControlBytesAreEscapedOrdinaryOnesAreNot) {
    FakeNames names = spec_names();
    names.hosts["10.1.2.3"] = "evil\x1b[2Jhost";
    names.services[7000] = "svc\n";
    names.users[5] = "us\ter";
    FakePrograms programs;
    programs.by_inode[9] = netstat_program("42", "\x1b]0;pwned\x07");
    NetstatFlags f;
    f.all = f.extend = f.programs = f.wide = true;
    ListedSocket s = sock("10.1.2.3", 7000, "127.0.0.1", 22, TcpState::Established);
    s.uid = 5;
    s.inode = 9;
    EXPECT_EQ(row(s, f, names, &programs),
              "tcp        0      0 evil\\x1b[2Jhost:svc\\x0a localhost:ssh           ESTABLISHED "
              "us\\x09er   9          42/\\x1b]0;pwned\\x07 \n");
}

TEST(NetstatProgram, Argv0Rules) {
    EXPECT_EQ(netstat_program("1", std::string("/usr/bin/python3\0x.py\0", 22)), "1/python3");
    EXPECT_EQ(netstat_program("1", "/usr/sbin/daemon --conf=/etc/x/y.conf"), "1/y.conf");
    EXPECT_EQ(netstat_program("1", "nginx: master process"), "1/nginx: master pro");
    EXPECT_EQ(netstat_program("1", ""), "1/");
    EXPECT_EQ(netstat_program("12345", "/bin/"), "12345/");
}

TEST(NetstatFilter, RemotePortDecidesNotState) {
    ListedSocket listener = sock("0.0.0.0", 80, "0.0.0.0", 0, TcpState::Listen);
    ListedSocket odd = sock("0.0.0.0", 80, "0.0.0.0", 0, TcpState::Close);
    ListedSocket est = sock("127.0.0.1", 80, "127.0.0.1", 4000, TcpState::Established);
    NetstatFlags none;
    NetstatFlags l;
    l.listening = true;
    NetstatFlags al = l;
    al.all = true;
    EXPECT_FALSE(netstat_shows(none, listener));
    EXPECT_TRUE(netstat_shows(none, est));
    EXPECT_TRUE(netstat_shows(l, odd));
    EXPECT_FALSE(netstat_shows(l, est));
    EXPECT_TRUE(netstat_shows(al, est));
    EXPECT_TRUE(netstat_shows(al, listener));
}

TEST(NetstatRows, AgeAndOwnerComeFromTheLiveTable) {
    SocketTable table(16);
    ListedSocket a = sock("127.0.0.1", 80, "127.0.0.1", 4000, TcpState::Established);
    a.cookie = 7;
    ListedSocket b = sock("127.0.0.1", 81, "127.0.0.1", 4001, TcpState::Established);
    b.cookie = 8;
    table.reconcile({a, b}, 1, 100);
    Transition t;
    t.ts_ns = 1'000;
    t.cookie = 7;
    t.netns = 1;
    t.saddr = a.saddr;
    t.daddr = a.daddr;
    t.sport = 80;
    t.dport = 4000;
    t.old_state = TcpState::SynRecv;
    t.new_state = TcpState::Established;
    t.owner = Owner{42, "srv\x1b", OwnerSource::Current};
    table.apply(t);

    NetstatFlags f = tan();
    f.age = f.owner = true;
    auto rows = netstat_rows({a, b}, f, &table, 2'500'001'000);
    ASSERT_EQ(rows.size(), 2u);
    FakeNames names;
    EXPECT_TRUE(netstat_row(rows[0], f, names, nullptr)
                    .ends_with("ESTABLISHED 2.5s      42/srv\\x1b           \n"))
        << netstat_row(rows[0], f, names, nullptr);
    EXPECT_TRUE(netstat_row(rows[1], f, names, nullptr)
                    .ends_with("ESTABLISHED -         -                    \n"));
    // The listing moved on from the table's state: the age is unknown.
    a.state = TcpState::CloseWait;
    EXPECT_FALSE(netstat_rows({a}, f, &table, 2'500'001'000)[0].age_ns);
}

TEST(NetstatRows, TheCgroupColumnNamesTheListingsCgroupElseTheOwners) {
    testing::FakeCgroups cgroups{{5, "/system.slice/nginx.service"}, {6, "/batch/job-7"}};
    SocketTable table(16);
    ListedSocket full = sock("127.0.0.1", 80, "127.0.0.1", 4000, TcpState::Established);
    full.cookie = 7;
    full.cgroup_id = 5;  // as INET_DIAG_CGROUP_ID gives it
    ListedSocket timewait = sock("127.0.0.1", 81, "127.0.0.1", 4001, TcpState::TimeWait);
    timewait.cookie = 8;  // listed with no cgroup: the table's owner has one
    ListedSocket stranger = sock("127.0.0.1", 82, "127.0.0.1", 4002, TcpState::Established);
    stranger.cgroup_id = 99;  // an id no cgroup has (removed since)
    Transition t = testing::transition(8, TcpState::FinWait2, TcpState::TimeWait);
    t.owner->cgroup_id = 6;
    table.apply(t);

    NetstatFlags f = tan();
    f.cgroup = true;
    EXPECT_TRUE(netstat_header(f).ends_with("State       Cgroup                        \n"))
        << netstat_header(f);
    auto rows = netstat_rows({full, timewait, stranger}, f, &table, 2'000'000'000);
    ASSERT_EQ(rows.size(), 3u);
    FakeNames names;
    EXPECT_TRUE(netstat_row(rows[0], f, names, nullptr, &cgroups)
                    .ends_with("ESTABLISHED nginx.service                 \n"))
        << netstat_row(rows[0], f, names, nullptr, &cgroups);
    EXPECT_TRUE(netstat_row(rows[1], f, names, nullptr, &cgroups)
                    .ends_with("TIME_WAIT   /batch/job-7                  \n"))
        << netstat_row(rows[1], f, names, nullptr, &cgroups);
    EXPECT_TRUE(netstat_row(rows[2], f, names, nullptr, &cgroups)
                    .ends_with("ESTABLISHED -                             \n"));
    // Without the flag the row is netstat's own.
    f.cgroup = false;
    EXPECT_TRUE(netstat_row(rows[0], f, names, nullptr, &cgroups).ends_with("ESTABLISHED\n"));
}

TEST(NetstatRows, RequestSocketsTakeTheirListenersUid) {
    ListedSocket listener = sock("0.0.0.0", 80, "0.0.0.0", 0, TcpState::Listen);
    listener.uid = 1000;
    ListedSocket other = sock("0.0.0.0", 81, "0.0.0.0", 0, TcpState::Listen);
    other.uid = 2000;
    ListedSocket req = sock("10.0.0.1", 80, "10.0.0.2", 5555, TcpState::SynRecv);
    req.is_request = true;
    std::vector<ListedSocket> listing{other, listener, req};
    inherit_listener_uids(listing);
    EXPECT_EQ(listing[2].uid, 1000u);
}

TEST(AgeText, Units) {
    EXPECT_EQ(age_text(std::nullopt), "-");
    EXPECT_EQ(age_text(420'000), "420us");
    EXPECT_EQ(age_text(850'000'000), "850ms");
    EXPECT_EQ(age_text(12'449'000'000), "12.4s");
}

TEST(SocketLink, InodeFromFdLinkText) {
    EXPECT_EQ(socket_inode_of_link("socket:[15253]"), 15253u);
    EXPECT_EQ(socket_inode_of_link("[0000]:77"), 77u);
    EXPECT_EQ(socket_inode_of_link("pipe:[15253]"), 0u);
    EXPECT_EQ(socket_inode_of_link("socket:[12x]"), 0u);
}

TEST(ShortLivedBlock, ListsLifetimeFinalTransitionAndOwner) {
    ShortLived s;
    s.last.saddr = ip("127.0.0.1");
    s.last.daddr = ip("127.0.0.1");
    s.last.sport = 8080;
    s.last.dport = 40000;
    s.last.owner = Owner{77, "server", OwnerSource::Cached};
    s.born_ns = 1'000'000;
    s.closed_ns = 13'000'000;
    s.final_from = TcpState::LastAck;
    FakeNames names;
    EXPECT_EQ(short_lived_block({}, tan(), names), "Closed since the previous table: 0\n");
    EXPECT_EQ(short_lived_block({s}, tan(), names),
              "Closed since the previous table: 1\n"
              "Proto Local Address           Foreign Address         Lifetime  Final transition  "
              "     Error        Owner\n"
              "tcp   127.0.0.1:8080          127.0.0.1:40000         12ms      LAST_ACK -> CLOSE  "
              "    -            77/server\n");
}

}  // namespace
}  // namespace tcpscope
