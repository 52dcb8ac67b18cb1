#include "core/address.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>

#include "core/text_append.h"

namespace tcpscope {

bool IpAddress::is_unspecified() const {
    std::size_t len = family == AF_INET ? 4 : bytes.size();
    return std::all_of(bytes.begin(), bytes.begin() + len, [](std::uint8_t b) { return b == 0; });
}

void append_address(std::string& out, const IpAddress& addr) {
    if (addr.family != AF_INET6) {
        // inet_ntop goes through sprintf for IPv4; this runs per event.
        for (int i = 0; i < 4; ++i) {
            if (i > 0) {
                out += '.';
            }
            append_uint(out, addr.bytes[static_cast<std::size_t>(i)]);
        }
        return;
    }
    char text[INET6_ADDRSTRLEN] = {};
    out += inet_ntop(AF_INET6, addr.bytes.data(), text, sizeof(text)) ? text : "?";
}

std::string to_string(const IpAddress& addr) {
    std::string out;
    append_address(out, addr);
    return out;
}

void append_endpoint(std::string& out, const IpAddress& addr, std::optional<std::uint16_t> port) {
    if (addr.family == AF_INET6) {
        out += '[';
        append_address(out, addr);
        out += ']';
    } else {
        append_address(out, addr);
    }
    out += ':';
    if (!port) {
        out += '-';  // not known yet
    } else if (*port == 0) {
        out += '*';  // no peer (a listener), as netstat prints it
    } else {
        append_uint(out, *port);
    }
}

std::string format_endpoint(const IpAddress& addr, std::optional<std::uint16_t> port) {
    std::string out;
    append_endpoint(out, addr, port);
    return out;
}

}  // namespace tcpscope
