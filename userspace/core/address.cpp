#include "core/address.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>

namespace tcpscope {

bool IpAddress::is_unspecified() const {
    std::size_t len = family == AF_INET ? 4 : bytes.size();
    return std::all_of(bytes.begin(), bytes.begin() + len, [](std::uint8_t b) { return b == 0; });
}

std::string to_string(const IpAddress& addr) {
    char text[INET6_ADDRSTRLEN] = {};
    int af = addr.family == AF_INET6 ? AF_INET6 : AF_INET;
    if (inet_ntop(af, addr.bytes.data(), text, sizeof(text)) == nullptr) {
        return "?";
    }
    return text;
}

std::string format_endpoint(const IpAddress& addr, std::optional<std::uint16_t> port) {
    std::string out;
    if (addr.family == AF_INET6) {
        out = "[" + to_string(addr) + "]";
    } else {
        out = to_string(addr);
    }
    out += ':';
    if (!port) {
        out += '-';  // not known yet
    } else if (*port == 0) {
        out += '*';  // no peer (a listener), as netstat prints it
    } else {
        out += std::to_string(*port);
    }
    return out;
}

}  // namespace tcpscope
