#include "core/timewait_stats.h"

#include <algorithm>
#include <tuple>
#include <unordered_map>

#include <fmt/format.h>

namespace tcpscope {
namespace {

// A destination as the pressure count keys it.
struct Destination {
    IpAddress addr;
    std::uint16_t port = 0;
    bool operator==(const Destination&) const = default;
};

struct DestinationHash {
    std::size_t operator()(const Destination& d) const {
        std::uint64_t h = 1469598103934665603ull;  // FNV-1a over the bytes that matter
        auto mix = [&](std::uint8_t byte) { h = (h ^ byte) * 1099511628211ull; };
        for (std::uint8_t b : d.addr.bytes) {
            mix(b);
        }
        mix(static_cast<std::uint8_t>(d.addr.family));
        mix(static_cast<std::uint8_t>(d.port));
        mix(static_cast<std::uint8_t>(d.port >> 8));
        return h;
    }
};

IpAddress address_of(int family, const std::array<std::uint8_t, 16>& bytes) {
    IpAddress a;
    a.family = family;
    a.bytes = bytes;
    return a;
}

// The n largest by count, ties in key order (the maps iterate sorted).
template <typename Map, typename Make>
auto top_of(const Map& counts, std::size_t n, Make make) {
    std::vector<std::pair<typename Map::key_type, std::uint64_t>> items(counts.begin(),
                                                                        counts.end());
    std::stable_sort(items.begin(), items.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    if (items.size() > n) {
        items.resize(n);
    }
    std::vector<decltype(make(items.front().first, 0))> out;
    out.reserve(items.size());
    for (const auto& [key, count] : items) {
        out.push_back(make(key, count));
    }
    return out;
}

}  // namespace

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
    auto [lo, hi] = range;
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
        return std::tie(a.addr.family, a.addr.bytes, a.port) <
               std::tie(b.addr.family, b.addr.bytes, b.port);
    });
    return out;
}

void TimewaitStats::birth(const SocketEntry& entry) {
    for (Counts* c : {&interval_, &total_}) {
        ++c->births;
        ++c->remote[{entry.daddr.family, entry.daddr.bytes, entry.dport}];
        if (entry.sport) {
            ++c->lport[*entry.sport];
        }
        if (entry.role == SocketRole::Client) {
            ++c->client_side;
        } else if (entry.role == SocketRole::Server) {
            ++c->server_side;
        }
        std::uint32_t pid = entry.owner ? entry.owner->pid : 0;
        std::string comm = entry.owner ? entry.owner->comm.str() : std::string();
        ++c->closers[{pid, comm, entry.role}];
    }
}

void TimewaitStats::death(const TimewaitEnd& end) {
    for (Counts* c : {&interval_, &total_}) {
        ++c->deaths;
        if (end.early) {
            ++c->early_deaths;
            ++c->corrections;
        }
    }
}

void TimewaitStats::missed_births(std::uint64_t n) {
    interval_.corrections += n;
    total_.corrections += n;
}

TimewaitReport TimewaitStats::interval_report(std::uint64_t now_ns, double interval_s,
                                              const SocketTable& table,
                                              const TimewaitLimits& limits) {
    TimewaitReport r = report(interval_, now_ns, interval_s, table, limits);
    interval_ = Counts{};
    return r;
}

TimewaitReport TimewaitStats::final_report(std::uint64_t now_ns, double elapsed_s,
                                           const SocketTable& table, const TimewaitLimits& limits) {
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
    r.top_remote = top_of(c.remote, top_n_, [](const auto& key, std::uint64_t n) {
        return EndpointCount{address_of(std::get<0>(key), std::get<1>(key)), std::get<2>(key), n};
    });
    r.top_lport = top_of(c.lport, top_n_, [](std::uint16_t port, std::uint64_t n) {
        return PortCount{port, n};
    });
    r.closers = top_of(c.closers, top_n_, [](const auto& key, std::uint64_t n) {
        CloserCount out;
        if (std::get<0>(key) != 0) {
            out.pid = std::get<0>(key);
        }
        out.comm = std::get<1>(key);
        out.side = std::get<2>(key);
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
