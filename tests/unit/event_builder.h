// Builds raw tcpscope_event records and Transitions for tests.
#pragma once

#include <string>
#include <vector>

#include "core/listed_socket.h"
#include "core/transition.h"
#include "core/wall_clock.h"
#include "tcpscope/event.h"

namespace tcpscope::testing {

tcpscope_event raw_event(std::uint64_t cookie, TcpState from, TcpState to);

// 127.0.0.1:sport -> 127.0.0.1:dport, owner 4242/"client".
Transition transition(std::uint64_t cookie, TcpState from, TcpState to,
                      std::uint64_t ts_ns = 1'000'000'000);

// A wall clock on which monotonic 1_000_000_000 ns is 2026-11-26T04:31:02.123456Z.
inline WallClock test_clock() {
    return WallClock(1795667462'123456000LL - 1'000'000'000LL);
}

// A socket as a kernel listing shows it: 10.0.0.1:5000 -> 10.0.0.2:80.
ListedSocket listed(std::uint64_t cookie, TcpState state);

IpAddress ipv4(const char* text);
IpAddress ipv6(const char* text);

}  // namespace tcpscope::testing
