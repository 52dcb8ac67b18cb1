// Cgroup ids to paths on this host: the cgroup2 mount (from mountinfo, so a
// hybrid /sys/fs/cgroup/unified works too) walked once, each directory's
// inode being its cgroup id, and walked again on a miss (at most once a
// second: an id first seen is usually a cgroup made since).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/cgroup_name.h"

namespace tcpscope {

class CgroupPaths : public CgroupNames {
  public:
    CgroupPaths();
    const CgroupName* find(std::uint64_t id) override;
    // The cgroup2 mount point, or empty where none is mounted.
    const std::optional<std::string>& root() const { return root_; }

  private:
    void scan();

    std::optional<std::string> root_;
    std::unordered_map<std::uint64_t, CgroupName> names_;
    std::chrono::steady_clock::time_point last_scan_{};
};

// A --cgroup argument as a directory: itself when it is one, else the path
// under this host's cgroup2 mount. Throws std::invalid_argument (exit 2).
std::string cgroup_directory(const std::string& spec);

// The mount point of the cgroup2 hierarchy in mountinfo's text, if any.
std::optional<std::string> cgroup2_mount(const std::string& mountinfo);

}  // namespace tcpscope
