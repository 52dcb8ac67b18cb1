#include "core/socket_table.h"

#include <algorithm>
#include <stdexcept>
#include <unordered_set>

namespace tcpscope {
namespace {

// A socket's first event may carry a partial tuple (no source port yet at
// CLOSE->SYN_SENT, the listener's addresses on a new child). Later events
// carry the real one, so known values replace unknown ones, never the reverse.
void merge_tuple(SocketEntry& entry, const Transition& t) {
    if (t.sport && (*t.sport != 0 || !entry.sport)) {
        entry.sport = t.sport;
    }
    if (!t.saddr.is_unspecified() || entry.saddr.family == 0) {
        entry.saddr = t.saddr;
    }
    if (!t.daddr.is_unspecified() || entry.daddr.family == 0) {
        entry.daddr = t.daddr;
    }
    if (t.dport != 0) {
        entry.dport = t.dport;
    }
}

// The first transition of a socket created while we watch: from CLOSE, or a
// child cloned from its listener.
bool is_birth(const Transition& t) {
    return t.old_state == TcpState::Close ||
           (t.old_state == TcpState::Listen && t.new_state == TcpState::SynRecv);
}

}  // namespace

SocketTable::SocketTable(std::size_t capacity) : capacity_(capacity) {
    if (capacity_ == 0) {
        throw std::invalid_argument("socket table capacity must be positive");
    }
    entries_.reserve(std::min<std::size_t>(capacity_, 1 << 16));
}

SocketTable::Applied SocketTable::apply(const Transition& t) {
    Applied result;
    auto it = entries_.find(t.cookie);
    if (it != entries_.end()) {
        SocketEntry& entry = it->second;
        if (entry.state != t.old_state) {
            result.gap = true;
            entry.history_gap = true;
            ++counters_.gaps;
        }
    } else if (t.new_state == TcpState::Close) {
        // Born and gone between two of our looks, or predating us: nothing to keep.
        return result;
    } else {
        // First sight of a socket mid-life is a gap only where a listing has
        // shown us every socket of its namespace: then it cannot predate us,
        // and its earlier transitions were lost.
        if (!is_birth(t) && seeded_netns_.contains(t.netns)) {
            result.gap = true;
            ++counters_.gaps;
        }
        insert(t.cookie, t.netns);
        entries_.find(t.cookie)->second.history_gap = result.gap;
        it = entries_.find(t.cookie);
    }

    SocketEntry& entry = it->second;
    merge_tuple(entry, t);
    entry.state = t.new_state;
    entry.entered_ns = t.ts_ns;
    entry.last_event_ns = t.ts_ns;
    if (t.owner) {
        entry.owner = t.owner;
    }

    if (t.new_state == TcpState::Close) {
        result.closed = std::move(entry);
        entries_.erase(it);
    }
    return result;
}

SocketEntry& SocketTable::insert(std::uint64_t cookie, std::uint32_t netns) {
    if (entries_.size() >= capacity_) {
        make_room();
    }
    SocketEntry fresh;
    fresh.cookie = cookie;
    fresh.netns = netns;
    ++counters_.inserted;
    return entries_.emplace(cookie, std::move(fresh)).first->second;
}

ReconcileResult SocketTable::reconcile(const std::vector<ListedSocket>& listing,
                                       std::uint32_t netns, std::uint64_t listed_at_ns) {
    ReconcileResult result;
    seeded_netns_.insert(netns);
    std::unordered_set<std::uint64_t> listed;
    listed.reserve(listing.size());
    for (const ListedSocket& s : listing) {
        listed.insert(s.cookie);
        auto it = entries_.find(s.cookie);
        SocketEntry* entry = nullptr;
        if (it == entries_.end()) {
            entry = &insert(s.cookie, netns);
            entry->last_event_ns = listed_at_ns;
            ++result.added;
        } else if (it->second.last_event_ns > listed_at_ns) {
            continue;
        } else {
            entry = &it->second;
            if (entry->state != s.state) {
                entry->entered_ns.reset();
                ++result.fixed;
            }
        }
        entry->state = s.state;
        entry->saddr = s.saddr;
        entry->daddr = s.daddr;
        entry->sport = s.sport;
        entry->dport = s.dport;
    }
    for (auto it = entries_.begin(); it != entries_.end();) {
        const SocketEntry& e = it->second;
        if (e.netns == netns && e.last_event_ns <= listed_at_ns && !listed.contains(e.cookie)) {
            it = entries_.erase(it);
            ++result.removed;
        } else {
            ++it;
        }
    }
    return result;
}

bool SocketTable::continue_closed(const ClosedSocket& closed) {
    auto it = entries_.find(closed.cookie);
    if (it == entries_.end()) {
        return false;
    }
    SocketEntry& entry = it->second;
    if (!entry.owner) {
        entry.owner = closed.owner;
    }
    if (!entry.entered_ns) {
        // TIME_WAIT begins at the close; an orphan FIN_WAIT2 goes on from
        // the full socket's FIN_WAIT2.
        entry.entered_ns =
            entry.state == closed.from ? closed.from_since_ns : std::optional(closed.closed_ns);
    }
    return true;
}

const SocketEntry* SocketTable::find(std::uint64_t cookie) const {
    auto it = entries_.find(cookie);
    return it == entries_.end() ? nullptr : &it->second;
}

std::vector<SocketEntry> SocketTable::snapshot() const {
    std::vector<SocketEntry> out;
    out.reserve(entries_.size());
    for (const auto& [cookie, entry] : entries_) {
        out.push_back(entry);
    }
    return out;
}

// Evicts the idlest eighth in one pass, so a full table costs amortised O(1)
// per insert instead of a scan per event.
void SocketTable::make_room() {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> by_age;  // (last_event_ns, cookie)
    by_age.reserve(entries_.size());
    for (const auto& [cookie, entry] : entries_) {
        by_age.emplace_back(entry.last_event_ns, cookie);
    }
    std::size_t victims = std::max<std::size_t>(1, by_age.size() / 8);
    std::nth_element(by_age.begin(), by_age.begin() + static_cast<std::ptrdiff_t>(victims - 1),
                     by_age.end());
    for (std::size_t i = 0; i < victims; ++i) {
        entries_.erase(by_age[i].second);
    }
    counters_.evictions += victims;
}

}  // namespace tcpscope
