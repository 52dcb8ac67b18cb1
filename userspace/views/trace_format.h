// `tcpscope trace` output: one line per transition, as text or JSON lines.
#pragma once

#include <string>

#include "core/transition.h"
#include "core/wall_clock.h"

namespace tcpscope {

class CgroupNames;

class TraceFormatter {
  public:
    // cgroups: names the owners' cgroups in JSON (null: those keys are null).
    explicit TraceFormatter(WallClock clock, CgroupNames* cgroups = nullptr)
        : clock_(clock), cgroups_(cgroups) {}

    // With a UNIT column after COMM (--cgroup-column): the owner's systemd
    // unit, else its cgroup path, else "-".
    void show_cgroup_column() { cgroup_column_ = true; }

    std::string text_header() const;
    // TIME PID COMM [UNIT] LADDR:LPORT RADDR:RPORT OLD -> NEW MS [ERROR]; "-" for unknowns.
    std::string text_line(const Transition& t) const;
    // Keys: ts ts_ns cookie netns pid comm cgroup unit container family saddr
    // sport daddr dport old new
    // dur_us error, plus "inferred": true only on transitions userspace inferred.
    std::string json_line(const Transition& t) const;

  private:
    WallClock clock_;
    CgroupNames* cgroups_;
    bool cgroup_column_ = false;
};

// "ECONNREFUSED" style name of a transition's error, or empty when it has none.
std::string error_name_of(const Transition& t);

}  // namespace tcpscope
