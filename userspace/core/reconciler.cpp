#include "core/reconciler.h"

#include <malloc.h>
#include <sys/socket.h>

#include <algorithm>
#include <stdexcept>

#include "core/wall_clock.h"

namespace tcpscope {
namespace {

// Closes remembered between two listings, at most: past it a listed
// timewait socket that carries on a closed one is counted as added, with no
// owner (~100 B each, so at most ~25 MB).
constexpr std::size_t kClosesKept = 1u << 18;

}  // namespace

Reconciler::Reconciler(std::unique_ptr<SocketLister> lister, ReconcilerOptions options)
    : lister_(std::move(lister)), options_(std::move(options)) {
    if (!lister_) {
        throw std::invalid_argument("a reconciler needs a lister");
    }
    if (!options_.clock) {
        options_.clock = monotonic_now_ns;
    }
    if (!options_.cpu_clock) {
        options_.cpu_clock = thread_cpu_now_ns;
    }
}

void Reconciler::observe(const Transition& t, const SocketTable::Applied& applied) {
    if (applied.closed && closed_.size() < kClosesKept) {
        closed_[t.cookie] = ClosedSocket::of(t, *applied.closed);
    }
}

ReconcileResult Reconciler::reconcile_now(SocketTable& table, EventDrain& stream) {
    const std::uint64_t cpu_before = options_.cpu_clock();
    // Read what waits in the stream first, so the listing is not older than
    // the table (a socket whose events are unread would pass for a missed
    // one). Then the clock: events stamped after it are newer than the
    // listing and win over it; they are read right after the dump, so that
    // events during it protect their sockets.
    stream.drain();
    const std::uint64_t listed_at = options_.clock();
    listing_.clear();
    listing_.reserve(last_size_);  // no regrowth when the listing was released
    listed_at_ns_ = listed_at;
    for (int family : {AF_INET, AF_INET6}) {
        if (options_.filter.family == 0 || options_.filter.family == family) {
            lister_->list_into(listing_, family);
        }
    }
    stream.drain();

    // A timewait socket carrying on a close the stream showed is no socket
    // the stream missed, even where the table did not infer it.
    std::uint64_t expected = 0;
    std::erase_if(listing_, [&](const ListedSocket& s) {
        if (!options_.filter.matches(s) ||
            (options_.owner_filtered && table.find(s.cookie) == nullptr)) {
            return true;
        }
        auto closed = closed_.find(s.cookie);
        if (closed == closed_.end()) {
            return false;
        }
        if (!s.is_timewait) {
            // Listed just before the close the stream already applied.
            return closed->second.closed_ns > listed_at;
        }
        expected += table.find(s.cookie) == nullptr ? 1 : 0;
        return false;
    });
    last_size_ = listing_.size();
    ++runs_;
    ReconcileResult result = table.reconcile(
        listing_, options_.netns, listed_at,
        options_.owner_filtered ? ListingScope::KnownSocketsOnly : ListingScope::WholeNamespace);
    result.added -= std::min(result.added, expected);
    // Timewait sockets keep the owner and age of the socket they continue.
    for (const ListedSocket& s : listing_) {
        if (auto closed = closed_.find(s.cookie); s.is_timewait && closed != closed_.end()) {
            table.continue_closed(closed->second);
        }
    }
    // Closes before the listing began are settled by it: their timewait
    // successors were listed or are gone. Later ones wait for the next.
    std::erase_if(closed_, [&](const auto& kv) { return kv.second.closed_ns <= listed_at; });
    last_cpu_ns_ = options_.cpu_clock() - cpu_before;
    return result;
}

void Reconciler::release_listing() {
    std::vector<ListedSocket>().swap(listing_);
    malloc_trim(0);
}

void Reconciler::seed(SocketTable& table, EventDrain& stream) {
    reconcile_now(table, stream);
}

ReconcileResult Reconciler::run(SocketTable& table, EventDrain& stream) {
    ReconcileResult r = reconcile_now(table, stream);
    corrections_.added += r.added;
    corrections_.removed += r.removed;
    corrections_.fixed += r.fixed;
    return r;
}

}  // namespace tcpscope
