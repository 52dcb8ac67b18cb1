// `tcpscope timewait` output: a block of text lines per interval, or one
// JSON object per interval (and a last one with "final": true).
#pragma once

#include <string>
#include <vector>

#include "core/timewait_stats.h"
#include "core/wall_clock.h"

namespace tcpscope {

class CgroupNames;
struct CgroupName;

class TimewaitFormatter {
  public:
    // cgroups: names each closer's cgroup (null: unknown).
    explicit TimewaitFormatter(WallClock clock, CgroupNames* cgroups = nullptr)
        : clock_(clock), cgroups_(cgroups) {}

    std::vector<std::string> text_lines(const TimewaitReport& r) const;
    // Keys: ts interval_s births births_per_s deaths deaths_per_s early_deaths
    // corrections live side top_remote top_lport closers remaining_ms
    // tw_buckets_max tw_buckets_pct port_range port_pressure warnings [final].
    std::string json_line(const TimewaitReport& r) const;

  private:
    const CgroupName* cgroup_of(const CloserCount& c) const;

    WallClock clock_;
    CgroupNames* cgroups_;
};

// "client", "server" or "unknown".
const char* side_name(SocketRole role);

}  // namespace tcpscope
