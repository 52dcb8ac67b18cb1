#include "core/listen_metrics.h"

#include "core/top_n.h"

#include <algorithm>
#include <map>
#include <string>

namespace tcpscope {
namespace {

// What a port's listeners (one per address or SO_REUSEPORT worker) add up to.
struct PortTotals {
    std::uint64_t queue = 0;
    std::uint64_t backlog = 0;
    std::uint64_t accepted = 0;
    std::uint64_t drops = 0;
    std::uint64_t synack_retrans = 0;
    std::map<std::string, std::uint64_t> syn_drops;
};

MetricFamilyData family(std::string name, std::string help, MetricKind kind) {
    return MetricFamilyData{std::move(name), std::move(help), kind, {}};
}

}  // namespace

std::vector<MetricFamilyData> listen_metric_families(const ListenReport& totals,
                                                     std::uint32_t netns, std::size_t top_n) {
    std::map<std::uint16_t, PortTotals> by_port;
    for (const ListenerRow& row : totals.listeners) {
        PortTotals& p = by_port[row.port];
        if (!row.closed) {
            p.queue += row.queue;
            p.backlog += row.backlog;
        }
        p.accepted += row.accepted;
        p.drops += row.drops.value_or(0);
        p.synack_retrans += row.synack_retrans;
        for (const auto& [reason, n] : row.syn_drops) {
            p.syn_drops[reason] += n;
        }
    }
    auto port_label = [](std::uint16_t port) { return std::to_string(port); };
    auto ports = top_n_or_other(
        by_port, top_n, [](const PortTotals& p) { return p.drops + p.synack_retrans; }, port_label,
        [](PortTotals& into, const PortTotals& p) {
            into.queue += p.queue;
            into.backlog += p.backlog;
            into.accepted += p.accepted;
            into.drops += p.drops;
            into.synack_retrans += p.synack_retrans;
            for (const auto& [reason, n] : p.syn_drops) {
                into.syn_drops[reason] += n;
            }
        });
    const std::string ns = std::to_string(netns);
    auto per_port = [&](std::string name, std::string help, MetricKind kind, auto value) {
        MetricFamilyData f = family(std::move(name), std::move(help), kind);
        for (const auto& [port, p] : ports) {
            f.samples.push_back(
                {{{"netns", ns}, {"port", port}}, static_cast<double>(value(p)), nullptr});
        }
        return f;
    };
    using K = MetricKind;
    std::vector<MetricFamilyData> out;
    out.push_back(per_port("tcpscope_listen_queue", "Accept queue of the port's listeners",
                           K::Gauge, [](const PortTotals& p) { return p.queue; }));
    out.push_back(per_port("tcpscope_listen_backlog",
                           "Backlog of the port's listeners, as the kernel capped it", K::Gauge,
                           [](const PortTotals& p) { return p.backlog; }));
    out.push_back(per_port("tcpscope_listen_accepted_total",
                           "Connections accept() returned from the port's listeners", K::Counter,
                           [](const PortTotals& p) { return p.accepted; }));
    out.push_back(per_port("tcpscope_listen_drops_total",
                           "SYNs and handshake ACKs the port's listeners dropped (their sk_drops: "
                           "accept or SYN queue full, no memory)",
                           K::Counter, [](const PortTotals& p) { return p.drops; }));
    out.push_back(per_port("tcpscope_listen_synack_retransmits_total",
                           "SYN-ACKs the port's listeners retransmitted", K::Counter,
                           [](const PortTotals& p) { return p.synack_retrans; }));
    MetricFamilyData syn_drops =
        family("tcpscope_listen_syn_drops_total",
               "SYNs to the port's listeners the kernel dropped, by its drop reason", K::Counter);
    for (const auto& [port, p] : ports) {
        for (const auto& [reason, n] : p.syn_drops) {
            syn_drops.samples.push_back({{{"netns", ns}, {"port", port}, {"reason", reason}},
                                         static_cast<double>(n),
                                         nullptr});
        }
    }
    out.push_back(std::move(syn_drops));

    std::map<std::uint16_t, std::uint64_t> refused_by_port;
    for (const UnlistenedDrop& d : totals.unlistened) {
        if (d.reason == "NO_SOCKET") {
            refused_by_port[d.port] += d.count;
        }
    }
    MetricFamilyData refused =
        family("tcpscope_refused_syns_total",
               "SYNs to a port with no listener, answered with a reset (top N ports, the rest "
               "\"other\")",
               K::Counter);
    for (const auto& [port, n] : top_n_or_other(
             refused_by_port, top_n, [](std::uint64_t n) { return n; }, port_label,
             [](std::uint64_t&into, std::uint64_t n) { into += n; })) {
        refused.samples.push_back(
            {{{"netns", ns}, {"port", port}}, static_cast<double>(n), nullptr});
    }
    out.push_back(std::move(refused));

    MetricFamilyData counters =
        family("tcpscope_netns_tcp_counter_total",
               "The namespace's own TCP counters beside the per-listener ones (/proc/net/netstat, "
               "/proc/net/snmp) since serve started",
               K::Counter);
    for (const auto& [name, n] : totals.namespace_counters) {
        counters.samples.push_back(
            {{{"netns", ns}, {"counter", name}}, static_cast<double>(n), nullptr});
    }
    out.push_back(std::move(counters));
    return out;
}

}  // namespace tcpscope
