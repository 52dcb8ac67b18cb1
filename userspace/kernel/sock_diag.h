// Lists a network namespace's TCP sockets through NETLINK_SOCK_DIAG
// (inet_diag): full sockets, TIME_WAIT sockets and request sockets, each
// with the same socket cookie the BPF programs see, so a listing joins the
// event stream. Used to seed the live table and to reconcile it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/listed_socket.h"
#include "core/reconciler.h"  // SocketLister
#include "kernel/tracer.h"

namespace tcpscope {

// The kernel cannot list TCP sockets: sock_diag has no tcp_diag handler (a
// module not loaded that cannot be loaded). A StartupError (Unsupported):
// netstat cannot run without it; tracing commands go on without
// reconciliation.
class ListingUnavailable : public StartupError {
  public:
    explicit ListingUnavailable(const std::string& message)
        : StartupError(StartupFailure::Unsupported, message) {}
};

class SockDiag {
  public:
    // Opens the netlink socket inside the namespace at netns_path (e.g.
    // /run/netns/NAME), or in the caller's namespace when empty. The socket
    // keeps its namespace for its whole life, even after privileges drop.
    explicit SockDiag(const std::optional<std::string>& netns_path = std::nullopt);
    ~SockDiag();
    SockDiag(const SockDiag&) = delete;
    SockDiag& operator=(const SockDiag&) = delete;

    // Asks for an empty listing: throws ListingUnavailable when the kernel
    // cannot list TCP sockets at all.
    void check_tcp_listing();

    // Every TCP socket of the family (AF_INET or AF_INET6) in states_mask, in
    // the kernel's order: listeners first, then the established hash.
    // with_info also asks for tcp_info (retransmits, probes) of full sockets;
    // with_meminfo for sk_meminfo (each socket's drops).
    std::vector<ListedSocket> dump(int family, std::uint32_t states_mask = kAllStates,
                                   bool with_info = false, bool with_meminfo = false);
    // The same, appended to out (which keeps its capacity between listings).
    void dump_into(std::vector<ListedSocket>& out, int family,
                   std::uint32_t states_mask = kAllStates, bool with_info = false,
                   bool with_meminfo = false);

  private:
    int fd_ = -1;
    std::uint32_t seq_ = 0;
};

// What a Reconciler lists through: every TCP socket of one namespace.
class SockDiagLister : public SocketLister {
  public:
    // with_info: tcp_info too (netstat's timers); throws ListingUnavailable
    // when the kernel cannot list TCP sockets.
    explicit SockDiagLister(const std::optional<std::string>& netns_path, bool with_info = false)
        : diag_(netns_path), with_info_(with_info) {
        diag_.check_tcp_listing();
    }
    void list_into(std::vector<ListedSocket>& out, int family) override {
        diag_.dump_into(out, family, kAllStates, with_info_);
    }

  private:
    SockDiag diag_;
    bool with_info_;
};

}  // namespace tcpscope
