// What `tcpscope trace` prints on SIGUSR1: the live socket table at that
// moment, as a text block or as JSON lines (one per socket, with a
// "snapshot" key so they never pass for transitions).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/socket_table.h"
#include "core/wall_clock.h"

namespace tcpscope {

// Sorted for reading: by netns, IPv4 first, listeners first, then cookie.
void sort_for_snapshot(std::vector<SocketEntry>& entries);

// "SNAPSHOT <rfc3339> sockets=N", a column header, one line per socket.
std::vector<std::string> snapshot_text(const std::vector<SocketEntry>& entries,
                                       std::uint64_t now_ns, const WallClock& clock);

// {"snapshot":"<rfc3339>","cookie":..,"netns":..,"state":..,"family":..,"saddr":..,
//  "sport":..,"daddr":..,"dport":..,"age_us":..|null,"pid":..|null,"comm":..|null}
std::vector<std::string> snapshot_json(const std::vector<SocketEntry>& entries,
                                       std::uint64_t now_ns, const WallClock& clock);

}  // namespace tcpscope
