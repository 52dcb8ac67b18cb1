// `tcpscope trace` output: one line per transition, as text or JSON lines.
#pragma once

#include <string>

#include "core/transition.h"
#include "core/wall_clock.h"

namespace tcpscope {

class TraceFormatter {
  public:
    explicit TraceFormatter(WallClock clock) : clock_(clock) {}

    static std::string text_header();
    // TIME PID COMM LADDR:LPORT RADDR:RPORT OLD -> NEW MS [ERROR]; "-" for unknowns.
    std::string text_line(const Transition& t) const;
    // Keys: ts ts_ns cookie netns pid comm family saddr sport daddr dport old new
    // dur_us error, plus "inferred": true only on transitions userspace inferred.
    std::string json_line(const Transition& t) const;

  private:
    WallClock clock_;
};

// "ECONNREFUSED" style name of a transition's error, or empty when it has none.
std::string error_name_of(const Transition& t);

}  // namespace tcpscope
