// Durations in a bounded, sparse log-linear histogram: each power of two is
// split into 64 buckets, so a percentile is within 1/64 (1.6%) of the exact
// value whatever the number of samples. Values below 128 ns are exact.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

namespace tcpscope {

class DurationHistogram {
  public:
    void add(std::uint64_t ns);
    std::uint64_t count() const { return count_; }
    // Nearest-rank percentile (p in (0, 100]) as its bucket's midpoint;
    // empty without samples.
    std::optional<std::uint64_t> percentile(double p) const;

  private:
    std::map<std::uint32_t, std::uint64_t> buckets_;  // bucket index -> samples
    std::uint64_t count_ = 0;
};

}  // namespace tcpscope
