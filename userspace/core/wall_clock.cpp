#include "core/wall_clock.h"

#include <ctime>

#include <fmt/format.h>

#include "core/text_append.h"

namespace tcpscope {
namespace {

constexpr std::int64_t kNsPerSec = 1'000'000'000;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    std::int64_t q = a / b;
    return (a % b < 0) ? q - 1 : q;
}

std::int64_t floor_mod(std::int64_t a, std::int64_t b) {
    std::int64_t r = a % b;
    return r < 0 ? r + b : r;
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

const WallClock::SecondCache& WallClock::calendar(std::int64_t second) const {
    if (cache_.second != second) {
        std::tm utc{};
        std::time_t t = static_cast<std::time_t>(second);
        gmtime_r(&t, &utc);
        cache_.second = second;
        cache_.date =
            fmt::format("{:04}-{:02}-{:02}T", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday);
        cache_.time = fmt::format("{:02}:{:02}:{:02}", utc.tm_hour, utc.tm_min, utc.tm_sec);
    }
    return cache_;
}

void WallClock::append_time_of_day(std::string& out, std::uint64_t monotonic_ns) const {
    std::int64_t ns = to_realtime_ns(monotonic_ns);
    std::int64_t second = floor_div(ns, kNsPerSec);
    out += calendar(second).time;
    out += '.';
    append_zero_padded(out, static_cast<std::uint64_t>(floor_mod(ns, kNsPerSec) / 1000), 6);
}

void WallClock::append_rfc3339(std::string& out, std::uint64_t monotonic_ns) const {
    std::int64_t second = floor_div(to_realtime_ns(monotonic_ns), kNsPerSec);
    out += calendar(second).date;
    append_time_of_day(out, monotonic_ns);
    out += 'Z';
}

std::string WallClock::rfc3339(std::uint64_t monotonic_ns) const {
    std::string out;
    append_rfc3339(out, monotonic_ns);
    return out;
}

std::string WallClock::time_of_day(std::uint64_t monotonic_ns) const {
    std::string out;
    append_time_of_day(out, monotonic_ns);
    return out;
}

namespace {

std::uint64_t now_ns(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace

std::uint64_t monotonic_now_ns() {
    return now_ns(CLOCK_MONOTONIC);
}

std::uint64_t thread_cpu_now_ns() {
    return now_ns(CLOCK_THREAD_CPUTIME_ID);
}

}  // namespace tcpscope
