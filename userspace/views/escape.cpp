#include "views/escape.h"

#include <fmt/format.h>

namespace tcpscope {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char lead = byte(i);
    std::size_t len = 0;
    std::uint32_t min = 0;
    std::uint32_t cp = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
        len = 2, min = 0x80, cp = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        len = 3, min = 0x800, cp = lead & 0x0F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        len = 4, min = 0x10000, cp = lead & 0x07;
    } else {
        return 0;
    }
    if (i + len > s.size()) {
        return 0;
    }
    for (std::size_t k = 1; k < len; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (byte(i + k) & 0x3F);
    }
    bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
    return (cp < min || cp > 0x10FFFF || surrogate) ? 0 : len;
}

}  // namespace

std::string escape_for_terminal(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    for (char c : raw) {
        auto b = static_cast<unsigned char>(c);
        if (b == '\\') {
            out += "\\\\";
        } else if (b >= 0x20 && b < 0x7F) {
            out += c;
        } else {
            out += fmt::format("\\x{:02x}", b);
        }
    }
    return out;
}

void append_json_string_body(std::string& out, std::string_view raw) {
    // Fast path: printable ASCII without quotes or backslashes goes as is.
    bool plain = true;
    for (char c : raw) {
        auto b = static_cast<unsigned char>(c);
        if (b < 0x20 || b >= 0x7F || b == '"' || b == '\\') {
            plain = false;
            break;
        }
    }
    if (plain) {
        out.append(raw);
        return;
    }
    for (std::size_t i = 0; i < raw.size();) {
        auto b = static_cast<unsigned char>(raw[i]);
        if (b == '"' || b == '\\') {
            out += '\\';
            out += static_cast<char>(b);
            ++i;
        } else if (b < 0x20 || b == 0x7F) {
            out += fmt::format("\\u{:04x}", b);
            ++i;
        } else if (b < 0x80) {
            out += static_cast<char>(b);
            ++i;
        } else if (std::size_t len = utf8_sequence_length(raw, i); len > 0) {
            const auto second = static_cast<unsigned char>(raw[i + 1]);
            if (len == 2 && b == 0xC2 && second <= 0x9F) {
                // C1 controls (U+0080-U+009F): valid UTF-8, but terminals
                // act on them (0x9B is CSI) when a reader prints the JSON.
                out += fmt::format("\\u{:04x}", second);
            } else {
                out.append(raw.substr(i, len));
            }
            i += len;
        } else {
            out += fmt::format("\\u{:04x}", b);
            ++i;
        }
    }
}

}  // namespace tcpscope
