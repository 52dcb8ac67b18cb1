// Builds raw tcpscope_event records and Transitions for tests.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/cgroup_name.h"

#include "core/listed_socket.h"
#include "core/transition.h"
#include "core/wall_clock.h"
#include "tcpscope/event.h"

namespace tcpscope::testing {

tcpscope_event raw_event(std::uint64_t cookie, TcpState from, TcpState to);

// 127.0.0.1:sport -> 127.0.0.1:dport, owner 4242/"client".
Transition transition(std::uint64_t cookie, TcpState from, TcpState to,
                      std::uint64_t ts_ns = 1'000'000'000);

// A wall clock on which monotonic 1_000_000_000 ns is 2026-11-26T04:31:02.123456Z.
inline WallClock test_clock() {
    return WallClock(1795667462'123456000LL - 1'000'000'000LL);
}

// A socket as a kernel listing shows it: 10.0.0.1:5000 -> 10.0.0.2:80.
ListedSocket listed(std::uint64_t cookie, TcpState state);

IpAddress ipv4(const char* text);
IpAddress ipv6(const char* text);

// Cgroup ids named by fixed paths, as CgroupPaths would find them.
class FakeCgroups : public CgroupNames {
  public:
    FakeCgroups(std::initializer_list<std::pair<std::uint64_t, std::string>> paths) {
        for (const auto& [id, path] : paths) {
            names_.emplace(id, name_cgroup(path));
        }
    }
    const CgroupName* find(std::uint64_t id) override {
        auto it = names_.find(id);
        return it == names_.end() ? nullptr : &it->second;
    }

  private:
    std::map<std::uint64_t, CgroupName> names_;
};

}  // namespace tcpscope::testing
