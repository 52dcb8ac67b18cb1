#include "core/decode.h"

#include <sys/socket.h>

#include <cstring>

#include "tcpscope/event.h"

namespace tcpscope {

static_assert(sizeof(tcpscope_event) == 104, "event layout is shared with BPF; keep it packed");

std::optional<Transition> decode_event(const void* data, std::size_t size) {
    if (data == nullptr || size < sizeof(tcpscope_event)) {
        return std::nullopt;
    }
    // Copy out first: ring-buffer memory carries no alignment promise for C++.
    tcpscope_event raw;
    std::memcpy(&raw, data, sizeof(raw));

    if ((raw.family != AF_INET && raw.family != AF_INET6) || !is_known_state(raw.oldstate) ||
        !is_known_state(raw.newstate)) {
        return std::nullopt;
    }

    Transition t;
    t.ts_ns = raw.ts_ns;
    t.cookie = raw.cookie;
    t.netns = raw.netns;
    t.saddr.family = raw.family;
    t.daddr.family = raw.family;
    std::memcpy(t.saddr.bytes.data(), raw.saddr, sizeof(raw.saddr));
    std::memcpy(t.daddr.bytes.data(), raw.daddr, sizeof(raw.daddr));
    if (!(raw.flags & TCPSCOPE_F_SPORT_UNKNOWN)) {
        t.sport = raw.sport;
    }
    t.dport = raw.dport;
    t.old_state = static_cast<TcpState>(raw.oldstate);
    t.new_state = static_cast<TcpState>(raw.newstate);
    if (raw.flags & TCPSCOPE_F_DUR_KNOWN) {
        t.dur_ns = raw.dur_ns;
    }
    if (raw.pid != 0) {
        Owner owner;
        owner.pid = raw.pid;
        owner.cgroup_id = raw.cgroup_id;
        owner.comm = std::string_view(raw.comm, strnlen(raw.comm, sizeof(raw.comm)));
        if (raw.flags & TCPSCOPE_F_OWNER_CURRENT) {
            owner.source = OwnerSource::Current;
        } else if (raw.flags & TCPSCOPE_F_OWNER_LISTENER) {
            owner.source = OwnerSource::Listener;
        } else {
            owner.source = OwnerSource::Cached;
        }
        t.owner = std::move(owner);
    }
    t.sk_err = raw.sk_err;
    t.softirq = (raw.flags & TCPSCOPE_F_SOFTIRQ) != 0;
    t.recovered = (raw.flags & TCPSCOPE_F_RECOVERED) != 0;
    t.recovered_at_connect = (raw.flags & TCPSCOPE_F_RECOVERED_AT_CONNECT) != 0;
    t.connect_sync = (raw.flags & TCPSCOPE_F_CONNECT_SYNC) != 0;
    t.syn_retrans = raw.syn_retrans;
    if (raw.flags & TCPSCOPE_F_ROLE_CLIENT) {
        t.role = SocketRole::Client;
    } else if (raw.flags & TCPSCOPE_F_ROLE_SERVER) {
        t.role = SocketRole::Server;
    }
    return t;
}

}  // namespace tcpscope
