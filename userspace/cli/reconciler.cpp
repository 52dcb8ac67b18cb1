#include "cli/reconciler.h"

#include <malloc.h>
#include <sys/socket.h>
#include <time.h>

#include "cli/netns_path.h"
#include "core/wall_clock.h"
#include "kernel/ring_source.h"

#include <spdlog/spdlog.h>

namespace tcpscope {
Reconciler::Reconciler(const std::optional<std::string>& netns_spec, SocketFilter filter,
                       bool owner_filtered)
    : diag_(netns_spec ? std::optional<std::string>(netns_path_for(*netns_spec)) : std::nullopt),
      netns_(netns_spec ? resolve_netns(*netns_spec) : current_netns_inode()),
      filter_(std::move(filter)),
      owner_filtered_(owner_filtered) {
    diag_.check_tcp_listing();
}

std::unique_ptr<Reconciler> open_reconciler(const std::optional<std::string>& netns_spec,
                                            SocketFilter filter, bool owner_filtered) {
    try {
        return std::make_unique<Reconciler>(netns_spec, std::move(filter), owner_filtered);
    } catch (const ListingUnavailable& e) {
        spdlog::warn(
            "{}: tracing without reconciliation (no seed listing of existing sockets, "
            "no TIME_WAIT expiry check, losses not repaired)",
            e.what());
        return nullptr;
    }
}

namespace {

std::uint64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace

ReconcileResult Reconciler::reconcile_now(SocketTable& table, RingSource& source) {
    const std::uint64_t cpu_before = thread_cpu_ns();
    // Read what waits in the ring first, so the listing is not older than
    // the table (a socket whose events are unread would pass for a missed
    // one). Then the clock: events stamped after it are newer than the
    // listing and win over it.
    source.drain();
    std::uint64_t listed_at = monotonic_now_ns();
    std::vector<ListedSocket>& listing = listing_;
    listing.clear();
    listing.reserve(last_size_);  // no regrowth when the listing was released
    listed_at_ns_ = listed_at;
    for (int family : {AF_INET, AF_INET6}) {
        if (filter_.family == 0 || filter_.family == family) {
            diag_.dump_into(listing, family);
        }
    }
    // With --pid the listing cannot tell owners apart: it may only correct
    // or remove sockets the table already holds.
    std::erase_if(listing, [&](const ListedSocket& s) {
        return !filter_.matches(s) || (owner_filtered_ && table.find(s.cookie) == nullptr);
    });
    last_size_ = listing.size();
    source.drain();
    ++runs_;
    ReconcileResult result = table.reconcile(
        listing, netns_, listed_at,
        owner_filtered_ ? ListingScope::KnownSocketsOnly : ListingScope::WholeNamespace);
    last_cpu_ns_ = thread_cpu_ns() - cpu_before;
    return result;
}

void Reconciler::release_listing() {
    std::vector<ListedSocket>().swap(listing_);
    malloc_trim(0);
}

void Reconciler::seed(SocketTable& table, RingSource& source) {
    reconcile_now(table, source);
}

ReconcileResult Reconciler::run(SocketTable& table, RingSource& source) {
    ReconcileResult r = reconcile_now(table, source);
    corrections_.added += r.added;
    corrections_.removed += r.removed;
    corrections_.fixed += r.fixed;
    return r;
}

}  // namespace tcpscope
