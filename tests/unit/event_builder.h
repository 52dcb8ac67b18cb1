// Builds raw tcpscope_event records and Transitions for tests.
#pragma once

#include <string>
#include <vector>

#include "core/transition.h"
#include "tcpscope/event.h"

namespace tcpscope::testing {

tcpscope_event raw_event(std::uint64_t cookie, TcpState from, TcpState to);

// 127.0.0.1:sport -> 127.0.0.1:dport, owner 4242/"client".
Transition transition(std::uint64_t cookie, TcpState from, TcpState to,
                      std::uint64_t ts_ns = 1'000'000'000);

IpAddress ipv4(const char* text);
IpAddress ipv6(const char* text);

}  // namespace tcpscope::testing
