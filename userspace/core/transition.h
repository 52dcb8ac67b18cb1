// The plain value every layer above the kernel works with: one TCP state
// transition of one socket. Unknown values are empty optionals, never zeros.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/address.h"
#include "core/task_comm.h"
#include "core/tcp_state.h"

namespace tcpscope {

// How the owner of a transition was established.
enum class OwnerSource : std::uint8_t {
    Current,   // current task, in a process-context operation on the socket
    Cached,    // remembered from an earlier process-context transition
    Listener,  // a new child inheriting its listener's owner, provisionally
};

struct Owner {
    // comm first: keeps the struct (and every table entry) free of padding.
    TaskComm comm;
    // The owner's cgroup (v2 id, the cgroup directory's inode), learned with
    // the owner in process context; 0 unknown.
    std::uint64_t cgroup_id = 0;
    std::uint32_t pid = 0;
    OwnerSource source = OwnerSource::Current;

    Owner() = default;
    Owner(std::uint32_t owner_pid, TaskComm owner_comm, OwnerSource from)
        : comm(owner_comm), pid(owner_pid), source(from) {}
    bool operator==(const Owner&) const = default;
};

// How a socket came to be: connect() or accept().
enum class SocketRole : std::uint8_t { Unknown, Client, Server };

struct Transition {
    std::uint64_t ts_ns = 0;  // CLOCK_MONOTONIC
    std::uint64_t cookie = 0;
    std::uint32_t netns = 0;
    IpAddress saddr;
    IpAddress daddr;
    std::optional<std::uint16_t> sport;  // empty before connect() picks one
    std::uint16_t dport = 0;
    TcpState old_state = TcpState::Close;
    TcpState new_state = TcpState::Close;
    std::optional<std::uint64_t> dur_ns;  // time in old_state
    std::optional<Owner> owner;
    int sk_err = 0;  // errno at ->CLOSE, 0 when none
    bool softirq = false;
    bool recovered = false;  // delivered by the backup program
    // synfail: an outcome neither transition program delivered, rebuilt at
    // the connect() exit (a different mechanism, counted apart).
    bool recovered_at_connect = false;
    bool inferred = false;  // synthesised by userspace (TIME_WAIT), not the kernel
    // Not a transition: connect() failed before any SYN left (sk_err is its
    // errno, both states CLOSE, cookie 0 when the socket never had one).
    bool connect_sync = false;
    std::uint16_t syn_retrans = 0;
    // timewait mode only: the role the kernel cached from the socket's first
    // transition (the stream does not carry that transition). Else Unknown.
    SocketRole role = SocketRole::Unknown;

    int family() const { return saddr.family; }
};

}  // namespace tcpscope
