#include "core/tcp_state.h"

#include <array>

namespace tcpscope {
namespace {

constexpr std::array<std::string_view, 13> kNames = {
    "",      "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",    "TIME_WAIT",
    "CLOSE", "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "CLOSING",   "NEW_SYN_RECV",
};

}  // namespace

bool is_known_state(std::uint8_t raw) {
    return raw >= 1 && raw < kNames.size();
}

std::string_view state_name(TcpState state) {
    auto raw = static_cast<std::uint8_t>(state);
    return is_known_state(raw) ? kNames[raw] : std::string_view("INVALID");
}

std::optional<TcpState> parse_state(std::string_view name) {
    for (std::size_t i = 1; i < kNames.size(); ++i) {
        if (kNames[i] == name) {
            return static_cast<TcpState>(i);
        }
    }
    return std::nullopt;
}

}  // namespace tcpscope
