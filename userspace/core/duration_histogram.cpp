#include "core/duration_histogram.h"

#include <bit>
#include <cmath>

namespace tcpscope {
namespace {

constexpr unsigned kSubBits = 6;  // 64 buckets per power of two
constexpr std::uint64_t kLinear = 1u << (kSubBits + 1);

std::uint32_t bucket_of(std::uint64_t v) {
    if (v < kLinear) {
        return static_cast<std::uint32_t>(v);
    }
    unsigned shift = static_cast<unsigned>(std::bit_width(v)) - 1 - kSubBits;
    // v >> shift is in [64, 128): one of 64 sub-buckets of this power of two.
    return static_cast<std::uint32_t>(shift * (kLinear / 2) + (v >> shift));
}

std::uint64_t midpoint_of(std::uint32_t bucket) {
    if (bucket < kLinear) {
        return bucket;
    }
    std::uint32_t shift = (bucket - kLinear / 2) / (kLinear / 2);
    std::uint64_t mantissa = bucket - shift * (kLinear / 2);
    std::uint64_t low = mantissa << shift;
    return low + ((std::uint64_t{1} << shift) >> 1);
}

}  // namespace

void DurationHistogram::add(std::uint64_t ns) {
    ++buckets_[bucket_of(ns)];
    ++count_;
}

std::optional<std::uint64_t> DurationHistogram::percentile(double p) const {
    if (count_ == 0) {
        return std::nullopt;
    }
    auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
    rank = std::max<std::uint64_t>(rank, 1);
    std::uint64_t seen = 0;
    for (const auto& [bucket, n] : buckets_) {
        seen += n;
        if (seen >= rank) {
            return midpoint_of(bucket);
        }
    }
    return midpoint_of(buckets_.rbegin()->first);
}

}  // namespace tcpscope
