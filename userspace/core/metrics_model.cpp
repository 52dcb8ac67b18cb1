#include "core/metrics_model.h"

#include <algorithm>

#include "core/cgroup_name.h"

#include <algorithm>

#include "core/address.h"
#include "core/connect_outcome.h"
#include "core/top_n.h"

namespace tcpscope {
namespace {

// SYN_SENT: sub-millisecond on a LAN up to the kernel's SYN retry schedule
// (1, 3, 7, 15, 31, 63, 127 s with the default six retries).
const std::vector<double> kSynSentBounds = {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5,
                                            1,      3,      7,     15,    31,   63,   127};
// Any state: microseconds (a refused SYN) to hours (a long-lived connection).
const std::vector<double> kStateBounds = {0.0001, 0.001, 0.01, 0.1, 1, 10, 30, 60, 300, 900, 3600};

std::string label(TcpState s) {
    return std::string(state_name(s));
}

double as_value(std::uint64_t v) {
    return static_cast<double>(v);
}

MetricFamilyData family(std::string name, std::string help, MetricKind kind) {
    return MetricFamilyData{std::move(name), std::move(help), kind, {}};
}

MetricFamilyData single(std::string name, std::string help, MetricKind kind, double value) {
    MetricFamilyData f = family(std::move(name), std::move(help), kind);
    f.samples.push_back({{}, value, nullptr});
    return f;
}

}  // namespace

SecondsHistogram::SecondsHistogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void SecondsHistogram::observe_ns(std::uint64_t ns) {
    const double s = static_cast<double>(ns) / 1e9;
    // Prometheus buckets are upper-inclusive (le).
    auto it = std::lower_bound(bounds_.begin(), bounds_.end(), s);
    ++counts_[static_cast<std::size_t>(it - bounds_.begin())];
    ++count_;
    sum_ += s;
}

MetricsModel::MetricsModel(std::size_t top_n, CgroupNames* cgroups)
    : top_n_(top_n), cgroups_(cgroups) {}

void MetricsModel::transition(const Transition& t) {
    ++transitions_[{t.old_state, t.new_state}];
    if (t.dur_ns) {
        time_in_state_.try_emplace(t.old_state, kStateBounds).first->second.observe_ns(*t.dur_ns);
    }
}

void MetricsModel::observe(const Transition& t, const SocketTable::Applied& applied) {
    ConnectOutcome outcome = connect_outcome(t);
    if (!t.connect_sync) {
        transition(t);
    }
    if (outcome != ConnectOutcome::None) {
        const bool failed = outcome == ConnectOutcome::Failed;
        if (failed) {
            const std::string reason = failure_reason(t);
            ++failures_[reason];
            ++failures_by_cgroup_[{t.owner ? t.owner->cgroup_id : 0, reason}];
            // Bounded: past kMaxDestinations new destinations count as "other".
            std::string destination = format_endpoint(t.daddr, t.dport);
            if (failures_by_destination_.size() >= kMaxDestinations &&
                !failures_by_destination_.contains(destination)) {
                destination = "other";
            }
            ++failures_by_destination_[destination][reason];
        } else {
            ++successes_;
        }
        if (t.dur_ns && !t.connect_sync) {
            syn_sent_.try_emplace(failed ? "failed" : "succeeded", kSynSentBounds)
                .first->second.observe_ns(*t.dur_ns);
        }
    }
    if (applied.timewait_born) {
        transition(*applied.timewait_born);
        ++tw_births_;
    }
}

void MetricsModel::timewait_end(const TimewaitEnd& end) {
    transition(timewait_end_transition(end));
    ++tw_deaths_;
    tw_early_deaths_ += end.early ? 1 : 0;
}

void MetricsModel::observe_reconcile(const ReconcileResult& r) {
    ++reconciliations_;
    corrections_[0] += r.added;
    corrections_[1] += r.removed;
    corrections_[2] += r.fixed;
    tw_births_ += r.timewait_missed.size();
    for (const TimewaitEnd& end : r.timewait_ended) {
        timewait_end(end);
    }
}

void MetricsModel::observe_expired(const std::vector<TimewaitEnd>& ended) {
    for (const TimewaitEnd& end : ended) {
        timewait_end(end);
    }
}

void MetricsModel::set_table(const SocketTable& table) {
    sockets_ = table.count_by_netns_state();
    table_size_ = table.size();
    table_capacity_ = table.capacity();
    table_counters_ = table.counters();
    timewait_live_ = table.count_in_state(TcpState::TimeWait);
}

void MetricsModel::set_pressure(const std::vector<PortPressure>& pressure) {
    pressure_.assign(pressure.begin(), pressure.begin() + static_cast<std::ptrdiff_t>(
                                                              std::min(top_n_, pressure.size())));
}

namespace {

using CountsByReason = std::map<std::string, std::uint64_t>;

// The top_n keys by their total failures keep their name, the rest are "other".
std::map<std::string, CountsByReason> top_by_failures(
    const std::map<std::string, CountsByReason>& by_key, std::size_t top_n) {
    return top_n_or_other(
        by_key, top_n,
        [](const CountsByReason& reasons) {
            std::uint64_t total = 0;
            for (const auto& [reason, n] : reasons) {
                total += n;
            }
            return total;
        },
        [](const std::string& key) { return key; },
        [](CountsByReason& into, const CountsByReason& reasons) {
            for (const auto& [reason, n] : reasons) {
                into[reason] += n;
            }
        });
}

MetricFamilyData by_key_and_reason(std::string name, std::string help, const std::string& label,
                                   const std::map<std::string, CountsByReason>& shown) {
    MetricFamilyData family_data = family(std::move(name), std::move(help), MetricKind::Counter);
    for (const auto& [key, reasons] : shown) {
        for (const auto& [reason, n] : reasons) {
            family_data.samples.push_back(
                {{{label, key}, {"reason", reason}}, as_value(n), nullptr});
        }
    }
    return family_data;
}

}  // namespace

// The owner's unit (else its cgroup path, else "unknown") per failure.
MetricFamilyData MetricsModel::failures_by_unit() const {
    std::map<std::string, CountsByReason> by_unit;
    for (const auto& [key, n] : failures_by_cgroup_) {
        const CgroupName* name = cgroups_ != nullptr ? cgroups_->find(key.first) : nullptr;
        by_unit[name == nullptr ? "unknown" : name->label()][key.second] += n;
    }
    return by_key_and_reason(
        "tcpscope_connect_failures_by_unit_total",
        "Failed connection attempts by the connecting process's systemd unit (else its cgroup "
        "path; top N, the rest \"other\", owners not known \"unknown\") and reason",
        "unit", top_by_failures(by_unit, top_n_));
}

MetricFamilyData MetricsModel::failures_by_destination() const {
    return by_key_and_reason(
        "tcpscope_connect_failures_by_destination_total",
        "Failed connection attempts by destination (address:port; top N, the rest \"other\") "
        "and reason",
        "destination", top_by_failures(failures_by_destination_, top_n_));
}

std::vector<MetricFamilyData> MetricsModel::snapshot() const {
    using K = MetricKind;
    std::vector<MetricFamilyData> out;

    MetricFamilyData transitions =
        family("tcpscope_transitions_total",
               "TCP state transitions by old and new state (inferred TIME_WAIT ones included)",
               K::Counter);
    for (const auto& [states, n] : transitions_) {
        transitions.samples.push_back(
            {{{"old_state", label(states.first)}, {"new_state", label(states.second)}},
             as_value(n),
             nullptr});
    }
    out.push_back(std::move(transitions));

    MetricFamilyData in_state =
        family("tcpscope_state_duration_seconds",
               "Time sockets spent in a state, observed as they left it", K::Histogram);
    for (const auto& [state, h] : time_in_state_) {
        in_state.samples.push_back({{{"state", label(state)}}, 0, &h});
    }
    out.push_back(std::move(in_state));

    MetricFamilyData sockets = family(
        "tcpscope_sockets", "Sockets in the live table by network namespace and state", K::Gauge);
    for (const auto& [key, n] : sockets_) {
        sockets.samples.push_back(
            {{{"netns", std::to_string(key.first)}, {"state", label(key.second)}},
             as_value(n),
             nullptr});
    }
    out.push_back(std::move(sockets));

    MetricFamilyData failures = family("tcpscope_connect_failures_total",
                                       "Failed connection attempts by reason, as synfail "
                                       "classifies them (errno name or CANCELLED)",
                                       K::Counter);
    for (const auto& [reason, n] : failures_) {
        failures.samples.push_back({{{"reason", reason}}, as_value(n), nullptr});
    }
    out.push_back(std::move(failures));
    out.push_back(failures_by_unit());
    out.push_back(failures_by_destination());
    out.push_back(single("tcpscope_connect_successes_total",
                         "Connection attempts that reached ESTABLISHED", K::Counter,
                         as_value(successes_)));

    MetricFamilyData syn_sent =
        family("tcpscope_syn_sent_seconds",
               "Time connection attempts spent in SYN_SENT, by outcome", K::Histogram);
    for (const auto& [outcome, h] : syn_sent_) {
        syn_sent.samples.push_back({{{"outcome", outcome}}, 0, &h});
    }
    out.push_back(std::move(syn_sent));

    out.push_back(single("tcpscope_timewait_births_total",
                         "TIME_WAIT sockets born (inferred from FIN closes, or found by "
                         "reconciliation)",
                         K::Counter, as_value(tw_births_)));
    out.push_back(single("tcpscope_timewait_deaths_total",
                         "TIME_WAIT sockets that ended (expired or early)", K::Counter,
                         as_value(tw_deaths_)));
    out.push_back(single("tcpscope_timewait_early_deaths_total",
                         "TIME_WAIT sockets that ended well before their expiry (port reuse, "
                         "reset)",
                         K::Counter, as_value(tw_early_deaths_)));
    out.push_back(single("tcpscope_timewait_sockets", "TIME_WAIT sockets in the live table",
                         K::Gauge, as_value(timewait_live_)));

    MetricFamilyData pressure =
        family("tcpscope_port_range_usage_ratio",
               "Share of the ephemeral port range in use towards a destination (top N "
               "destinations of the reconciled namespace)",
               K::Gauge);
    for (const PortPressure& p : pressure_) {
        pressure.samples.push_back(
            {{{"daddr", to_string(p.addr)}, {"dport", std::to_string(p.port)}},
             p.pct / 100.0,
             nullptr});
    }
    out.push_back(std::move(pressure));
    MetricFamilyData max_buckets =
        family("tcpscope_timewait_max_buckets",
               "tcp_max_tw_buckets of the reconciled namespace: TIME_WAIT sockets beyond it are "
               "not made (the close skips TIME_WAIT)",
               K::Gauge);
    if (limits_.max_buckets) {
        max_buckets.samples.push_back({{}, as_value(*limits_.max_buckets), nullptr});
    }
    out.push_back(std::move(max_buckets));

    out.push_back(single("tcpscope_events_total", "Transition records read from the kernel",
                         K::Counter, as_value(events_.events)));
    MetricFamilyData lost =
        family("tcpscope_events_lost_total", "Events lost, by cause", K::Counter);
    lost.samples.push_back({{{"cause", "ringbuf_full"}}, as_value(events_.ringbuf_full), nullptr});
    lost.samples.push_back({{{"cause", "recursion"}}, as_value(events_.unrecovered), nullptr});
    lost.samples.push_back({{{"cause", "malformed"}}, as_value(events_.malformed), nullptr});
    lost.samples.push_back(
        {{{"cause", "found_by_listing"}}, as_value(events_.found_by_listing), nullptr});
    out.push_back(std::move(lost));
    out.push_back(single("tcpscope_events_recovered_total",
                         "Transitions the kernel skipped in the main program and the backup "
                         "program recovered",
                         K::Counter, as_value(events_.recovered)));

    out.push_back(single("tcpscope_table_sockets", "Sockets held by the live table", K::Gauge,
                         as_value(table_size_)));
    out.push_back(single("tcpscope_table_capacity_sockets",
                         "Sockets the live table can hold (--max-sockets)", K::Gauge,
                         as_value(table_capacity_)));
    out.push_back(single("tcpscope_table_evictions_total",
                         "Sockets evicted from the full live table", K::Counter,
                         as_value(table_counters_.evictions)));
    out.push_back(single("tcpscope_table_history_gaps_total",
                         "Transitions whose old state differed from the table's (lost history)",
                         K::Counter, as_value(table_counters_.gaps)));

    MetricFamilyData corrections =
        family("tcpscope_reconcile_corrections_total",
               "Live-table entries reconciliation against the kernel's listing corrected, by kind",
               K::Counter);
    const char* kinds[] = {"added", "removed", "fixed"};
    for (std::size_t i = 0; i < corrections_.size(); ++i) {
        corrections.samples.push_back({{{"kind", kinds[i]}}, as_value(corrections_[i]), nullptr});
    }
    out.push_back(std::move(corrections));
    out.push_back(single("tcpscope_reconciliations_total",
                         "Reconciliations of the live table against the kernel", K::Counter,
                         as_value(reconciliations_)));
    out.insert(out.end(), listen_.begin(), listen_.end());
    return out;
}

}  // namespace tcpscope
