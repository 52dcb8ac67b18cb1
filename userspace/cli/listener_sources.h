// What `listen` (and `serve --listeners`) read besides the ring buffer: the
// namespace's listening sockets with their drop counts, and its own TCP
// counters. Both opened once, before the privilege switch, inside the target
// namespace; they keep answering for it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/listed_socket.h"
#include "core/proc_net_counters.h"
#include "core/socket_filter.h"
#include "kernel/netns_files.h"
#include "kernel/sock_diag.h"

namespace tcpscope {

// The listening sockets the filters select (by family and local port).
class ListenerListing {
  public:
    ListenerListing(const std::optional<std::string>& netns_path, SocketFilter filter)
        : diag_(netns_path), filter_(std::move(filter)) {}
    std::vector<ListedSocket> list();

  private:
    SockDiag diag_;
    SocketFilter filter_;
};

// /proc/net/netstat and /proc/net/snmp of the target namespace.
class NamespaceCounters {
  public:
    explicit NamespaceCounters(const std::optional<std::string>& netns_path);
    ProcNetCounters read() const;

  private:
    NetnsFiles files_;
};

}  // namespace tcpscope
