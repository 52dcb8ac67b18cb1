// libFuzzer target: arbitrary strings (process names, host and service names)
// through the terminal and JSON escapers and the JSON writer.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "views/escape.h"
#include "views/json_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view raw(reinterpret_cast<const char*>(data), size);
    std::string terminal = tcpscope::escape_for_terminal(raw);
    for (char c : terminal) {
        auto b = static_cast<unsigned char>(c);
        if (b < 0x20 || b >= 0x7f) {
            __builtin_trap();
        }
    }
    tcpscope::JsonObject object;
    object.field("comm", raw).field("n", std::uint64_t{size});
    std::string json = object.finish();
    auto parsed = nlohmann::json::parse(json, nullptr, false);
    if (parsed.is_discarded()) {
        __builtin_trap();
    }
    // Valid UTF-8 must survive the round trip byte for byte.
    if (nlohmann::json::accept("\"" + std::string(raw) + "\"") && raw.find('"') == raw.npos &&
        raw.find('\\') == raw.npos && parsed["comm"].get<std::string>() != raw) {
        __builtin_trap();
    }
    return 0;
}
