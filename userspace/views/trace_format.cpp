#include "views/trace_format.h"

#include <fmt/format.h>

#include "core/errno_name.h"
#include "views/json_writer.h"
#include "views/socket_fields.h"

namespace tcpscope {
namespace {

constexpr auto kTextRow = "{:<15} {:<7} {:<16} {:<21} {:<21} {:<26} {:>10}";

std::string transition_text(const Transition& t) {
    return fmt::format("{} -> {}", state_name(t.old_state), state_name(t.new_state));
}

}  // namespace

std::string error_name_of(const Transition& t) {
    return t.sk_err != 0 ? errno_name(t.sk_err) : std::string();
}

std::string TraceFormatter::text_header() {
    return fmt::format(kTextRow, "TIME", "PID", "COMM", "LADDR:LPORT", "RADDR:RPORT", "OLD -> NEW",
                       "MS") +
           " ERROR";
}

std::string TraceFormatter::text_line(const Transition& t) const {
    std::string line = fmt::format(kTextRow, clock_.time_of_day(t.ts_ns), pid_text(t), comm_text(t),
                                   local_endpoint_text(t), remote_endpoint_text(t),
                                   transition_text(t), millis_text(t.dur_ns));
    if (std::string err = error_name_of(t); !err.empty()) {
        line += ' ';
        line += err;
    }
    if (t.inferred) {
        line += " (inferred)";
    }
    return line;
}

std::string TraceFormatter::json_line(const Transition& t) const {
    JsonObject json;
    append_socket_fields(json, t, clock_);
    json.field("old", state_name(t.old_state)).field("new", state_name(t.new_state));
    append_micros_field(json, "dur_us", t.dur_ns);
    if (t.sk_err != 0) {
        json.field("error", errno_name(t.sk_err));
    } else {
        json.null_field("error");
    }
    if (t.inferred) {
        json.field("inferred", true);
    }
    return json.finish();
}

}  // namespace tcpscope
