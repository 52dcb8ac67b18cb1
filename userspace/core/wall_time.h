// A wall-clock time as a user types it (`netstat --at`): a full UTC time as
// tcpscope's JSON prints it, or a time of day as its text prints it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tcpscope {

struct WallTime {
    bool has_date = false;
    // With a date: ns since the epoch (UTC). Without: ns since midnight UTC.
    std::int64_t ns = 0;

    // The time on or after from_ns (epoch ns): a time of day is taken on the
    // day of from_ns, or the next day when it is earlier than from_ns.
    std::int64_t resolve(std::int64_t from_ns) const;
};

// "2026-12-03T17:32:50.192717Z", "2026-12-03T17:32:50Z", "17:32:50",
// "17:32:50.192717"; empty when it is none of them.
std::optional<WallTime> parse_wall_time(const std::string& text);

}  // namespace tcpscope
