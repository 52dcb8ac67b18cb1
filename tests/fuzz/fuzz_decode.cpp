// libFuzzer target: arbitrary bytes as ring-buffer records through the real
// decode -> table -> text/JSON formatting path. Every JSON line must parse.
#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "core/decode.h"
#include "core/socket_table.h"
#include "views/trace_format.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static tcpscope::SocketTable table(4096);
    static tcpscope::TraceFormatter formatter(tcpscope::WallClock(0));
    auto t = tcpscope::decode_event(data, size);
    if (!t) {
        return 0;
    }
    table.apply(*t);
    std::string text = formatter.text_line(*t);
    for (char c : text) {
        auto b = static_cast<unsigned char>(c);
        if (b < 0x20 || b == 0x7f) {
            __builtin_trap();  // a control byte would reach the terminal
        }
    }
    std::string json = formatter.json_line(*t);
    if (!nlohmann::json::accept(json)) {
        __builtin_trap();
    }
    return 0;
}
