// Connection attempts per destination (daddr:dport): how many ended, how many
// succeeded, failures by reason, and the time spent in SYN_SENT. Attempts are
// counted at their outcome; connect() failing before any SYN counts too.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/destination.h"
#include "core/duration_histogram.h"
#include "core/transition.h"

namespace tcpscope {

struct DestinationStats {
    std::uint64_t attempts = 0;
    std::uint64_t successes = 0;
    std::map<std::string, std::uint64_t> failures;  // reason -> count
    DurationHistogram syn_sent;                     // every outcome whose time is known

    std::uint64_t failed() const { return attempts - successes; }
};

class SynfailSummary {
  public:
    // Counts t if it is a connect() outcome; anything else is ignored.
    void add(const Transition& t);

    struct Row {
        Destination destination;
        const DestinationStats* stats;
    };
    // Most failures first, then most attempts, then by address and port.
    std::vector<Row> rows() const;
    bool empty() const { return by_destination_.empty(); }
    void clear() { by_destination_.clear(); }

  private:
    std::map<Destination, DestinationStats> by_destination_;
};

}  // namespace tcpscope
