// `tcpscope listen`: per listening socket, what became of the connections
// aimed at it. Fed with listings of the listeners (queue, backlog, drops),
// the kernel's per-listener counts (accepts, SYN-ACK retransmits), the SYNs
// the kernel dropped by reason, and the namespace's own counters; hands out
// one report per interval and one for the whole run. Pure: no kernel here.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/listed_socket.h"
#include "core/listen_counts.h"
#include "core/proc_net_counters.h"
#include "core/socket_table.h"
#include "core/transition.h"

namespace tcpscope {

struct ListenerRow {
    std::uint64_t cookie = 0;
    IpAddress addr;
    std::uint16_t port = 0;
    std::uint64_t inode = 0;       // for a /proc owner lookup where the table has none
    std::optional<Owner> owner;    // from the live table
    std::uint32_t backlog = 0;     // listen()'s backlog, as the kernel caps it
    std::uint32_t queue = 0;       // accept queue at the last listing
    std::uint32_t queue_peak = 0;  // highest seen: listings, and just before each accept()
    std::uint64_t accepted = 0;
    // Time from reaching ESTABLISHED (in the accept queue) to accept(), as the
    // upper bound of its power-of-two bucket; null when no accept had one.
    std::optional<std::uint64_t> wait_p50_us;
    std::optional<std::uint64_t> wait_p99_us;
    std::optional<std::uint64_t> drops;  // sk_drops: ListenDrops of this listener; null unknown
    std::uint64_t synack_retrans = 0;
    // SYN retransmits of connects to it from the traced namespace itself
    // (clients elsewhere retransmit where this host cannot count them).
    std::uint64_t local_client_syn_retrans = 0;
    std::map<std::string, std::uint64_t> syn_drops;  // SYNs to it the kernel dropped, by reason
    bool closed = false;                             // no longer listening at the end
};

// Dropped SYNs no listener of the report matches, by destination and reason:
// NO_SOCKET is a connect refused by this host (the kernel answers with a RST).
struct UnlistenedDrop {
    IpAddress addr;
    std::uint16_t port = 0;
    std::string reason;
    std::uint64_t count = 0;
};

struct ListenReport {
    std::uint64_t now_ns = 0;
    double span_s = 0;
    bool final = false;  // the whole run, at exit
    std::vector<ListenerRow> listeners;
    std::vector<UnlistenedDrop> unlistened;
    bool syn_drops_known = false;  // the kernel names drop reasons (5.17+)
    // The namespace's counters (TcpExt.ListenOverflows, Tcp.OutRsts, ...)
    // over the same span, to set beside the per-listener ones.
    std::map<std::string, std::uint64_t> namespace_counters;
};

// The namespace counters a report carries, in this order.
const std::vector<std::string>& listen_namespace_counter_names();

class ListenStats {
  public:
    // netns: the namespace listed; counts from others (a tracer that sees
    // every namespace) are left out.
    ListenStats(bool syn_drops_known, std::uint32_t netns)
        : syn_drops_known_(syn_drops_known), netns_(netns) {}

    // A listing's LISTEN sockets (others are ignored): queues and drops. A
    // listener in the first listing counts drops from there; one first listed
    // later is new since, and all of its drops count.
    void listed(const std::vector<ListedSocket>& listing);
    // A transition of the traced namespace: connects out of SYN_SENT bring
    // their SYN retransmits.
    void observe(const Transition& t);
    // The kernel's cumulative counts, read after the listing.
    void counted(const std::vector<ListenerCounts>& listeners,
                 const std::vector<SynDropCount>& drops, const ProcNetCounters& namespace_counters);

    // What happened since the last interval report; starts the next interval.
    ListenReport interval_report(std::uint64_t now_ns, double span_s, const SocketTable* table);
    // What happened since the first listing.
    ListenReport final_report(std::uint64_t now_ns, double span_s, const SocketTable* table) const;

  private:
    struct Baseline {
        ListenerCounts counts;  // zero for a listener first counted after it
        std::optional<std::uint32_t> drops;
    };
    struct Listener {
        ListedSocket socket;
        bool listening = true;         // in the last listing
        bool closed_reported = false;  // an interval report has shown it closed
        ListenerCounts counts;
        Baseline start;
        Baseline interval;
        std::uint32_t peak_in_interval = 0;
        std::uint32_t peak_since_start = 0;
    };
    using DropKey = std::tuple<int, std::array<std::uint8_t, 16>, std::uint16_t, std::string>;

    ListenReport report(std::uint64_t now_ns, double span_s, const SocketTable* table,
                        bool since_start) const;
    void raise_peak(Listener& l, std::uint32_t queue);

    bool syn_drops_known_;
    std::uint32_t netns_;
    bool first_listing_ = true;
    std::map<std::uint64_t, Listener> listeners_;  // by cookie
    std::map<DropKey, std::uint64_t> drops_;
    std::map<DropKey, std::uint64_t> drops_at_interval_;
    using Destination = std::tuple<int, std::array<std::uint8_t, 16>, std::uint16_t>;
    std::map<Destination, std::uint64_t> client_retrans_;
    std::map<Destination, std::uint64_t> client_retrans_at_interval_;
    ProcNetCounters namespace_now_;
    std::optional<ProcNetCounters> namespace_at_start_;
    ProcNetCounters namespace_at_interval_;
};

// Whether a SYN to daddr:dport reaches this listener: same port, and its
// address or a wildcard (an IPv6 wildcard takes IPv4 too, unless IPV6_V6ONLY,
// which a listing does not show).
bool listener_takes(const ListedSocket& listener, const IpAddress& daddr, std::uint16_t dport);

// Of the listeners a SYN to daddr:dport reaches, the most specific (its own
// address before a wildcard, its family before an IPv6 wildcard); null: none.
const ListedSocket* listener_for(const std::vector<ListedSocket>& listeners, const IpAddress& daddr,
                                 std::uint16_t dport);

// The p-quantile (0..1) of power-of-two microsecond buckets, as its bucket's
// upper bound in µs; null when the buckets are empty.
std::optional<std::uint64_t> bucket_quantile_us(const std::array<std::uint64_t, kWaitSlots>& slots,
                                                double q);

}  // namespace tcpscope
