#include "core/synfail_summary.h"

#include <algorithm>
#include <tuple>

#include "core/connect_outcome.h"

namespace tcpscope {

void SynfailSummary::add(const Transition& t) {
    ConnectOutcome outcome = connect_outcome(t);
    if (outcome == ConnectOutcome::None) {
        return;
    }
    DestinationStats& stats = by_destination_[Destination{t.daddr, t.dport}];
    ++stats.attempts;
    if (outcome == ConnectOutcome::Succeeded) {
        ++stats.successes;
    } else {
        ++stats.failures[failure_reason(t)];
    }
    if (t.dur_ns && !t.connect_sync) {
        stats.syn_sent.add(*t.dur_ns);
    }
}

std::vector<SynfailSummary::Row> SynfailSummary::rows() const {
    std::vector<Row> out;
    out.reserve(by_destination_.size());
    for (const auto& [destination, stats] : by_destination_) {
        out.push_back({destination, &stats});
    }
    // Stable: equal counts keep the map's address order.
    std::stable_sort(out.begin(), out.end(), [](const Row& a, const Row& b) {
        return std::make_pair(a.stats->failed(), a.stats->attempts) >
               std::make_pair(b.stats->failed(), b.stats->attempts);
    });
    return out;
}

}  // namespace tcpscope
