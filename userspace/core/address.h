// IP addresses and endpoints as the kernel hands them over (network byte
// order, IPv4 in the first four bytes) and their text forms.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace tcpscope {

struct IpAddress {
    int family = 0;  // AF_INET or AF_INET6
    std::array<std::uint8_t, 16> bytes{};

    bool is_unspecified() const;
    bool operator==(const IpAddress&) const = default;
};

// inet_ntop form: "10.0.0.1", "::1", "::ffff:127.0.0.1".
std::string to_string(const IpAddress& addr);
void append_address(std::string& out, const IpAddress& addr);

// "10.0.0.1:80", "[::1]:80"; an unknown port prints as "-", port 0 as "*".
std::string format_endpoint(const IpAddress& addr, std::optional<std::uint16_t> port);
void append_endpoint(std::string& out, const IpAddress& addr, std::optional<std::uint16_t> port);

}  // namespace tcpscope
