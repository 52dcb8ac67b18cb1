// A socket as a kernel listing (sock_diag, iter/tcp) reports it: the state
// and the fields that change without a transition (queues, uid, inode,
// timers). Plain data, so the table and the views use it without the kernel layer.
#pragma once

#include <cstdint>
#include <optional>

#include "core/address.h"
#include "core/tcp_state.h"

namespace tcpscope {

struct ListedSocket {
    std::uint64_t cookie = 0;
    IpAddress saddr;
    IpAddress daddr;
    std::uint16_t sport = 0;
    std::uint16_t dport = 0;
    // As the kernel reports it: request sockets as SYN_RECV, timewait
    // sockets by their substate (TIME_WAIT, or FIN_WAIT2 for an orphan).
    TcpState state = TcpState::Close;
    bool is_timewait = false;  // an inet_timewait_sock: only its tuple is real
    bool is_request = false;   // a request socket (NEW_SYN_RECV)
    // Known from the event stream only, never listed in this state (netstat
    // --at between listings): the queues, uid, inode and timer are unknown,
    // and so is a port of 0 (connect() picks it after entering SYN_SENT).
    bool stream_only = false;
    std::uint32_t rqueue = 0;  // LISTEN: accept queue; else bytes unread
    std::uint32_t wqueue = 0;  // LISTEN: backlog; else bytes unacknowledged
    std::uint32_t uid = 0;
    std::uint64_t inode = 0;
    std::uint8_t timer = 0;    // 0 off, 1 retransmit, 2 keepalive, 3 timewait, 4 zero-window probe
    std::uint8_t retrans = 0;  // retransmits or probes, as inet_diag reports
    std::uint32_t expires_ms = 0;
    // INET_DIAG_CGROUP_ID: the cgroup (v2 id) of the process that made the
    // socket (an accepted one: the listener's). Full sockets only; 0 unknown.
    std::uint64_t cgroup_id = 0;
    // From tcp_info (INET_DIAG_INFO), when asked for: full sockets only.
    std::optional<std::uint8_t> retransmits;  // icsk_retransmits
    std::optional<std::uint8_t> probes;       // icsk_probes_out
    // From sk_meminfo (INET_DIAG_SKMEMINFO), when asked for: sk_drops. For a
    // listener, every SYN or handshake ACK it dropped (ListenDrops: accept
    // queue or SYN queue full, no memory, a failed child).
    std::optional<std::uint32_t> drops;
};

// Bit for each state to ask a listing for; all of them by default.
constexpr std::uint32_t state_bit(TcpState s) {
    return 1u << static_cast<unsigned>(s);
}
constexpr std::uint32_t kAllStates = 0xfffu << 1;

}  // namespace tcpscope
