// What a socket owner's cgroup (v2) is called: its path under the cgroup2
// mount, and the systemd unit and container id that path shows.
#pragma once

#include <cstdint>
#include <string>

namespace tcpscope {

struct CgroupName {
    std::string path;       // "/system.slice/nginx.service"; "/" is the root
    std::string unit;       // innermost *.service or *.scope component; empty: none
    std::string container;  // a container id the path shows; empty: none

    // What a one-word column shows: the unit where the path names one.
    const std::string& label() const { return unit.empty() ? path : unit; }
};

// Unit: the last path component ending in .service or .scope. Container:
// the hex id of a component `docker-ID.scope`, `cri-containerd-ID.scope`,
// `crio-ID.scope` or `libpod-ID.scope` (systemd cgroup drivers), or a
// component of 64 hex digits (cgroupfs drivers: /docker/ID,
// /kubepods/burstable/podUID/ID).
CgroupName name_cgroup(std::string path);

// Cgroup ids (the cgroup directory's inode, as bpf_get_current_cgroup_id()
// reports them) to names. Views read it; the command layer fills it.
class CgroupNames {
  public:
    virtual ~CgroupNames() = default;
    // Null when the id names no cgroup known (0 is always unknown).
    virtual const CgroupName* find(std::uint64_t id) = 0;
};

}  // namespace tcpscope
