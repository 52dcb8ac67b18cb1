// When the next kernel listing of a namespace is due. A sock_diag dump walks
// every socket of the host's TCP hash in the kernel, so its cost grows with
// the machine's socket count: 100k timewait sockets take ~60 ms of CPU. The
// schedule lists every interval while that is cheap and stretches the period
// as listings grow, so listing never takes more than a set share of one CPU.
#pragma once

#include <cstdint>

namespace tcpscope {

// timewait's defaults: listings take at most 1% of one CPU, and come at
// least every 10 s, so an early death (port reuse, reset) shows within 10 s.
inline constexpr double kListingCpuShare = 0.01;
inline constexpr std::uint64_t kListingMaxPeriodNs = 10'000'000'000ull;

class ListingSchedule {
  public:
    // cpu_share: the most of one CPU listings may take (0.02 = 2%);
    // max_period_ns: the longest wait between listings, however costly.
    ListingSchedule(std::uint64_t interval_ns, double cpu_share, std::uint64_t max_period_ns);

    // A fixed period instead (--list-every), never shorter than the interval.
    static ListingSchedule fixed(std::uint64_t interval_ns, std::uint64_t period_ns);

    // Whether a tick at now_ns should list. Ticks come every interval, a
    // little late or early; a tick within half an interval of the due time lists.
    bool due(std::uint64_t now_ns) const;

    // A listing began at started_ns and took cpu_ns of CPU.
    void listed(std::uint64_t started_ns, std::uint64_t cpu_ns);

    std::uint64_t period_ns() const { return period_ns_; }
    std::uint64_t last_listed_ns() const { return last_ns_; }

  private:
    std::uint64_t interval_ns_;
    double cpu_share_;  // 0: fixed period
    std::uint64_t max_period_ns_;
    std::uint64_t period_ns_;
    std::uint64_t last_ns_ = 0;
    bool ever_listed_ = false;
};

}  // namespace tcpscope
