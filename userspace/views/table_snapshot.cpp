#include "views/table_snapshot.h"

#include <sys/socket.h>

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

#include "views/escape.h"
#include "views/json_writer.h"
#include "views/netstat_format.h"

namespace tcpscope {
namespace {

constexpr const char* kRow = "{:<12} {:<21} {:<21} {:<9} {:<22} {:<10} {}";

std::optional<std::uint64_t> age_of(const SocketEntry& e, std::uint64_t now_ns) {
    if (!e.entered_ns || *e.entered_ns > now_ns) {
        return std::nullopt;
    }
    return now_ns - *e.entered_ns;
}

}  // namespace

void sort_for_snapshot(std::vector<SocketEntry>& entries) {
    auto key = [](const SocketEntry& e) {
        return std::tuple(e.netns, e.saddr.family == AF_INET6, e.state != TcpState::Listen,
                          e.cookie);
    };
    std::sort(entries.begin(), entries.end(),
              [&](const SocketEntry& a, const SocketEntry& b) { return key(a) < key(b); });
}

std::vector<std::string> snapshot_text(const std::vector<SocketEntry>& entries,
                                       std::uint64_t now_ns, const WallClock& clock) {
    std::vector<std::string> lines;
    lines.reserve(entries.size() + 2);
    lines.push_back(fmt::format("SNAPSHOT {} sockets={}", clock.rfc3339(now_ns), entries.size()));
    lines.push_back(fmt::format(kRow, "STATE", "LADDR:LPORT", "RADDR:RPORT", "AGE", "OWNER",
                                "NETNS", "COOKIE"));
    for (const SocketEntry& e : entries) {
        std::string owner =
            e.owner ? fmt::format("{}/{}", e.owner->pid, escape_for_terminal(e.owner->comm)) : "-";
        lines.push_back(fmt::format(kRow, state_name(e.state), format_endpoint(e.saddr, e.sport),
                                    format_endpoint(e.daddr, e.dport), age_text(age_of(e, now_ns)),
                                    owner, e.netns, e.cookie));
    }
    return lines;
}

std::vector<std::string> snapshot_json(const std::vector<SocketEntry>& entries,
                                       std::uint64_t now_ns, const WallClock& clock) {
    std::vector<std::string> lines;
    lines.reserve(entries.size());
    std::string ts = clock.rfc3339(now_ns);
    for (const SocketEntry& e : entries) {
        JsonObject json;
        json.field("snapshot", ts)
            .field("cookie", e.cookie)
            .field("netns", static_cast<std::uint64_t>(e.netns))
            .field("state", state_name(e.state))
            .field("family", e.saddr.family == AF_INET6 ? 6 : 4)
            .field("saddr", to_string(e.saddr))
            .optional_field("sport", e.sport)
            .field("daddr", to_string(e.daddr))
            .field("dport", static_cast<std::uint64_t>(e.dport));
        if (auto age = age_of(e, now_ns)) {
            json.raw_field("age_us", fmt::format("{:.3f}", static_cast<double>(*age) / 1e3));
        } else {
            json.null_field("age_us");
        }
        if (e.owner) {
            json.field("pid", static_cast<std::uint64_t>(e.owner->pid))
                .field("comm", e.owner->comm);
        } else {
            json.null_field("pid").null_field("comm");
        }
        lines.push_back(json.finish());
    }
    return lines;
}

}  // namespace tcpscope
