// Kernel- and process-supplied strings (comm, host and service names) may hold
// any byte. These make them safe for a terminal and for JSON.
#pragma once

#include <string>
#include <string_view>

namespace tcpscope {

// Printable ASCII passes; backslash becomes "\\"; every other byte (control
// characters, ESC, DEL, bytes >= 0x80) becomes "\xNN".
std::string escape_for_terminal(std::string_view raw);

// Appends raw as the body of a JSON string (no quotes): control characters as
// \uXXXX, valid UTF-8 kept, each byte of invalid UTF-8 as \u00XX.
void append_json_string_body(std::string& out, std::string_view raw);

}  // namespace tcpscope
