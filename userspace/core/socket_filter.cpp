#include "core/socket_filter.h"

namespace tcpscope {

bool SocketFilter::matches(int socket_family, std::uint16_t sport, std::uint16_t dport) const {
    if (family != 0 && socket_family != family) {
        return false;
    }
    if (ports.empty()) {
        return true;
    }
    for (const PortRule& rule : ports) {
        bool local = rule.side != PortSide::Remote && rule.port == sport;
        bool remote = rule.side != PortSide::Local && rule.port == dport;
        if (local || remote) {
            return true;
        }
    }
    return false;
}

}  // namespace tcpscope
