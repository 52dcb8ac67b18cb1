// Lists a network namespace's TCP sockets through NETLINK_SOCK_DIAG
// (inet_diag): full sockets, TIME_WAIT sockets and request sockets, each
// with the same socket cookie the BPF programs see, so a listing joins the
// event stream. Used to seed the live table and to reconcile it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/tcp_state.h"

namespace tcpscope {

struct KernelSocket {
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
    std::uint32_t rqueue = 0;  // LISTEN: accept queue; else bytes unread
    std::uint32_t wqueue = 0;  // LISTEN: backlog; else bytes unacknowledged
    std::uint32_t uid = 0;
    std::uint64_t inode = 0;
    std::uint8_t timer = 0;    // 0 off, 1 retransmit, 2 keepalive, 3 timewait, 4 zero-window probe
    std::uint8_t retrans = 0;  // retransmits or probes, as inet_diag reports
    std::uint32_t expires_ms = 0;
};

// Bit for each state to ask for; all of them by default.
constexpr std::uint32_t state_bit(TcpState s) { return 1u << static_cast<unsigned>(s); }
constexpr std::uint32_t kAllStates = 0xfffu << 1;

class SockDiag {
public:
    // Opens the netlink socket inside the namespace at netns_path (e.g.
    // /run/netns/NAME), or in the caller's namespace when empty. The socket
    // keeps its namespace for its whole life, even after privileges drop.
    explicit SockDiag(const std::optional<std::string>& netns_path = std::nullopt);
    ~SockDiag();
    SockDiag(const SockDiag&) = delete;
    SockDiag& operator=(const SockDiag&) = delete;

    // Every TCP socket of the family (AF_INET or AF_INET6) in states_mask, in
    // the kernel's order: listeners first, then the established hash.
    std::vector<KernelSocket> dump(int family, std::uint32_t states_mask = kAllStates);

private:
    int fd_ = -1;
    std::uint32_t seq_ = 0;
};

}  // namespace tcpscope
