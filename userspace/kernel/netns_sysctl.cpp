#include "kernel/netns_sysctl.h"

#include <sstream>

namespace tcpscope {
namespace {

constexpr const char* kMaxBuckets = "/proc/sys/net/ipv4/tcp_max_tw_buckets";
constexpr const char* kPortRange = "/proc/sys/net/ipv4/ip_local_port_range";

}  // namespace

TimewaitSysctls::TimewaitSysctls(const std::string& netns_path)
    : files_(netns_path, {kMaxBuckets, kPortRange}) {}

TimewaitSysctls::TimewaitSysctls() : files_(std::nullopt, {kMaxBuckets, kPortRange}) {}

TimewaitLimits TimewaitSysctls::read() const {
    TimewaitLimits limits;
    std::istringstream buckets(files_.read(0));
    if (std::uint64_t max = 0; buckets >> max) {
        limits.max_buckets = max;
    }
    std::istringstream range(files_.read(1));
    if (unsigned lo = 0, hi = 0; range >> lo >> hi && lo <= hi && hi <= 65535) {
        limits.port_range = std::pair<std::uint16_t, std::uint16_t>{static_cast<std::uint16_t>(lo),
                                                                    static_cast<std::uint16_t>(hi)};
    }
    return limits;
}

}  // namespace tcpscope
