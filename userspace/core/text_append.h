// Allocation-free appends for the per-event formatting hot path: fmt's
// padded/precision specs cost more than everything else per event.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace tcpscope {

inline void append_uint(std::string& out, std::uint64_t value) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
    out.append(buf, end);
}

// value / 1000 with exactly three decimals: 1234567 -> "1234.567".
inline void append_thousandths(std::string& out, std::uint64_t thousandths) {
    append_uint(out, thousandths / 1000);
    unsigned frac = static_cast<unsigned>(thousandths % 1000);
    char digits[4] = {'.', static_cast<char>('0' + frac / 100),
                      static_cast<char>('0' + frac / 10 % 10), static_cast<char>('0' + frac % 10)};
    out.append(digits, 4);
}

// Zero-padded to width digits.
inline void append_zero_padded(std::string& out, std::uint64_t value, int width) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
    for (int pad = width - static_cast<int>(end - buf); pad > 0; --pad) {
        out += '0';
    }
    out.append(buf, end);
}

// text, then spaces up to width (never truncates), as "%-*s".
inline void append_left(std::string& out, std::string_view text, std::size_t width) {
    out.append(text);
    if (text.size() < width) {
        out.append(width - text.size(), ' ');
    }
}

// spaces, then text, as "%*s".
inline void append_right(std::string& out, std::string_view text, std::size_t width) {
    if (text.size() < width) {
        out.append(width - text.size(), ' ');
    }
    out.append(text);
}

}  // namespace tcpscope
