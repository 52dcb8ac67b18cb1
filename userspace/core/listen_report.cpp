#include "core/listen_report.h"

#include <sys/socket.h>

#include <algorithm>

namespace tcpscope {
namespace {

std::uint64_t minus(std::uint64_t now, std::uint64_t base) {
    return now >= base ? now - base : 0;  // a counter that went back: a new socket
}

}  // namespace

bool listener_takes(const ListedSocket& listener, const IpAddress& daddr, std::uint16_t dport) {
    if (listener.sport != dport) {
        return false;
    }
    if (listener.saddr.family == daddr.family) {
        return listener.saddr.is_unspecified() || listener.saddr == daddr;
    }
    return listener.saddr.family == AF_INET6 && listener.saddr.is_unspecified();
}

namespace {

int specificity(const ListedSocket& listener, const IpAddress& daddr) {
    return (listener.saddr == daddr ? 2 : 0) + (listener.saddr.family == daddr.family ? 1 : 0);
}

}  // namespace

const ListedSocket* listener_for(const std::vector<ListedSocket>& listeners, const IpAddress& daddr,
                                 std::uint16_t dport) {
    const ListedSocket* best = nullptr;
    for (const ListedSocket& l : listeners) {
        if (listener_takes(l, daddr, dport) &&
            (best == nullptr || specificity(l, daddr) > specificity(*best, daddr))) {
            best = &l;
        }
    }
    return best;
}

const std::vector<std::string>& listen_namespace_counter_names() {
    static const std::vector<std::string> names = {
        "TcpExt.ListenOverflows",  "TcpExt.ListenDrops",
        "TcpExt.TCPReqQFullDrop",  "TcpExt.TCPReqQFullDoCookies",
        "TcpExt.SyncookiesSent",   "TcpExt.SyncookiesRecv",
        "TcpExt.SyncookiesFailed", "TcpExt.TCPSynRetrans",
        "Tcp.PassiveOpens",        "Tcp.OutRsts"};
    return names;
}

std::optional<std::uint64_t> bucket_quantile_us(const std::array<std::uint64_t, kWaitSlots>& slots,
                                                double q) {
    std::uint64_t total = 0;
    for (std::uint64_t n : slots) {
        total += n;
    }
    if (total == 0) {
        return std::nullopt;
    }
    // The smallest bucket holding the ceil(q * total)-th wait.
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total));
    rank =
        std::clamp<std::uint64_t>(rank + (static_cast<double>(rank) < q * total ? 1 : 0), 1, total);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < slots.size(); ++i) {
        seen += slots[i];
        if (seen >= rank) {
            return std::uint64_t{1} << i;
        }
    }
    return std::uint64_t{1} << (slots.size() - 1);
}

void ListenStats::raise_peak(Listener& l, std::uint32_t queue) {
    l.peak_in_interval = std::max(l.peak_in_interval, queue);
    l.peak_since_start = std::max(l.peak_since_start, queue);
}

void ListenStats::listed(const std::vector<ListedSocket>& listing) {
    for (auto& [cookie, l] : listeners_) {
        l.listening = false;
    }
    for (const ListedSocket& s : listing) {
        if (s.state != TcpState::Listen || s.cookie == 0) {
            continue;
        }
        auto [it, fresh] = listeners_.try_emplace(s.cookie);
        Listener& l = it->second;
        l.socket = s;
        l.listening = true;
        if (fresh && s.drops) {
            // One listening before the run counts from here; one that began
            // since, from its start: every drop it has is the run's.
            l.start.drops = first_listing_ ? *s.drops : 0;
            l.interval.drops = l.start.drops;
        }
        raise_peak(l, s.rqueue);
    }
    first_listing_ = false;
}

void ListenStats::observe(const Transition& t) {
    if (t.old_state == TcpState::SynSent && t.syn_retrans > 0 && t.netns == netns_) {
        client_retrans_[Destination{t.daddr.family, t.daddr.bytes, t.dport}] += t.syn_retrans;
    }
}

void ListenStats::counted(const std::vector<ListenerCounts>& listeners,
                          const std::vector<SynDropCount>& drops,
                          const ProcNetCounters& namespace_counters) {
    for (const ListenerCounts& c : listeners) {
        auto it = listeners_.find(c.cookie);
        if (it == listeners_.end()) {
            continue;  // not a listener of the namespace listed (yet)
        }
        it->second.counts = c;
        raise_peak(it->second, c.queue_peak);
    }
    for (const SynDropCount& d : drops) {
        if (d.netns != netns_) {
            continue;
        }
        drops_[DropKey{d.daddr.family, d.daddr.bytes, d.dport, d.reason}] = d.count;
    }
    namespace_now_ = namespace_counters;
    if (!namespace_at_start_) {
        namespace_at_start_ = namespace_counters;
        namespace_at_interval_ = namespace_counters;
    }
}

ListenReport ListenStats::report(std::uint64_t now_ns, double span_s, const SocketTable* table,
                                 bool since_start) const {
    ListenReport r;
    r.now_ns = now_ns;
    r.span_s = span_s;
    r.final = since_start;
    r.syn_drops_known = syn_drops_known_;
    for (const auto& [cookie, l] : listeners_) {
        if (!since_start && l.closed_reported) {
            continue;
        }
        const Baseline& base = since_start ? l.start : l.interval;
        ListenerRow row;
        row.cookie = cookie;
        row.addr = l.socket.saddr;
        row.port = l.socket.sport;
        row.inode = l.socket.inode;
        if (const SocketEntry* e = table != nullptr ? table->find(cookie) : nullptr) {
            row.owner = e->owner;
        }
        row.backlog = l.socket.wqueue;
        row.queue = l.listening ? l.socket.rqueue : 0;
        row.queue_peak = since_start ? l.peak_since_start : l.peak_in_interval;
        row.accepted = minus(l.counts.accepted, base.counts.accepted);
        std::array<std::uint64_t, kWaitSlots> waits{};
        for (std::size_t i = 0; i < kWaitSlots; ++i) {
            waits[i] = minus(l.counts.wait_slots[i], base.counts.wait_slots[i]);
        }
        row.wait_p50_us = bucket_quantile_us(waits, 0.5);
        row.wait_p99_us = bucket_quantile_us(waits, 0.99);
        if (l.socket.drops && base.drops) {
            row.drops = minus(*l.socket.drops, *base.drops);
        }
        row.synack_retrans = minus(l.counts.synack_retrans, base.counts.synack_retrans);
        row.closed = !l.listening;
        r.listeners.push_back(std::move(row));
    }
    // The report's rows, in order, as the listings showed them.
    std::vector<ListedSocket> shown;
    for (const ListenerRow& row : r.listeners) {
        shown.push_back(listeners_.at(row.cookie).socket);
    }
    auto row_for = [&](const IpAddress& daddr, std::uint16_t dport) -> ListenerRow* {
        const ListedSocket* l = listener_for(shown, daddr, dport);
        return l == nullptr ? nullptr : &r.listeners[static_cast<std::size_t>(l - shown.data())];
    };
    const auto& drops_base = drops_at_interval_;
    for (const auto& [key, count] : drops_) {
        std::uint64_t n = count;
        if (!since_start) {
            auto b = drops_base.find(key);
            n = minus(count, b == drops_base.end() ? 0 : b->second);
        }
        if (n == 0) {
            continue;
        }
        IpAddress daddr;
        daddr.family = std::get<0>(key);
        daddr.bytes = std::get<1>(key);
        const std::uint16_t dport = std::get<2>(key);
        const std::string& reason = std::get<3>(key);
        // The most specific listener it was aimed at, IPv4 before a v6 wildcard.
        ListenerRow* target = reason == "NO_SOCKET" ? nullptr : row_for(daddr, dport);
        if (target != nullptr) {
            target->syn_drops[reason] += n;
        } else {
            r.unlistened.push_back(UnlistenedDrop{daddr, dport, reason, n});
        }
    }
    for (const auto& [dest, total] : client_retrans_) {
        std::uint64_t n = total;
        if (!since_start) {
            auto b = client_retrans_at_interval_.find(dest);
            n = minus(total, b == client_retrans_at_interval_.end() ? 0 : b->second);
        }
        IpAddress daddr;
        daddr.family = std::get<0>(dest);
        daddr.bytes = std::get<1>(dest);
        if (ListenerRow* row = n > 0 ? row_for(daddr, std::get<2>(dest)) : nullptr) {
            row->local_client_syn_retrans += n;
        }
    }
    const ProcNetCounters& ns_base =
        since_start ? namespace_at_start_.value_or(ProcNetCounters{}) : namespace_at_interval_;
    for (const std::string& name : listen_namespace_counter_names()) {
        auto now = namespace_now_.find(name);
        if (now == namespace_now_.end()) {
            continue;  // this kernel does not have it
        }
        auto base = ns_base.find(name);
        r.namespace_counters[name] = minus(now->second, base == ns_base.end() ? 0 : base->second);
    }
    return r;
}

ListenReport ListenStats::interval_report(std::uint64_t now_ns, double span_s,
                                          const SocketTable* table) {
    ListenReport r = report(now_ns, span_s, table, false);
    for (auto& [cookie, l] : listeners_) {
        l.closed_reported = !l.listening;  // its last interval row said so
        l.interval.counts = l.counts;
        l.interval.drops = l.socket.drops;
        l.peak_in_interval = l.listening ? l.socket.rqueue : 0;
    }
    drops_at_interval_ = drops_;
    client_retrans_at_interval_ = client_retrans_;
    namespace_at_interval_ = namespace_now_;
    return r;
}

ListenReport ListenStats::final_report(std::uint64_t now_ns, double span_s,
                                       const SocketTable* table) const {
    return report(now_ns, span_s, table, true);
}

}  // namespace tcpscope
