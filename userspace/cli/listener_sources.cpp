#include "cli/listener_sources.h"

#include <sys/socket.h>

namespace tcpscope {

std::vector<ListedSocket> ListenerListing::list() {
    std::vector<ListedSocket> out;
    for (int family : {AF_INET, AF_INET6}) {
        if (filter_.family != 0 && filter_.family != family) {
            continue;
        }
        for (ListedSocket& s : diag_.dump(family, state_bit(TcpState::Listen), false, true)) {
            if (filter_.matches(s)) {
                out.push_back(std::move(s));
            }
        }
    }
    return out;
}

NamespaceCounters::NamespaceCounters(const std::optional<std::string>& netns_path)
    : files_(netns_path, {"/proc/thread-self/net/netstat", "/proc/thread-self/net/snmp"}) {}

ProcNetCounters NamespaceCounters::read() const {
    ProcNetCounters out;
    parse_proc_net_counters(files_.read(0), out);
    parse_proc_net_counters(files_.read(1), out);
    return out;
}

}  // namespace tcpscope
