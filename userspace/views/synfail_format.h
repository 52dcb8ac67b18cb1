// `tcpscope synfail` output: one line per failed connection attempt, and the
// per-destination summary, as text or JSON lines.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/listed_socket.h"
#include "core/synfail_summary.h"
#include "core/transition.h"
#include "core/wall_clock.h"

namespace tcpscope {

// Which part of the run a summary covers.
struct SummaryScope {
    std::string_view kind;    // "interval" (since the last one) or "total" (the whole run)
    std::uint64_t ts_ns = 0;  // CLOCK_MONOTONIC at the end of the period
    double seconds = 0;       // length of the period
};

class CgroupNames;

class SynfailFormatter {
  public:
    // cgroups: names the owners' cgroups in JSON (null: those keys are null).
    explicit SynfailFormatter(WallClock clock, CgroupNames* cgroups = nullptr)
        : clock_(clock), cgroups_(cgroups) {}

    static std::string text_header();
    // TIME PID COMM LADDR:LPORT RADDR:RPORT REASON SYN_MS RETRANS [sync]
    // [local listener ADDR:PORT queue Q/BACKLOG drops N]
    std::string text_line(const Transition& t, const ListedSocket* local_listener = nullptr) const;
    // Keys: ts ts_ns cookie netns pid comm cgroup unit container family saddr
    // sport daddr dport reason syn_sent_us syn_retrans sync local_listener
    // ({addr port backlog queue drops}: the listener of this host the attempt
    // was aimed at, as listed when it failed; null: none known).
    std::string json_line(const Transition& t, const ListedSocket* local_listener = nullptr) const;

    // A title line, a header and one line per destination.
    std::vector<std::string> summary_text(const SynfailSummary& summary,
                                          const SummaryScope& scope) const;
    // {"summary":KIND,"ts":..,"ts_ns":..,"seconds":..,"destinations":[{"daddr","dport",
    //  "attempts","successes","failures":{REASON:N},"syn_sent_p50_us","syn_sent_p99_us"}]}
    std::string summary_json(const SynfailSummary& summary, const SummaryScope& scope) const;

  private:
    WallClock clock_;
    CgroupNames* cgroups_;
};

}  // namespace tcpscope
