#include "unit/event_builder.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstring>

namespace tcpscope::testing {

tcpscope_event raw_event(std::uint64_t cookie, TcpState from, TcpState to) {
    tcpscope_event e{};
    e.ts_ns = 5'000'000'000;
    e.cookie = cookie;
    e.family = AF_INET;
    inet_pton(AF_INET, "10.0.0.1", e.saddr);
    inet_pton(AF_INET, "10.0.0.2", e.daddr);
    e.sport = 40000;
    e.dport = 80;
    e.oldstate = static_cast<std::uint8_t>(from);
    e.newstate = static_cast<std::uint8_t>(to);
    e.netns = 4026531840u;
    e.pid = 1234;
    std::strcpy(e.comm, "curl");
    e.flags = TCPSCOPE_F_OWNER_CURRENT;
    return e;
}

IpAddress ipv4(const char* text) {
    IpAddress a;
    a.family = AF_INET;
    inet_pton(AF_INET, text, a.bytes.data());
    return a;
}

IpAddress ipv6(const char* text) {
    IpAddress a;
    a.family = AF_INET6;
    inet_pton(AF_INET6, text, a.bytes.data());
    return a;
}

Transition transition(std::uint64_t cookie, TcpState from, TcpState to, std::uint64_t ts_ns) {
    Transition t;
    t.ts_ns = ts_ns;
    t.cookie = cookie;
    t.netns = 4026531840u;
    t.saddr = ipv4("127.0.0.1");
    t.daddr = ipv4("127.0.0.1");
    t.sport = 40000;
    t.dport = 8080;
    t.old_state = from;
    t.new_state = to;
    t.owner = Owner{4242, "client", OwnerSource::Current};
    return t;
}

ListedSocket listed(std::uint64_t cookie, TcpState state) {
    ListedSocket s;
    s.cookie = cookie;
    s.state = state;
    s.saddr = ipv4("10.0.0.1");
    s.daddr = ipv4("10.0.0.2");
    s.sport = 5000;
    s.dport = 80;
    return s;
}

}  // namespace tcpscope::testing
