// The figures `tcpscope serve` exports, kept from the same core code the CLI
// views use: transitions as `trace` sees them, connect() outcomes classified
// as `synfail` does, TIME_WAIT births and ends as `timewait` infers them. Plain
// data in, a plain snapshot out; exporting it (prometheus-cpp) is a thin
// adapter elsewhere. Label sets are bounded: states, reasons, namespaces and
// the top N destinations, never sockets or port pairs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/socket_table.h"
#include "core/timewait_stats.h"
#include "core/transition.h"

namespace tcpscope {

enum class MetricKind { Counter, Gauge, Histogram };

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// Observations in seconds, counted per upper bound (not cumulative); the
// last count is the +Inf bucket.
class SecondsHistogram {
  public:
    explicit SecondsHistogram(std::vector<double> bounds);
    void observe_ns(std::uint64_t ns);

    const std::vector<double>& bounds() const { return bounds_; }
    const std::vector<std::uint64_t>& counts() const { return counts_; }
    std::uint64_t count() const { return count_; }
    double sum() const { return sum_; }

  private:
    std::vector<double> bounds_;
    std::vector<std::uint64_t> counts_;
    std::uint64_t count_ = 0;
    double sum_ = 0;
};

struct MetricSample {
    MetricLabels labels;
    double value = 0;                             // counters and gauges
    const SecondsHistogram* histogram = nullptr;  // histograms; valid while the model lives
};

struct MetricFamilyData {
    std::string name;
    std::string help;
    MetricKind kind = MetricKind::Counter;
    std::vector<MetricSample> samples;
};

// What the event source and the kernel lost (the CLI fills it from the loader).
struct EventCounts {
    std::uint64_t events = 0;
    std::uint64_t ringbuf_full = 0;
    std::uint64_t unrecovered = 0;  // recursion misses the backup program did not recover
    std::uint64_t malformed = 0;
    std::uint64_t found_by_listing = 0;  // transitions only reconciliation showed missing
    std::uint64_t recovered = 0;
};

class CgroupNames;

class MetricsModel {
  public:
    // top_n: destinations with a port-range pressure gauge, and units with
    // their own failure series. cgroups names the owners' units (null: all
    // "unknown"); snapshot() asks it, so it must outlive the model.
    explicit MetricsModel(std::size_t top_n, CgroupNames* cgroups = nullptr);

    // One transition read from the kernel, and what applying it to the live
    // table did (an inferred TIME_WAIT birth counts as a transition too).
    void observe(const Transition& t, const SocketTable::Applied& applied);
    // A reconciliation's corrections: missed births, TIME_WAIT ends.
    void observe_reconcile(const ReconcileResult& r);
    // TIME_WAIT entries the table expired (namespaces no listing covers).
    void observe_expired(const std::vector<TimewaitEnd>& ended);

    // Gauges, refreshed on the daemon's tick.
    void set_table(const SocketTable& table);
    void set_events(const EventCounts& counts) { events_ = counts; }
    // Ephemeral ports per destination (port_pressure()), of which the top N are kept.
    void set_pressure(const std::vector<PortPressure>& pressure);
    // The reconciled namespace's TIME_WAIT limits (an unreadable one: no sample).
    void set_timewait_limits(const TimewaitLimits& limits) { limits_ = limits; }

    // serve --listeners: families made from listen's totals, added as they are.
    void set_listen_families(std::vector<MetricFamilyData> families) {
        listen_ = std::move(families);
    }

    std::vector<MetricFamilyData> snapshot() const;

  private:
    void transition(const Transition& t);
    MetricFamilyData failures_by_unit() const;
    MetricFamilyData failures_by_destination() const;
    void timewait_end(const TimewaitEnd& end);

    std::size_t top_n_;
    std::map<std::pair<TcpState, TcpState>, std::uint64_t> transitions_;
    std::map<TcpState, SecondsHistogram> time_in_state_;
    std::map<std::string, std::uint64_t> failures_;  // reason -> count
    // Failures by the owner's cgroup id (0 unknown) and reason; named and
    // cut to the top N units (the rest "other") at each snapshot.
    std::map<std::pair<std::uint64_t, std::string>, std::uint64_t> failures_by_cgroup_;
    CgroupNames* cgroups_;
    // Failures by destination ("10.0.0.2:80") and reason, for at most
    // kMaxDestinations destinations (the rest "other"); cut to the top N at
    // each snapshot.
    static constexpr std::size_t kMaxDestinations = 4096;
    std::map<std::string, std::map<std::string, std::uint64_t>> failures_by_destination_;
    std::uint64_t successes_ = 0;
    std::map<std::string, SecondsHistogram> syn_sent_;  // outcome -> histogram
    std::uint64_t tw_births_ = 0;
    std::uint64_t tw_deaths_ = 0;
    std::uint64_t tw_early_deaths_ = 0;
    std::array<std::uint64_t, 3> corrections_{};  // added, removed, fixed
    std::uint64_t reconciliations_ = 0;

    std::map<std::pair<std::uint32_t, TcpState>, std::size_t> sockets_;
    std::size_t table_size_ = 0;
    std::size_t table_capacity_ = 0;
    std::size_t timewait_live_ = 0;
    TableCounters table_counters_;
    EventCounts events_;
    std::vector<PortPressure> pressure_;
    TimewaitLimits limits_;
    std::vector<MetricFamilyData> listen_;
};

}  // namespace tcpscope
