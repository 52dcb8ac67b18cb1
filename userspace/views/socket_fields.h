// What every per-socket record prints, shared by the trace and synfail views:
// time, cookie, netns, owner and the tuple. Unknowns are null or "-".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/transition.h"
#include "core/wall_clock.h"
#include "views/json_writer.h"

namespace tcpscope {

class CgroupNames;

// ts ts_ns cookie netns pid comm cgroup unit container family saddr sport
// daddr dport, in that order. The cgroup keys are null where the owner's
// cgroup is unknown, or cgroups is null.
void append_socket_fields(JsonObject& json, const Transition& t, const WallClock& clock,
                          CgroupNames* cgroups);

// A duration in microseconds with 3 decimals, or null.
void append_micros_field(JsonObject& json, std::string_view key, std::optional<std::uint64_t> ns);

std::string pid_text(const Transition& t);   // "-" when unknown
std::string comm_text(const Transition& t);  // escaped for the terminal; "-" when unknown
std::string local_endpoint_text(const Transition& t);
std::string remote_endpoint_text(const Transition& t);
std::string millis_text(std::optional<std::uint64_t> ns);  // "1.235" or "-"

}  // namespace tcpscope
