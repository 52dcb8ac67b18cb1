#include "cli/reconciler.h"

#include <spdlog/spdlog.h>

#include "cli/netns_path.h"
#include "cli/options.h"
#include "kernel/sock_diag.h"
#include "kernel/tracer.h"

namespace tcpscope {

ListingRequest listing_request(const FilterConfig& filters, const TracerOptions& options) {
    return {filters.netns, SocketFilter{options.family, options.ports},
            options.pid != 0 || !options.cgroups.empty()};
}

std::unique_ptr<Reconciler> make_reconciler(const ListingRequest& request, ReconcilerOptions base,
                                            const ListerWrap& wrap) {
    const std::optional<std::string>& spec = request.netns_spec;
    ReconcilerOptions options = std::move(base);
    options.netns = spec ? resolve_netns(*spec) : current_netns_inode();
    options.filter = request.filter;
    options.owner_filtered = request.owner_filtered;
    std::unique_ptr<SocketLister> lister =
        std::make_unique<SockDiagLister>(netns_path_to_enter(spec), request.with_info);
    if (wrap) {
        lister = wrap(std::move(lister));
    }
    return std::make_unique<Reconciler>(std::move(lister), std::move(options));
}

std::unique_ptr<Reconciler> open_reconciler(const ListingRequest& request, ReconcilerOptions base,
                                            const ListerWrap& wrap) {
    try {
        return make_reconciler(request, std::move(base), wrap);
    } catch (const ListingUnavailable& e) {
        spdlog::warn(
            "{}: tracing without reconciliation (no seed listing of existing sockets, "
            "no TIME_WAIT expiry check, losses not repaired)",
            e.what());
        return nullptr;
    }
}

}  // namespace tcpscope
