#include "views/trace_format.h"

#include "core/cgroup_name.h"
#include "core/errno_name.h"
#include "core/text_append.h"
#include "views/escape.h"
#include "views/json_writer.h"
#include "views/socket_fields.h"

namespace tcpscope {
namespace {

// Column widths of the text row: TIME PID COMM LADDR:LPORT RADDR:RPORT OLD -> NEW MS.
constexpr std::size_t kTimeWidth = 15;
constexpr std::size_t kPidWidth = 7;
constexpr std::size_t kCommWidth = 16;
constexpr std::size_t kUnitWidth = 24;
constexpr std::size_t kEndpointWidth = 21;
constexpr std::size_t kStatesWidth = 26;
constexpr std::size_t kMsWidth = 10;

void append_states(std::string& out, const Transition& t) {
    out += state_name(t.old_state);
    out += " -> ";
    out += state_name(t.new_state);
}

// Appends field, then pads the column to width, then one separating space.
template <typename Append>
void column(std::string& out, std::size_t width, Append&& append) {
    std::size_t start = out.size();
    append(out);
    std::size_t used = out.size() - start;
    if (used < width) {
        out.append(width - used, ' ');
    }
    out += ' ';
}

}  // namespace

std::string error_name_of(const Transition& t) {
    return t.sk_err != 0 ? errno_name(t.sk_err) : std::string();
}

std::string TraceFormatter::text_header() const {
    std::string out;
    for (auto [text, width] : {std::pair{"TIME", kTimeWidth},
                               {"PID", kPidWidth},
                               {"COMM", kCommWidth},
                               {"UNIT", cgroup_column_ ? kUnitWidth : 0},
                               {"LADDR:LPORT", kEndpointWidth},
                               {"RADDR:RPORT", kEndpointWidth},
                               {"OLD -> NEW", kStatesWidth}}) {
        if (width > 0) {
            append_left(out, text, width);
            out += ' ';
        }
    }
    append_right(out, "MS", kMsWidth);
    out += " ERROR";
    return out;
}

std::string TraceFormatter::text_line(const Transition& t) const {
    std::string out;
    out.reserve(160);
    column(out, kTimeWidth, [&](std::string& o) { clock_.append_time_of_day(o, t.ts_ns); });
    column(out, kPidWidth,
           [&](std::string& o) { t.owner ? append_uint(o, t.owner->pid) : void(o += '-'); });
    column(out, kCommWidth, [&](std::string& o) {
        o += t.owner ? escape_for_terminal(t.owner->comm) : std::string("-");
    });
    if (cgroup_column_) {
        column(out, kUnitWidth, [&](std::string& o) {
            const CgroupName* cgroup =
                cgroups_ != nullptr && t.owner ? cgroups_->find(t.owner->cgroup_id) : nullptr;
            o += cgroup == nullptr ? std::string("-") : escape_for_terminal(cgroup->label());
        });
    }
    column(out, kEndpointWidth, [&](std::string& o) { append_endpoint(o, t.saddr, t.sport); });
    column(out, kEndpointWidth, [&](std::string& o) { append_endpoint(o, t.daddr, t.dport); });
    column(out, kStatesWidth, [&](std::string& o) { append_states(o, t); });
    out.pop_back();  // MS is right-aligned against the states column's space
    out += ' ';
    std::string ms;
    if (t.dur_ns) {
        append_thousandths(ms, (*t.dur_ns + 500) / 1000);  // ms with 3 decimals
    } else {
        ms = "-";
    }
    append_right(out, ms, kMsWidth);
    if (t.sk_err != 0) {
        out += ' ';
        out += errno_name(t.sk_err);
    }
    if (t.inferred) {
        out += " (inferred)";
    }
    return out;
}

std::string TraceFormatter::json_line(const Transition& t) const {
    JsonObject json;
    append_socket_fields(json, t, clock_, cgroups_);
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
