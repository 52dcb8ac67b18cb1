// `tcpscope timewait` aggregation: births and deaths of TIME_WAIT sockets per
// interval and in total, top endpoints and closers, remaining lifetimes, and
// pressure on the kernel's limits. Plain data in, a report out.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/destination.h"
#include "core/listed_socket.h"
#include "core/socket_table.h"

namespace tcpscope {

// The namespace's limits, as its sysctls say (empty when unreadable).
struct TimewaitLimits {
    std::optional<std::uint64_t> max_buckets;                           // tcp_max_tw_buckets
    std::optional<std::pair<std::uint16_t, std::uint16_t>> port_range;  // ip_local_port_range
};

// Who closed first: the owner (pid 0 when unknown) and its side.
struct Closer {
    std::uint32_t pid = 0;
    TaskComm comm;
    SocketRole role = SocketRole::Unknown;
    std::uint64_t cgroup_id = 0;  // the owner's cgroup, 0 unknown
    bool operator==(const Closer&) const = default;
};
struct CloserHash {
    std::size_t operator()(const Closer& c) const;
};

struct EndpointCount {
    IpAddress addr;
    std::uint16_t port = 0;
    std::uint64_t births = 0;
};

struct PortCount {
    std::uint16_t port = 0;
    std::uint64_t births = 0;
};

struct CloserCount {
    std::optional<std::uint32_t> pid;  // unknown for sockets that predate the tracer
    std::string comm;
    SocketRole side = SocketRole::Unknown;
    std::uint64_t count = 0;
    std::uint64_t cgroup_id = 0;  // the closer's cgroup, 0 unknown
};

// Ephemeral ports tied up towards one destination.
struct PortPressure {
    IpAddress addr;
    std::uint16_t port = 0;
    std::uint64_t timewait = 0;
    std::uint64_t other = 0;  // any other state
    double pct = 0;           // of the ephemeral range
};

struct TimewaitReport {
    bool final = false;
    std::uint64_t ts_ns = 0;  // CLOCK_MONOTONIC, end of the interval
    double interval_s = 0;
    std::uint64_t births = 0;
    std::uint64_t deaths = 0;
    std::uint64_t early_deaths = 0;
    std::uint64_t corrections = 0;  // missed births and early deaths found by listings
    double births_per_s = 0;
    double deaths_per_s = 0;
    std::uint64_t live = 0;
    std::uint64_t client_side = 0;  // births on sockets that connect()ed
    std::uint64_t server_side = 0;  // births on accept()ed sockets
    std::vector<EndpointCount> top_remote;
    std::vector<PortCount> top_lport;
    std::vector<CloserCount> closers;
    std::optional<std::uint64_t> remaining_p50_ms;
    std::optional<std::uint64_t> remaining_max_ms;
    TimewaitLimits limits;
    std::optional<double> buckets_pct;
    std::vector<PortPressure> pressure;  // top destinations
    std::vector<std::string> warnings;
    // How old the last kernel listing is: corrections (early deaths, missed
    // births) and other sockets' states are as of then.
    double listing_age_s = 0;
};

// Remaining TIME_WAIT at now_ns of the table's timewait sockets: {p50, max}
// in ms. Expiries are the kernel's once a listing has confirmed them, else
// 60 s after the inferred birth.
std::optional<std::pair<std::uint64_t, std::uint64_t>> remaining_percentiles(
    const SocketTable& table, std::uint64_t now_ns);

// Ephemeral ports in use per destination, most used first: the table's
// sockets, TIME_WAIT as the stream and listings keep it, other states as of
// the last listing.
std::vector<PortPressure> port_pressure(const SocketTable& table,
                                        std::pair<std::uint16_t, std::uint16_t> range);

class TimewaitStats {
  public:
    TimewaitStats(std::size_t top_n, double warn_pct) : top_n_(top_n), warn_pct_(warn_pct) {}

    void birth(const SocketEntry& entry);
    void death(const TimewaitEnd& end);
    void missed_births(std::uint64_t n);

    // Closes the interval that ended at now_ns; `table` holds the target
    // namespace's sockets (live counts, lifetimes and pressure come from it).
    TimewaitReport interval_report(std::uint64_t now_ns, double interval_s,
                                   const SocketTable& table, const TimewaitLimits& limits);
    // Totals since the start; births and deaths are totals.
    TimewaitReport final_report(std::uint64_t now_ns, double elapsed_s, const SocketTable& table,
                                const TimewaitLimits& limits);

  private:
    // Births come at connection rate (tens of thousands a second): each is
    // counted once, in the interval, with hashed maps and a flat per-port
    // array; the interval is folded into the totals when it closes.
    struct Counts {
        std::uint64_t births = 0;
        std::uint64_t deaths = 0;
        std::uint64_t early_deaths = 0;
        std::uint64_t corrections = 0;
        std::uint64_t client_side = 0;
        std::uint64_t server_side = 0;
        std::unordered_map<Destination, std::uint64_t, DestinationHash> remote;
        std::vector<std::uint32_t> lport;  // by port; sized on the first birth
        std::unordered_map<Closer, std::uint64_t, CloserHash> closers;

        void add(const Counts& other);
        void clear();
    };

    TimewaitReport report(const Counts& c, std::uint64_t now_ns, double span_s,
                          const SocketTable& table, const TimewaitLimits& limits) const;

    std::size_t top_n_;
    double warn_pct_;
    Counts interval_;
    Counts total_;
};

}  // namespace tcpscope
