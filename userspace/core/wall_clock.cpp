#include "core/wall_clock.h"

#include <ctime>

#include <fmt/format.h>

namespace tcpscope {
namespace {

struct Split {
    std::tm utc{};
    long micros = 0;
};

Split split(std::int64_t realtime_ns) {
    std::int64_t secs = realtime_ns / 1'000'000'000;
    std::int64_t rem = realtime_ns % 1'000'000'000;
    if (rem < 0) {
        rem += 1'000'000'000;
        --secs;
    }
    Split out;
    std::time_t t = static_cast<std::time_t>(secs);
    gmtime_r(&t, &out.utc);
    out.micros = static_cast<long>(rem / 1000);
    return out;
}

}  // namespace

WallClock WallClock::from_system() {
    timespec real{};
    timespec mono{};
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_REALTIME, &real);
    auto ns = [](const timespec& ts) {
        return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
    };
    return WallClock(ns(real) - ns(mono));
}

std::string WallClock::rfc3339(std::uint64_t monotonic_ns) const {
    Split s = split(to_realtime_ns(monotonic_ns));
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", s.utc.tm_year + 1900,
                       s.utc.tm_mon + 1, s.utc.tm_mday, s.utc.tm_hour, s.utc.tm_min, s.utc.tm_sec,
                       s.micros);
}

std::string WallClock::time_of_day(std::uint64_t monotonic_ns) const {
    Split s = split(to_realtime_ns(monotonic_ns));
    return fmt::format("{:02}:{:02}:{:02}.{:06}", s.utc.tm_hour, s.utc.tm_min, s.utc.tm_sec,
                       s.micros);
}

std::uint64_t monotonic_now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace tcpscope
