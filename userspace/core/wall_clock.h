// Turns the kernel's CLOCK_MONOTONIC event stamps into wall-clock text.
#pragma once

#include <climits>
#include <cstdint>
#include <string>

namespace tcpscope {

class WallClock {
  public:
    // Measures the realtime - monotonic offset now.
    static WallClock from_system();
    // For tests: a fixed offset in nanoseconds.
    explicit WallClock(std::int64_t realtime_minus_monotonic_ns)
        : offset_ns_(realtime_minus_monotonic_ns) {}

    // Saturates instead of overflowing: a corrupt stamp prints as a far
    // date, never as undefined behaviour.
    std::int64_t to_realtime_ns(std::uint64_t monotonic_ns) const {
        std::int64_t mono = monotonic_ns > static_cast<std::uint64_t>(INT64_MAX)
                                ? INT64_MAX
                                : static_cast<std::int64_t>(monotonic_ns);
        std::int64_t out = 0;
        if (__builtin_add_overflow(mono, offset_ns_, &out)) {
            return offset_ns_ < 0 ? INT64_MIN : INT64_MAX;
        }
        return out;
    }
    std::int64_t offset_ns() const { return offset_ns_; }
    // "2026-11-26T04:31:02.123456Z"
    std::string rfc3339(std::uint64_t monotonic_ns) const;
    void append_rfc3339(std::string& out, std::uint64_t monotonic_ns) const;
    // "04:31:02.123456" (UTC)
    std::string time_of_day(std::uint64_t monotonic_ns) const;
    void append_time_of_day(std::string& out, std::uint64_t monotonic_ns) const;

  private:
    // The calendar part of the last second formatted: events come in bursts
    // within one second, and gmtime_r per event is the costly part. Not
    // thread-safe; each consumer thread owns its clock.
    struct SecondCache {
        std::int64_t second = INT64_MIN;
        std::string date;  // "2026-11-26T"
        std::string time;  // "04:31:02"
    };
    const SecondCache& calendar(std::int64_t second) const;

    std::int64_t offset_ns_;
    mutable SecondCache cache_;
};

// CLOCK_MONOTONIC now, in nanoseconds: the clock of the kernel's event stamps.
std::uint64_t monotonic_now_ns();

// CPU time this thread has used, in nanoseconds (what a kernel listing costs
// shows here: the dump runs in our system call).
std::uint64_t thread_cpu_now_ns();

}  // namespace tcpscope
