// The user's socket selection (family, ports), applied in the kernel to
// events and in userspace to kernel listings, so both see the same sockets.
#pragma once

#include <cstdint>
#include <vector>

#include "core/listed_socket.h"

namespace tcpscope {

enum class PortSide : std::uint8_t { Either, Local, Remote };

struct PortRule {
    std::uint16_t port = 0;
    PortSide side = PortSide::Either;
};

struct SocketFilter {
    int family = 0;               // AF_INET / AF_INET6, 0: both
    std::vector<PortRule> ports;  // any rule matching selects; none: every port

    // The same rule the BPF program applies to events.
    bool matches(int socket_family, std::uint16_t sport, std::uint16_t dport) const;
    bool matches(const ListedSocket& s) const { return matches(s.saddr.family, s.sport, s.dport); }
};

}  // namespace tcpscope
