// Opens the one Reconciler (core/reconciler.h) of the traced namespace for a
// command: its sock_diag socket is opened inside the namespace now, so it
// keeps working after capabilities are dropped.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/reconciler.h"
#include "core/socket_filter.h"

namespace tcpscope {

struct ListingRequest {
    std::optional<std::string> netns_spec;  // as --netns takes it; empty: our own
    SocketFilter filter;
    bool owner_filtered = false;  // --pid
    bool with_info = false;       // tcp_info too (netstat's timers)
};

// What a tracing command lists: the --netns namespace, with the event
// filters; with --pid or --cgroup a listing cannot tell owners apart.
struct FilterConfig;
struct TracerOptions;
ListingRequest listing_request(const FilterConfig& filters, const TracerOptions& options);

// Puts something between the reconciler and the kernel's lister (-w records
// what it lists); empty: nothing.
using ListerWrap = std::function<std::unique_ptr<SocketLister>(std::unique_ptr<SocketLister>)>;

// Throws ListingUnavailable where the kernel cannot list TCP sockets. base
// carries the clocks; the namespace and filters come from the request.
std::unique_ptr<Reconciler> make_reconciler(const ListingRequest& request,
                                            ReconcilerOptions base = {},
                                            const ListerWrap& wrap = {});

// The same, or null after one warning where the kernel cannot list TCP
// sockets (no tcp_diag): the command then runs on the event stream alone.
std::unique_ptr<Reconciler> open_reconciler(const ListingRequest& request,
                                            ReconcilerOptions base = {},
                                            const ListerWrap& wrap = {});

}  // namespace tcpscope
