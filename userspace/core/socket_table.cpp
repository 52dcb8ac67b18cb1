#include "core/socket_table.h"

#include <algorithm>
#include <stdexcept>
#include <tuple>

#include "tcpscope/event.h"
#include "tcpscope/timewait.h"

namespace tcpscope {
namespace {

// An id of tcpscope's own, not a socket cookie (see TCPSCOPE_SYNTHETIC_ID).
bool is_synthetic(std::uint64_t id) {
    return (id & TCPSCOPE_SYNTHETIC_ID) != 0;
}

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

// The rules the BPF program applies too (include/tcpscope/timewait.h).
bool leaves_timewait(const Transition& t) {
    return tcpscope_leaves_timewait(static_cast<int>(t.old_state), static_cast<int>(t.new_state),
                                    t.sk_err) != 0;
}

SocketRole role_of_first(const Transition& t) {
    switch (tcpscope_role_of_first(static_cast<int>(t.old_state), static_cast<int>(t.new_state))) {
        case TCPSCOPE_F_ROLE_CLIENT:
            return SocketRole::Client;
        case TCPSCOPE_F_ROLE_SERVER:
            return SocketRole::Server;
        default:
            return SocketRole::Unknown;
    }
}

template <typename To, typename From>
void copy_tuple(To& to, const From& from) {
    to.saddr = from.saddr;
    to.daddr = from.daddr;
    to.sport = from.sport;
    to.dport = from.dport;
}

Transition timewait_birth_of(const SocketEntry& entry, const Transition& t) {
    Transition born = t;
    copy_tuple(born, entry);
    born.owner = entry.owner;
    born.new_state = TcpState::TimeWait;
    born.inferred = true;
    return born;
}

// A listed socket that is, or reports itself as, a timewait socket.
bool is_listed_timewait(const ListedSocket& s) {
    return s.is_timewait || s.state == TcpState::TimeWait;
}

// Timers fire a little late; a timewait socket gone within this of its
// expiry ended normally.
constexpr std::uint64_t kExpirySlackNs = 1'000'000'000ull;

// A TIME_WAIT entry a listing at listed_at_ns no longer shows.
TimewaitEnd timewait_end_at_listing(const SocketEntry& e, std::uint64_t listed_at_ns) {
    TimewaitEnd end{e, listed_at_ns, false};
    if (e.expires_ns && listed_at_ns + kExpirySlackNs < *e.expires_ns) {
        end.early = true;  // the listing's time: the end came at most this late
    } else if (e.expires_ns && *e.expires_ns < listed_at_ns) {
        end.ended_ns = std::max(*e.expires_ns, e.last_event_ns);
    }
    return end;
}

}  // namespace

Transition timewait_end_transition(const TimewaitEnd& end) {
    const SocketEntry& e = end.entry;
    Transition t;
    t.ts_ns = end.ended_ns;
    t.cookie = e.cookie;
    t.netns = e.netns;
    copy_tuple(t, e);
    t.old_state = TcpState::TimeWait;
    t.new_state = TcpState::Close;
    if (e.entered_ns && *e.entered_ns <= end.ended_ns) {
        t.dur_ns = end.ended_ns - *e.entered_ns;
    }
    t.owner = e.owner;
    t.inferred = true;
    return t;
}

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
        if (entry.state == TcpState::TimeWait && leaves_timewait(t)) {
            // A listing showed the timewait socket before this event was read.
            return result;
        }
        if (entry.role == SocketRole::Unknown) {
            entry.role = t.role;  // a listed socket: the kernel may know it
        }
        // A child's birth (LISTEN->SYN_RECV) under the cookie of the request
        // socket a listing showed: the same connection, nothing lost.
        const bool child_of_listed_request = entry.request && is_birth(t);
        entry.request = false;
        if (entry.state != t.old_state && !sparse_ && !child_of_listed_request) {
            result.gap = true;
            entry.history_gap = true;
            ++counters_.gaps;
        }
    } else if (t.new_state == TcpState::Close && !leaves_timewait(t)) {
        // Born and gone between two of our looks, or predating us: nothing to keep.
        return result;
    } else {
        // First sight of a socket mid-life is a gap only where a listing has
        // shown us every socket of its namespace: then it cannot predate us,
        // and its earlier transitions were lost.
        if (!sparse_ && !is_birth(t) && seeded_netns_.contains(t.netns)) {
            result.gap = true;
            ++counters_.gaps;
        }
        it = insert(t.cookie, t.netns);
        it->second.role = t.role != SocketRole::Unknown ? t.role : role_of_first(t);
        it->second.history_gap = result.gap;
    }

    SocketEntry& entry = it->second;
    merge_tuple(entry, t);
    set_state(entry, t.new_state);
    entry.entered_ns = t.ts_ns;
    entry.last_event_ns = t.ts_ns;
    if (t.owner) {
        entry.owner = t.owner;
    }

    if (leaves_timewait(t)) {
        set_state(entry, TcpState::TimeWait);
        set_expiry(entry, t.ts_ns + kTimewaitLenNs);
        result.timewait_born = timewait_birth_of(entry, t);
    } else if (t.new_state == TcpState::Close) {
        result.closed = std::move(entry);
        erase(it);
    }
    return result;
}

SocketTable::Entries::iterator SocketTable::insert(std::uint64_t cookie, std::uint32_t netns) {
    if (entries_.size() >= capacity_) {
        make_room();
    }
    SocketEntry fresh;
    fresh.cookie = cookie;
    fresh.netns = netns;
    ++counters_.inserted;
    ++state_counts_[static_cast<std::size_t>(fresh.state)];
    synthetic_entries_ += is_synthetic(cookie) ? 1 : 0;
    return entries_.emplace(cookie, std::move(fresh)).first;
}

void SocketTable::set_state(SocketEntry& entry, TcpState state) {
    --state_counts_[static_cast<std::size_t>(entry.state)];
    ++state_counts_[static_cast<std::size_t>(state)];
    entry.state = state;
}

void SocketTable::set_expiry(SocketEntry& entry, std::uint64_t expires_ns) {
    entry.expires_ns = expires_ns;
    earliest_expiry_ns_ = std::min(earliest_expiry_ns_, expires_ns);
}

SocketTable::Entries::iterator SocketTable::erase(Entries::iterator it) {
    --state_counts_[static_cast<std::size_t>(it->second.state)];
    if (is_synthetic(it->first)) {
        --synthetic_entries_;
        if (auto alias = id_to_alias_.find(it->first); alias != id_to_alias_.end()) {
            alias_to_id_.erase(alias->second);
            id_to_alias_.erase(alias);
        }
    }
    return entries_.erase(it);
}

namespace {

// A connection's addresses and ports, for finding a socket the stream knows by
// an id of tcpscope's own (kernels whose tracing programs cannot read socket
// cookies) under the cookie a listing gives it.
using Tuple = std::tuple<int, std::array<std::uint8_t, 16>, std::uint16_t,
                         std::array<std::uint8_t, 16>, std::uint16_t>;

template <typename Socket>
Tuple tuple_of(const Socket& s, std::uint16_t sport) {
    return {s.saddr.family, s.saddr.bytes, sport, s.daddr.bytes, s.dport};
}

}  // namespace

ReconcileResult SocketTable::reconcile(const std::vector<ListedSocket>& listing,
                                       std::uint32_t netns, std::uint64_t listed_at_ns,
                                       ListingScope scope) {
    ReconcileResult result;
    const bool seen_before = seeded_netns_.contains(netns);
    if (scope == ListingScope::WholeNamespace) {
        seeded_netns_.insert(netns);
    }
    // Built at the first listed cookie the table does not hold, and only if
    // it holds synthetic ids. A multimap: reuseport listeners share a tuple,
    // and each listed one takes one entry.
    std::optional<std::multimap<Tuple, Entries::iterator>> by_tuple;
    auto find_synthetic = [&](const ListedSocket& s) {
        if (!by_tuple) {
            by_tuple.emplace();
            for (auto it = entries_.begin(); it != entries_.end(); ++it) {
                const SocketEntry& e = it->second;
                if (e.netns == netns && is_synthetic(e.cookie) && e.sport) {
                    by_tuple->emplace(tuple_of(e, *e.sport), it);
                }
            }
        }
        auto found = by_tuple->find(tuple_of(s, s.sport));
        if (found == by_tuple->end()) {
            return entries_.end();
        }
        auto it = found->second;
        by_tuple->erase(found);
        return it;
    };
    for (const ListedSocket& s : listing) {
        const bool timewait = is_listed_timewait(s);
        const TcpState state = timewait ? TcpState::TimeWait : s.state;
        auto it = locate(s.cookie);
        if (it == entries_.end() && synthetic_entries_ > 0) {
            it = find_synthetic(s);
            if (it != entries_.end()) {
                alias_to_id_[s.cookie] = it->first;
                id_to_alias_[it->first] = s.cookie;
            }
        }
        if (it != entries_.end() && it->second.request && !s.is_request && synthetic_entries_ > 0 &&
            it->second.last_event_ns <= listed_at_ns) {
            // The child of a request socket listed before, on a kernel whose
            // stream names the child by an id of tcpscope's own: that entry
            // is the socket, the request entry under its cookie is gone.
            if (auto child = find_synthetic(s); child != entries_.end()) {
                erase(it);
                alias_to_id_[s.cookie] = child->first;
                id_to_alias_[child->first] = s.cookie;
                it = child;
            }
        }
        SocketEntry* entry = nullptr;
        bool missed_birth = timewait;
        if (it == entries_.end() && timewait && seen_before && s.expires_ms == 0) {
            // Past its expiry, waiting for the kernel's coarse timer wheel
            // (up to ~2 s late at 60 s): an entry expire_timewait() already
            // ended, not a birth the stream missed.
            continue;
        }
        if (it == entries_.end()) {
            entry = &insert(s.cookie, netns)->second;
            entry->last_event_ns = listed_at_ns;
            entry->request = s.is_request;
            result.added += s.is_request ? 0 : 1;
        } else if (it->second.last_event_ns > listed_at_ns) {
            continue;
        } else {
            entry = &it->second;
            if (entry->request && !s.is_request) {
                entry->request = false;  // its child's birth never came
            }
            if (entry->state != state) {
                entry->entered_ns.reset();
                ++result.fixed;
            } else {
                missed_birth = false;
            }
        }
        entry->listed = true;
        set_state(*entry, state);
        copy_tuple(*entry, s);
        if (timewait) {
            set_expiry(*entry,
                       listed_at_ns + static_cast<std::uint64_t>(s.expires_ms) * 1'000'000ull);
            entry->timewait_confirmed = true;
        }
        if (missed_birth) {
            result.timewait_missed.push_back(*entry);
        }
    }
    // One pass clears the marks and removes what the listing did not show.
    for (auto it = entries_.begin(); it != entries_.end();) {
        SocketEntry& e = it->second;
        if (e.netns == netns && e.last_event_ns <= listed_at_ns && !e.listed && e.request) {
            it = erase(it);  // timed out, or its child's birth is still unread
        } else if (e.netns == netns && e.last_event_ns <= listed_at_ns && !e.listed) {
            if (e.state == TcpState::TimeWait) {
                result.timewait_ended.push_back(timewait_end_at_listing(e, listed_at_ns));
                result.early_deaths += result.timewait_ended.back().early ? 1 : 0;
            }
            it = erase(it);
            ++result.removed;
        } else {
            e.listed = false;
            ++it;
        }
    }
    return result;
}

bool SocketTable::continue_closed(const ClosedSocket& closed) {
    auto it = locate(closed.cookie);
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

std::vector<TimewaitEnd> SocketTable::expire_timewait(std::uint64_t now_ns,
                                                      std::uint64_t grace_ns) {
    std::vector<TimewaitEnd> ended;
    if (earliest_expiry_ns_ == UINT64_MAX || earliest_expiry_ns_ + grace_ns >= now_ns) {
        return ended;
    }
    earliest_expiry_ns_ = UINT64_MAX;
    for (auto it = entries_.begin(); it != entries_.end();) {
        const SocketEntry& e = it->second;
        if (e.state != TcpState::TimeWait || !e.expires_ns) {
            ++it;
        } else if (*e.expires_ns + grace_ns < now_ns) {
            ended.push_back({e, *e.expires_ns, false});
            it = erase(it);
        } else {
            earliest_expiry_ns_ = std::min(earliest_expiry_ns_, *e.expires_ns);
            ++it;
        }
    }
    return ended;
}

std::map<std::pair<std::uint32_t, TcpState>, std::size_t> SocketTable::count_by_netns_state()
    const {
    std::map<std::pair<std::uint32_t, TcpState>, std::size_t> counts;
    for (const auto& [cookie, entry] : entries_) {
        ++counts[{entry.netns, entry.state}];
    }
    return counts;
}

SocketTable::Entries::iterator SocketTable::locate(std::uint64_t cookie) {
    return locate_in(*this, cookie);
}

const SocketEntry* SocketTable::find(std::uint64_t cookie) const {
    auto it = locate_in(*this, cookie);
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
        erase(entries_.find(by_age[i].second));
    }
    counters_.evictions += victims;
}

}  // namespace tcpscope
