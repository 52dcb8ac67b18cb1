// The live socket table: one entry per socket cookie, kept current by the
// transition stream. Bounded: past its capacity the sockets idle longest are
// evicted, and every eviction is counted.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/listed_socket.h"
#include "core/maybe_ns.h"
#include "core/transition.h"

namespace tcpscope {

// How long the kernel keeps a timewait socket (TCP_TIMEWAIT_LEN, fixed).
inline constexpr std::uint64_t kTimewaitLenNs = 60'000'000'000ull;

// Fields ordered largest first: the table holds hundreds of thousands of
// these, and padding is memory (bench/table_memory.cpp measures it).
struct SocketEntry {
    std::uint64_t cookie = 0;
    std::uint64_t last_event_ns = 0;
    MaybeNs entered_ns;  // unknown for sockets seeded, not seen
    // TIME_WAIT only: when the kernel frees the timewait socket (CLOCK_MONOTONIC),
    // estimated at an inferred birth, exact once a listing has confirmed it.
    MaybeNs expires_ns;
    std::optional<Owner> owner;
    IpAddress saddr;
    IpAddress daddr;
    std::uint32_t netns = 0;
    std::optional<std::uint16_t> sport;
    std::uint16_t dport = 0;
    TcpState state = TcpState::Close;
    SocketRole role = SocketRole::Unknown;
    bool history_gap = false;         // an event's old state did not match ours
    bool timewait_confirmed = false;  // a kernel listing has shown it
    bool listed = false;              // shown by the listing being reconciled (scratch)
    // A request socket (SYN received, handshake not done) that only a listing
    // showed: no transition creates one, so it is no correction when it comes
    // or goes, and the child that takes over its cookie is no gap.
    bool request = false;
};
// Each byte here is paid per live socket; tcpscope-table-bench watches the
// total, this the entry itself.
static_assert(sizeof(SocketEntry) <= 136, "SocketEntry grew: the table targets 200 B/socket");

// A TIME_WAIT entry that left the table: expired, or killed early (port
// reuse, reset), which the kernel reports with no event.
struct TimewaitEnd {
    SocketEntry entry;       // as it was in TIME_WAIT
    std::uint64_t ended_ns;  // when it ended, or the listing that missed it
    bool early = false;      // gone well before its expiry
};

// The inferred TIME_WAIT->CLOSE transition of an end, for `trace`.
Transition timewait_end_transition(const TimewaitEnd& end);

struct TableCounters {
    std::uint64_t gaps = 0;       // transitions whose old state differed from the table's
    std::uint64_t evictions = 0;  // entries dropped because the table was full
    std::uint64_t inserted = 0;   // distinct sockets ever held
};

// How a socket left the table at ->CLOSE, for the timewait socket that
// may carry on with its cookie.
struct ClosedSocket {
    std::uint64_t cookie = 0;
    std::optional<Owner> owner;
    TcpState from = TcpState::Close;             // the state it closed from
    std::optional<std::uint64_t> from_since_ns;  // when it entered `from`
    std::uint64_t closed_ns = 0;

    static ClosedSocket of(const Transition& close, const SocketEntry& last) {
        std::optional<std::uint64_t> since;
        if (close.dur_ns && *close.dur_ns <= close.ts_ns) {
            since = close.ts_ns - *close.dur_ns;
        }
        return {close.cookie, last.owner, close.old_state, since, close.ts_ns};
    }
};

// What one reconciliation against a kernel listing changed.
struct ReconcileResult {
    std::uint64_t added = 0;    // listed by the kernel, missing from the table
    std::uint64_t removed = 0;  // in the table, gone from the kernel
    std::uint64_t fixed = 0;    // in both, in another state
    std::uint64_t total() const { return added + removed + fixed; }

    // TIME_WAIT, which ends with no event: entries gone from the listing
    // (among removed), and listed timewait sockets whose birth the stream
    // missed (among added or fixed).
    std::vector<TimewaitEnd> timewait_ended;
    std::vector<SocketEntry> timewait_missed;
    std::uint64_t early_deaths = 0;  // of timewait_ended
};

// What a listing given to reconcile() covers: every socket of the namespace,
// or only sockets the table already holds (--pid: a listing cannot tell
// owners apart, so it keeps only the traced process's known sockets). Only
// the first makes a later first sight mid-life a gap.
enum class ListingScope { WholeNamespace, KnownSocketsOnly };

class SocketTable {
  public:
    explicit SocketTable(std::size_t capacity);

    // The stream carries only some transitions by design (timewait mode: the
    // kernel sends only the FIN closes that leave a timewait socket). Then an
    // old state that differs from the table's, or a socket first seen
    // mid-life, is expected and not counted as a gap; losses show only in the
    // kernel's counters. The role comes from the transition's role hint.
    void set_sparse(bool sparse) { sparse_ = sparse; }
    bool sparse() const { return sparse_; }

    struct Applied {
        bool gap = false;  // this transition revealed lost history
        // The entry as it was just before it left the table at ->CLOSE.
        std::optional<SocketEntry> closed;
        // A FIN close (FIN_WAIT2/CLOSING->CLOSE, no error) left a timewait
        // socket with the same cookie: the entry stays, in TIME_WAIT, and
        // this is the inferred ->TIME_WAIT transition.
        std::optional<Transition> timewait_born;
    };

    Applied apply(const Transition& t);

    // Brings the entries of one network namespace in line with a kernel
    // listing of it taken at listed_at_ns (CLOCK_MONOTONIC, read before the
    // dump began). Entries with an event newer than that are left alone: the
    // stream knows more than the listing. Seeding is a reconcile on an empty
    // table. Listed sockets enter with an unknown time in state and owner.
    // Once a namespace is reconciled with a whole-namespace listing, a socket
    // of it first seen mid-life counts as a gap: its birth was lost.
    // Timewait sockets are TIME_WAIT in the table whatever their substate,
    // and take their expiry from the listing; a TIME_WAIT entry gone from it
    // ended, early when well before its expiry (port reuse, reset). Once a
    // namespace has been listed, an overdue timewait socket the table does
    // not hold is one expire_timewait() ended: it is not added back.
    // Listed request sockets enter as SYN_RECV entries and leave silently:
    // the stream never carries them, so neither counts as a correction.
    // Where the stream knows sockets by tcpscope's own ids (kernels whose
    // tracing programs cannot read cookies), a listed cookie the table does
    // not hold is matched to such an entry by tuple, and find() knows the
    // entry by that cookie from then on.
    ReconcileResult reconcile(const std::vector<ListedSocket>& listing, std::uint32_t netns,
                              std::uint64_t listed_at_ns,
                              ListingScope scope = ListingScope::WholeNamespace);

    // A TIME_WAIT (or orphan FIN_WAIT2) socket carries the cookie of the full
    // socket that left the table at ->CLOSE. Gives the listed entry that
    // socket's owner and the time it entered its current state, where the
    // listing left them unknown. False if the cookie is not held.
    bool continue_closed(const ClosedSocket& closed);

    // Ends TIME_WAIT entries whose expiry passed more than grace_ns ago (for
    // namespaces no listing covers).
    std::vector<TimewaitEnd> expire_timewait(std::uint64_t now_ns, std::uint64_t grace_ns);

    // Kept up to date by every change, so O(1).
    std::size_t count_in_state(TcpState state) const {
        return state_counts_[static_cast<std::size_t>(state)];
    }
    // Entries per (netns, state).
    std::map<std::pair<std::uint32_t, TcpState>, std::size_t> count_by_netns_state() const;

    // By the id the stream gave it, or by the cookie a listing matched to
    // that id (see reconcile()).
    const SocketEntry* find(std::uint64_t cookie) const;
    std::size_t size() const { return entries_.size(); }
    std::size_t capacity() const { return capacity_; }
    const TableCounters& counters() const { return counters_; }

    // Copies, so callers can sort and format without holding the table.
    std::vector<SocketEntry> snapshot() const;

    // Visits every entry in no particular order, without copying.
    template <typename Visit>
    void for_each(Visit&& visit) const {
        for (const auto& [cookie, entry] : entries_) {
            visit(entry);
        }
    }

  private:
    using Entries = std::unordered_map<std::uint64_t, SocketEntry>;

    void make_room();
    Entries::iterator insert(std::uint64_t cookie, std::uint32_t netns);
    // Every state change and removal goes through these, which keep
    // state_counts_ and earliest_expiry_ns_ true.
    void set_state(SocketEntry& entry, TcpState state);
    void set_expiry(SocketEntry& entry, std::uint64_t expires_ns);
    Entries::iterator erase(Entries::iterator it);
    Entries::iterator locate(std::uint64_t cookie);  // find() for the table itself
    template <typename Self>
    static auto locate_in(Self& self, std::uint64_t cookie) {
        auto it = self.entries_.find(cookie);
        if (it == self.entries_.end() && !self.alias_to_id_.empty()) {
            if (auto alias = self.alias_to_id_.find(cookie); alias != self.alias_to_id_.end()) {
                it = self.entries_.find(alias->second);
            }
        }
        return it;
    }

    std::size_t capacity_;
    bool sparse_ = false;
    std::unordered_set<std::uint32_t> seeded_netns_;  // namespaces a listing has covered
    Entries entries_;
    TableCounters counters_;
    std::array<std::size_t, 16> state_counts_{};  // indexed by TcpState's number
    // Kernels without socket cookies for tracing programs: entries keyed by
    // tcpscope's own ids, and the cookies listings showed them under.
    std::size_t synthetic_entries_ = 0;
    std::unordered_map<std::uint64_t, std::uint64_t> alias_to_id_;
    std::unordered_map<std::uint64_t, std::uint64_t> id_to_alias_;
    // No TIME_WAIT entry expires before this, so expire_timewait() need not
    // look at the table until then.
    std::uint64_t earliest_expiry_ns_ = UINT64_MAX;
};

}  // namespace tcpscope
