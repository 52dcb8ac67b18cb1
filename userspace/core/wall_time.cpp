#include "core/wall_time.h"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace tcpscope {
namespace {

constexpr std::int64_t kNsPerSecond = 1'000'000'000;
constexpr std::int64_t kNsPerDay = 86'400 * kNsPerSecond;

// ".123456" -> ns; the digits after the point, up to nine.
std::optional<std::int64_t> fraction_ns(const std::string& text, std::size_t& at) {
    if (at >= text.size() || text[at] != '.') {
        return 0;
    }
    ++at;
    std::int64_t ns = 0;
    int digits = 0;
    while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at])) && digits < 9) {
        ns = ns * 10 + (text[at] - '0');
        ++digits;
        ++at;
    }
    if (digits == 0) {
        return std::nullopt;
    }
    for (; digits < 9; ++digits) {
        ns *= 10;
    }
    return ns;
}

}  // namespace

std::int64_t WallTime::resolve(std::int64_t from_ns) const {
    if (has_date) {
        return ns;
    }
    std::int64_t day = from_ns - ((from_ns % kNsPerDay) + kNsPerDay) % kNsPerDay;
    std::int64_t t = day + ns;
    return t < from_ns ? t + kNsPerDay : t;
}

std::optional<WallTime> parse_wall_time(const std::string& text) {
    int year = 0, month = 0, mday = 0, hour = 0, minute = 0, second = 0, used = 0;
    WallTime out;
    if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &mday, &hour, &minute,
                    &second, &used) == 6) {
        out.has_date = true;
    } else if (std::sscanf(text.c_str(), "%2d:%2d:%2d%n", &hour, &minute, &second, &used) != 3) {
        return std::nullopt;
    }
    if (month < 0 || month > 12 || mday < 0 || mday > 31 || hour > 23 || minute > 59 ||
        second > 60 || hour < 0 || minute < 0 || second < 0 ||
        (out.has_date && (month < 1 || mday < 1))) {
        return std::nullopt;
    }
    std::size_t at = static_cast<std::size_t>(used);
    std::optional<std::int64_t> fraction = fraction_ns(text, at);
    if (!fraction) {
        return std::nullopt;
    }
    if (out.has_date) {
        if (at >= text.size() || text[at] != 'Z') {
            return std::nullopt;  // UTC only, as tcpscope prints it
        }
        ++at;
    }
    if (at != text.size()) {
        return std::nullopt;
    }
    std::int64_t seconds = hour * 3600 + minute * 60 + second;
    if (out.has_date) {
        std::tm tm{};
        tm.tm_year = year - 1900;
        tm.tm_mon = month - 1;
        tm.tm_mday = mday;
        seconds += static_cast<std::int64_t>(timegm(&tm));
    }
    out.ns = seconds * kNsPerSecond + *fraction;
    return out;
}

}  // namespace tcpscope
