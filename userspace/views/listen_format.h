// `tcpscope listen` output: per interval a block of text (a row per listening
// socket, the refused ports, the namespace's counters), or one JSON object
// (and a last one with "final": true).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/listen_report.h"
#include "core/wall_clock.h"

namespace tcpscope {

class ProgramLookup;

class ListenFormatter {
  public:
    // programs: names a listener's owner from /proc where the live table has
    // none (a listener from before the run); null: unknown.
    // netns: the namespace whose listeners the reports show.
    ListenFormatter(WallClock clock, std::uint32_t netns, ProgramLookup* programs = nullptr)
        : clock_(clock), netns_(netns), programs_(programs) {}

    std::vector<std::string> text_lines(const ListenReport& r) const;
    // Keys: ts interval_s netns listeners[{addr port pid comm backlog queue
    // queue_peak accepted accept_wait_p50_us accept_wait_p99_us drops
    // synack_retrans local_client_syn_retrans syn_drops{REASON: n} closed}] unlistened[{addr port
    // reason count}] syn_drops_known namespace{Group.Name: n} final.
    std::string json_line(const ListenReport& r) const;

  private:
    std::string owner_text(const ListenerRow& row) const;

    WallClock clock_;
    std::uint32_t netns_;
    ProgramLookup* programs_;
};

}  // namespace tcpscope
