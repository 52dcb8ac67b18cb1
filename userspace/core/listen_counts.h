// What the kernel counted for listeners between two reads, as plain values:
// the loader fills them from the listen probes' maps, core/listen_report
// turns them into per-listener rows.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "core/address.h"

namespace tcpscope {

// Accept-queue waits by power of two of microseconds (slot 0: under 1 µs;
// the last slot: everything longer), as the BPF side buckets them.
constexpr std::size_t kWaitSlots = 27;

struct ListenerCounts {
    std::uint64_t cookie = 0;  // the listener's socket cookie
    std::uint32_t netns = 0;
    std::uint64_t synack_retrans = 0;
    std::uint64_t accepted = 0;
    std::uint64_t waited = 0;  // accepts whose queue entry time was known
    std::uint64_t wait_ns_total = 0;
    std::array<std::uint64_t, kWaitSlots> wait_slots{};
    std::uint32_t queue_peak = 0;  // since the last read (0: no accept() since)
};

// SYNs (and accept-queue overflows, where the kernel has that reason) the
// kernel freed, by destination and the kernel's drop reason.
struct SynDropCount {
    std::uint32_t netns = 0;
    IpAddress daddr;
    std::uint16_t dport = 0;
    std::string reason;  // the kernel's name without SKB_DROP_REASON_: "NO_SOCKET"
    std::uint64_t count = 0;
};

}  // namespace tcpscope
