#include "core/listing_schedule.h"

#include <algorithm>

namespace tcpscope {

ListingSchedule::ListingSchedule(std::uint64_t interval_ns, double cpu_share,
                                 std::uint64_t max_period_ns)
    : interval_ns_(interval_ns),
      cpu_share_(cpu_share),
      max_period_ns_(std::max(max_period_ns, interval_ns)),
      period_ns_(interval_ns) {}

ListingSchedule ListingSchedule::fixed(std::uint64_t interval_ns, std::uint64_t period_ns) {
    ListingSchedule schedule(interval_ns, 0.0, period_ns);
    schedule.period_ns_ = schedule.max_period_ns_;
    return schedule;
}

bool ListingSchedule::due(std::uint64_t now_ns) const {
    return !ever_listed_ || now_ns + interval_ns_ / 2 >= last_ns_ + period_ns_;
}

void ListingSchedule::listed(std::uint64_t started_ns, std::uint64_t cpu_ns) {
    last_ns_ = started_ns;
    ever_listed_ = true;
    if (cpu_share_ > 0) {
        const auto wanted = static_cast<std::uint64_t>(static_cast<double>(cpu_ns) / cpu_share_);
        period_ns_ = std::clamp(wanted, interval_ns_, max_period_ns_);
    }
}

}  // namespace tcpscope
