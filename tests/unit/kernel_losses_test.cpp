#include <gtest/gtest.h>

#include "kernel/tracer.h"

namespace tcpscope {
namespace {

KernelLosses read(std::uint64_t misses, std::uint64_t recovered) {
    KernelLosses l;
    l.recursion_misses = misses;
    l.recovered = recovered;
    return l;
}

TEST(KernelLosses, UnrecoveredNeverGoesDownBetweenReads) {
    std::uint64_t reported = 0;
    KernelLosses first = read(10, 8);  // 2 not recovered (yet)
    keep_unrecovered_monotonic(first, reported);
    EXPECT_EQ(first.unrecovered(), 2u);
    // Recoveries after the misses were read: the raw estimate drops to 0.
    KernelLosses second = read(11, 11);
    keep_unrecovered_monotonic(second, reported);
    EXPECT_EQ(second.unrecovered(), 2u) << "a counter never decreases";
    EXPECT_EQ(second.lost(), 2u);
    KernelLosses third = read(20, 15);
    keep_unrecovered_monotonic(third, reported);
    EXPECT_EQ(third.unrecovered(), 5u) << "and rises with real losses";
}

TEST(KernelLosses, NothingLostStaysZero) {
    std::uint64_t reported = 0;
    KernelLosses l = read(7, 9);  // recoveries read after more misses
    keep_unrecovered_monotonic(l, reported);
    EXPECT_EQ(l.unrecovered(), 0u);
    EXPECT_EQ(reported, 0u);
}

}  // namespace
}  // namespace tcpscope
