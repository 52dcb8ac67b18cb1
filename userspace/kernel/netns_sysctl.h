// The TIME_WAIT limits of a network namespace. /proc/sys/net shows the
// namespace of the task that opens a file, so the files are opened once,
// inside the target namespace, by a short-lived thread; reads through those
// fds keep answering for that namespace.
#pragma once

#include <string>

#include "core/timewait_stats.h"

namespace tcpscope {

class TimewaitSysctls {
  public:
    // netns_path: e.g. /run/netns/NAME or /proc/self/ns/net. Throws
    // std::runtime_error when the namespace cannot be entered.
    explicit TimewaitSysctls(const std::string& netns_path);
    // The namespace tcpscope runs in: no setns(), so no capability needed.
    TimewaitSysctls();
    ~TimewaitSysctls();
    TimewaitSysctls(const TimewaitSysctls&) = delete;
    TimewaitSysctls& operator=(const TimewaitSysctls&) = delete;

    // Current values; a limit that cannot be read is left empty.
    TimewaitLimits read() const;

  private:
    int max_buckets_fd_ = -1;
    int port_range_fd_ = -1;
};

}  // namespace tcpscope
