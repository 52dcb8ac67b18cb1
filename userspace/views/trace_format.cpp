#include "views/trace_format.h"

#include <sys/socket.h>

#include <fmt/format.h>

#include "core/errno_name.h"
#include "views/escape.h"
#include "views/json_writer.h"

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
    std::string pid = t.owner ? std::to_string(t.owner->pid) : "-";
    std::string comm = t.owner ? escape_for_terminal(t.owner->comm) : "-";
    std::string ms = t.dur_ns ? fmt::format("{:.3f}", static_cast<double>(*t.dur_ns) / 1e6) : "-";
    std::string line = fmt::format(kTextRow, clock_.time_of_day(t.ts_ns), pid, comm,
                                   format_endpoint(t.saddr, t.sport),
                                   format_endpoint(t.daddr, t.dport), transition_text(t), ms);
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
    json.field("ts", clock_.rfc3339(t.ts_ns))
        .field("ts_ns", t.ts_ns)
        .field("cookie", t.cookie)
        .field("netns", static_cast<std::uint64_t>(t.netns));
    if (t.owner) {
        json.field("pid", static_cast<std::uint64_t>(t.owner->pid)).field("comm", t.owner->comm);
    } else {
        json.null_field("pid").null_field("comm");
    }
    json.field("family", t.family() == AF_INET6 ? 6 : 4)
        .field("saddr", to_string(t.saddr))
        .optional_field("sport", t.sport)
        .field("daddr", to_string(t.daddr))
        .field("dport", static_cast<std::uint64_t>(t.dport))
        .field("old", state_name(t.old_state))
        .field("new", state_name(t.new_state));
    if (t.dur_ns) {
        json.raw_field("dur_us", fmt::format("{:.3f}", static_cast<double>(*t.dur_ns) / 1e3));
    } else {
        json.null_field("dur_us");
    }
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
