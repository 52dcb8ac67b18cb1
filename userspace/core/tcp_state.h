// TCP states as the kernel numbers them and netstat spells them.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace tcpscope {

enum class TcpState : std::uint8_t {
    Established = 1,
    SynSent = 2,
    SynRecv = 3,
    FinWait1 = 4,
    FinWait2 = 5,
    TimeWait = 6,
    Close = 7,
    CloseWait = 8,
    LastAck = 9,
    Listen = 10,
    Closing = 11,
    NewSynRecv = 12,
};

// "ESTABLISHED", "SYN_SENT", ... as netstat spells them; "INVALID" for a
// number outside 1..12 (decode_event rejects those before they get here).
std::string_view state_name(TcpState state);
std::optional<TcpState> parse_state(std::string_view name);
bool is_known_state(std::uint8_t raw);

}  // namespace tcpscope
