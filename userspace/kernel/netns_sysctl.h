// The TIME_WAIT limits of a network namespace, from /proc/sys/net files
// opened inside it (see NetnsFiles).
#pragma once

#include <string>

#include "kernel/netns_files.h"

#include "core/timewait_stats.h"

namespace tcpscope {

class TimewaitSysctls {
  public:
    // netns_path: e.g. /run/netns/NAME or /proc/self/ns/net. Throws
    // std::runtime_error when the namespace cannot be entered.
    explicit TimewaitSysctls(const std::string& netns_path);
    // The namespace tcpscope runs in: no setns(), so no capability needed.
    TimewaitSysctls();

    // Current values; a limit that cannot be read is left empty.
    TimewaitLimits read() const;

  private:
    NetnsFiles files_;
};

}  // namespace tcpscope
