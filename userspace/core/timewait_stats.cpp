#include "core/timewait_stats.h"

#include <algorithm>
#include <tuple>
#include <unordered_map>

#include <fmt/format.h>

#include "core/fnv1a.h"

namespace tcpscope {
namespace {

const Destination& order_key(const Destination& d) {
    return d;
}
auto order_key(const Closer& c) {
    return std::make_tuple(c.pid, c.comm.view(), c.role, c.cgroup_id);
}
std::uint16_t order_key(std::uint16_t port) {
    return port;
}

// The n largest by count, ties in key order, so reports never depend on
// hashing.
template <typename Key, typename Make>
auto top_of(std::vector<std::pair<Key, std::uint64_t>> items, std::size_t n, Make make) {
    auto before = [](const auto& a, const auto& b) {
        if (a.second != b.second) {
            return a.second > b.second;
        }
        return order_key(a.first) < order_key(b.first);
    };
    const std::size_t kept = std::min(n, items.size());
    std::partial_sort(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(kept), items.end(),
                      before);
    std::vector<decltype(make(items.front().first, 0))> out;
    out.reserve(kept);
    for (std::size_t i = 0; i < kept; ++i) {
        out.push_back(make(items[i].first, items[i].second));
    }
    return out;
}

template <typename Map>
auto entries_of(const Map& counts) {
    return std::vector<std::pair<typename Map::key_type, std::uint64_t>>(counts.begin(),
                                                                         counts.end());
}

std::vector<std::pair<std::uint16_t, std::uint64_t>> entries_of(
    const std::vector<std::uint32_t>& by_port) {
    std::vector<std::pair<std::uint16_t, std::uint64_t>> out;
    for (std::size_t port = 0; port < by_port.size(); ++port) {
        if (by_port[port] != 0) {
            out.emplace_back(static_cast<std::uint16_t>(port), by_port[port]);
        }
    }
    return out;
}

}  // namespace

std::size_t CloserHash::operator()(const Closer& c) const {
    Fnv1a h;
    h.add(c.pid);
    h.add(c.comm.view().data(), c.comm.view().size());
    h.add(c.role);
    h.add(c.cgroup_id);
    return h.value();
}

void TimewaitStats::Counts::add(const Counts& other) {
    births += other.births;
    deaths += other.deaths;
    early_deaths += other.early_deaths;
    corrections += other.corrections;
    client_side += other.client_side;
    server_side += other.server_side;
    for (const auto& [key, n] : other.remote) {
        remote[key] += n;
    }
    if (!other.lport.empty()) {
        lport.resize(other.lport.size());
        for (std::size_t i = 0; i < lport.size(); ++i) {
            lport[i] += other.lport[i];
        }
    }
    for (const auto& [key, n] : other.closers) {
        closers[key] += n;
    }
}

void TimewaitStats::Counts::clear() {
    births = deaths = early_deaths = corrections = client_side = server_side = 0;
    remote.clear();
    std::fill(lport.begin(), lport.end(), 0);  // keeps the array for the next interval
    closers.clear();
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> remaining_percentiles(
    const SocketTable& table, std::uint64_t now_ns) {
    std::vector<std::uint64_t> remaining;
    remaining.reserve(table.count_in_state(TcpState::TimeWait));
    table.for_each([&](const SocketEntry& e) {
        if (e.state == TcpState::TimeWait && e.expires_ns) {
            remaining.push_back(*e.expires_ns > now_ns ? (*e.expires_ns - now_ns) / 1'000'000 : 0);
        }
    });
    if (remaining.empty()) {
        return std::nullopt;
    }
    // Nearest rank: the smallest value with at least half at or below it.
    std::size_t mid = (remaining.size() - 1) / 2;
    std::nth_element(remaining.begin(), remaining.begin() + static_cast<std::ptrdiff_t>(mid),
                     remaining.end());
    std::uint64_t p50 = remaining[mid];
    std::uint64_t max = *std::max_element(remaining.begin(), remaining.end());
    return std::pair{p50, max};
}

std::vector<PortPressure> port_pressure(const SocketTable& table,
                                        std::pair<std::uint16_t, std::uint16_t> range) {
    // Not a structured binding: clang (the fuzz build) cannot capture those.
    const std::uint16_t lo = range.first;
    const std::uint16_t hi = range.second;
    double size = hi >= lo ? static_cast<double>(hi - lo + 1) : 0.0;
    // Hashed, not ordered: this runs over every socket each interval.
    std::unordered_map<Destination, PortPressure, DestinationHash> by_dest;
    table.for_each([&](const SocketEntry& e) {
        // Listeners and the server side of a handshake hold no ephemeral port.
        if (e.state == TcpState::Listen || e.state == TcpState::SynRecv ||
            e.state == TcpState::NewSynRecv || !e.sport || *e.sport < lo || *e.sport > hi ||
            e.dport == 0) {
            return;
        }
        PortPressure& p = by_dest[Destination{e.daddr, e.dport}];
        p.addr = e.daddr;
        p.port = e.dport;
        ++(e.state == TcpState::TimeWait ? p.timewait : p.other);
    });
    std::vector<PortPressure> out;
    out.reserve(by_dest.size());
    for (auto& [key, p] : by_dest) {
        p.pct = size > 0 ? 100.0 * static_cast<double>(p.timewait + p.other) / size : 0.0;
        out.push_back(p);
    }
    // Most used first; ties in address order, so reports do not depend on hashing.
    std::sort(out.begin(), out.end(), [](const PortPressure& a, const PortPressure& b) {
        if (a.timewait + a.other != b.timewait + b.other) {
            return a.timewait + a.other > b.timewait + b.other;
        }
        return Destination{a.addr, a.port} < Destination{b.addr, b.port};
    });
    return out;
}

void TimewaitStats::birth(const SocketEntry& entry) {
    Counts& c = interval_;
    ++c.births;
    ++c.remote[Destination{entry.daddr, entry.dport}];
    if (entry.sport) {
        if (c.lport.empty()) {
            c.lport.resize(65536);
        }
        ++c.lport[*entry.sport];
    }
    if (entry.role == SocketRole::Client) {
        ++c.client_side;
    } else if (entry.role == SocketRole::Server) {
        ++c.server_side;
    }
    Closer closer;
    closer.role = entry.role;
    if (entry.owner) {
        closer.pid = entry.owner->pid;
        closer.comm = entry.owner->comm;
        closer.cgroup_id = entry.owner->cgroup_id;
    }
    ++c.closers[closer];
}

void TimewaitStats::death(const TimewaitEnd& end) {
    ++interval_.deaths;
    if (end.early) {
        ++interval_.early_deaths;
        ++interval_.corrections;
    }
}

void TimewaitStats::missed_births(std::uint64_t n) {
    interval_.corrections += n;
}

TimewaitReport TimewaitStats::interval_report(std::uint64_t now_ns, double interval_s,
                                              const SocketTable& table,
                                              const TimewaitLimits& limits) {
    TimewaitReport r = report(interval_, now_ns, interval_s, table, limits);
    total_.add(interval_);
    interval_.clear();
    return r;
}

TimewaitReport TimewaitStats::final_report(std::uint64_t now_ns, double elapsed_s,
                                           const SocketTable& table, const TimewaitLimits& limits) {
    total_.add(interval_);  // births since the last interval report
    interval_.clear();
    TimewaitReport r = report(total_, now_ns, elapsed_s, table, limits);
    r.final = true;
    return r;
}

TimewaitReport TimewaitStats::report(const Counts& c, std::uint64_t now_ns, double span_s,
                                     const SocketTable& table, const TimewaitLimits& limits) const {
    const std::uint64_t live = table.count_in_state(TcpState::TimeWait);
    TimewaitReport r;
    r.ts_ns = now_ns;
    r.interval_s = span_s;
    r.births = c.births;
    r.deaths = c.deaths;
    r.early_deaths = c.early_deaths;
    r.corrections = c.corrections;
    r.births_per_s = span_s > 0 ? static_cast<double>(c.births) / span_s : 0.0;
    r.deaths_per_s = span_s > 0 ? static_cast<double>(c.deaths) / span_s : 0.0;
    r.live = live;
    r.client_side = c.client_side;
    r.server_side = c.server_side;
    r.top_remote = top_of(entries_of(c.remote), top_n_, [](const Destination& d, std::uint64_t n) {
        return EndpointCount{d.daddr, d.dport, n};
    });
    r.top_lport = top_of(entries_of(c.lport), top_n_, [](std::uint16_t port, std::uint64_t n) {
        return PortCount{port, n};
    });
    r.closers = top_of(entries_of(c.closers), top_n_, [](const Closer& key, std::uint64_t n) {
        CloserCount out;
        if (key.pid != 0) {
            out.pid = key.pid;
        }
        out.comm = key.comm.str();
        out.side = key.role;
        out.cgroup_id = key.cgroup_id;
        out.count = n;
        return out;
    });
    if (auto remaining = remaining_percentiles(table, now_ns)) {
        r.remaining_p50_ms = remaining->first;
        r.remaining_max_ms = remaining->second;
    }
    r.limits = limits;
    if (limits.max_buckets && *limits.max_buckets > 0) {
        r.buckets_pct =
            100.0 * static_cast<double>(live) / static_cast<double>(*limits.max_buckets);
        if (*r.buckets_pct >= warn_pct_) {
            r.warnings.push_back(fmt::format(
                "TIME_WAIT sockets at {:.1f}% of net.ipv4.tcp_max_tw_buckets ({} of {})",
                *r.buckets_pct, live, *limits.max_buckets));
        }
    }
    if (limits.port_range) {
        std::vector<PortPressure> all = port_pressure(table, *limits.port_range);
        for (const PortPressure& p : all) {
            if (p.pct >= warn_pct_) {
                r.warnings.push_back(fmt::format(
                    "{}: {:.1f}% of the ephemeral port range {}-{} in use ({} TIME_WAIT, {} "
                    "other)",
                    format_endpoint(p.addr, p.port), p.pct, limits.port_range->first,
                    limits.port_range->second, p.timewait, p.other));
            }
        }
        if (all.size() > top_n_) {
            all.resize(top_n_);
        }
        r.pressure = std::move(all);
    }
    return r;
}

}  // namespace tcpscope
