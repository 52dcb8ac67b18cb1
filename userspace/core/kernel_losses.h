// What the kernel side counted as lost, as the loader reads it: plain data,
// so the views, a recording and its replay use it without the kernel layer.
#pragma once

#include <cstdint>

namespace tcpscope {

struct KernelLosses {
    std::uint64_t ringbuf_full = 0;      // bpf_ringbuf_reserve() failures, all CPUs
    std::uint64_t recursion_misses = 0;  // main program runs the kernel skipped
    std::uint64_t recovered = 0;         // of those, transitions the backup program handled
    std::uint64_t other_misses = 0;      // skipped runs of the backup and softirq programs

    // Skipped by the kernel and not recovered: truly lost.
    std::uint64_t unrecovered() const {
        return recursion_misses > recovered ? recursion_misses - recovered : 0;
    }
    std::uint64_t lost() const { return ringbuf_full + unrecovered(); }
};

// Read in the right order (misses, then recoveries) an estimate of the
// unrecovered never exceeds the truth, but recoveries landing between the two
// reads can make it lower than the last one. Lost events are a counter
// (Prometheus reads a drop as a reset): this keeps `now` from reporting fewer
// unrecovered than `reported`, the last value shown, and updates it.
inline void keep_unrecovered_monotonic(KernelLosses& now, std::uint64_t& reported) {
    if (now.unrecovered() < reported && now.recursion_misses >= reported) {
        now.recovered = now.recursion_misses - reported;
    }
    reported = now.unrecovered();
}

}  // namespace tcpscope
