#include "views/listen_format.h"

#include <fmt/format.h>

#include "core/address.h"
#include "core/text_append.h"
#include "views/escape.h"
#include "views/json_writer.h"
#include "views/netstat_format.h"

namespace tcpscope {
namespace {

struct OwnerName {
    std::optional<std::uint32_t> pid;
    std::string comm;  // empty: unknown
};

std::string optional_text(const std::optional<std::uint64_t>& v) {
    return v ? std::to_string(*v) : std::string("-");
}

std::string drops_text(const std::map<std::string, std::uint64_t>& by_reason) {
    if (by_reason.empty()) {
        return "-";
    }
    std::string out;
    for (const auto& [reason, n] : by_reason) {
        out += fmt::format("{}{}={}", out.empty() ? "" : ",", reason, n);
    }
    return out;
}

// A /proc "PID/name" as netstat -p prints it.
OwnerName split_program(const std::string& program) {
    OwnerName o;
    std::size_t slash = program.find('/');
    if (slash == std::string::npos) {
        return o;
    }
    try {
        o.pid = static_cast<std::uint32_t>(std::stoul(program.substr(0, slash)));
    } catch (const std::exception&) {
        return OwnerName{};
    }
    o.comm = program.substr(slash + 1);
    return o;
}

OwnerName owner_name(const ListenerRow& row, ProgramLookup* programs) {
    if (row.owner && row.owner->pid != 0) {
        return OwnerName{row.owner->pid, std::string(row.owner->comm.view())};
    }
    if (programs != nullptr && row.inode != 0) {
        if (std::optional<std::string> program = programs->program(row.inode)) {
            return split_program(*program);
        }
    }
    return OwnerName{};
}

constexpr int kEndpointWidth = 24;

}  // namespace

std::string ListenFormatter::owner_text(const ListenerRow& row) const {
    OwnerName o = owner_name(row, programs_);
    return o.pid ? fmt::format("{}/{}", *o.pid, escape_for_terminal(o.comm)) : std::string("-");
}

std::vector<std::string> ListenFormatter::text_lines(const ListenReport& r) const {
    std::vector<std::string> lines;
    lines.push_back(r.final ? fmt::format("netns {}: total over {:.1f} s", netns_, r.span_s)
                            : fmt::format("netns {}: {} ({:.1f} s)", netns_,
                                          clock_.time_of_day(r.now_ns), r.span_s));
    std::string header;
    append_left(header, "LISTEN", kEndpointWidth);
    header +=
        " OWNER                BACKLOG QUEUE  PEAK ACCEPTED WAIT_P50 WAIT_P99   DROPS "
        "SYNACK_RETX CLIENT_SYN_RETX SYN_DROPS";
    lines.push_back(header);
    for (const ListenerRow& row : r.listeners) {
        std::string line;
        append_left(line, format_endpoint(row.addr, row.port), kEndpointWidth);
        line += ' ';
        append_left(line, owner_text(row), 20);
        line += ' ';
        append_right(line, std::to_string(row.backlog), 7);
        line += ' ';
        append_right(line, row.closed ? "-" : std::to_string(row.queue), 5);
        line += ' ';
        append_right(line, std::to_string(row.queue_peak), 5);
        line += ' ';
        append_right(line, std::to_string(row.accepted), 8);
        line += ' ';
        append_right(line, row.wait_p50_us ? "<" + std::to_string(*row.wait_p50_us) + "us" : "-",
                     8);
        line += ' ';
        append_right(line, row.wait_p99_us ? "<" + std::to_string(*row.wait_p99_us) + "us" : "-",
                     8);
        line += ' ';
        append_right(line, optional_text(row.drops), 7);
        line += ' ';
        append_right(line, std::to_string(row.synack_retrans), 11);
        line += ' ';
        append_right(line, std::to_string(row.local_client_syn_retrans), 15);
        line += ' ';
        line += r.syn_drops_known ? drops_text(row.syn_drops) : "n/a";
        if (row.closed) {
            line += " (closed)";
        }
        lines.push_back(line);
    }
    for (const UnlistenedDrop& d : r.unlistened) {
        lines.push_back(fmt::format("  {} {}: {}",
                                    d.reason == "NO_SOCKET" ? "refused (no listener, RST sent)"
                                                            : "SYNs dropped (" + d.reason + ")",
                                    format_endpoint(d.addr, d.port), d.count));
    }
    std::string ns = "  netns:";
    for (const auto& [name, n] : r.namespace_counters) {
        ns += fmt::format(" {}={}", name.substr(name.find('.') + 1), n);
    }
    lines.push_back(ns);
    return lines;
}

std::string ListenFormatter::json_line(const ListenReport& r) const {
    JsonObject json;
    json.field("ts", clock_.rfc3339(r.now_ns))
        .field("interval_s", r.span_s)
        .field("netns", static_cast<std::uint64_t>(netns_));
    json.raw_field("listeners", json_array(r.listeners, [&](const ListenerRow& row) {
                       OwnerName o = owner_name(row, programs_);
                       JsonObject l;
                       l.field("addr", to_string(row.addr))
                           .field("port", static_cast<std::uint64_t>(row.port));
                       l.optional_field("pid", o.pid);
                       if (o.pid) {
                           l.field("comm", o.comm);
                       } else {
                           l.null_field("comm");
                       }
                       l.field("backlog", static_cast<std::uint64_t>(row.backlog))
                           .field("queue", static_cast<std::uint64_t>(row.queue))
                           .field("queue_peak", static_cast<std::uint64_t>(row.queue_peak))
                           .field("accepted", row.accepted)
                           .optional_field("accept_wait_p50_us", row.wait_p50_us)
                           .optional_field("accept_wait_p99_us", row.wait_p99_us)
                           .optional_field("drops", row.drops)
                           .field("synack_retrans", row.synack_retrans)
                           .field("local_client_syn_retrans", row.local_client_syn_retrans);
                       if (r.syn_drops_known) {
                           JsonObject by_reason;
                           for (const auto& [reason, n] : row.syn_drops) {
                               by_reason.field(reason, n);
                           }
                           l.raw_field("syn_drops", by_reason.finish());
                       } else {
                           l.null_field("syn_drops");
                       }
                       return l.field("closed", row.closed).finish();
                   }));
    json.raw_field("unlistened", json_array(r.unlistened, [](const UnlistenedDrop& d) {
                       return JsonObject()
                           .field("addr", to_string(d.addr))
                           .field("port", static_cast<std::uint64_t>(d.port))
                           .field("reason", d.reason)
                           .field("count", d.count)
                           .finish();
                   }));
    json.field("syn_drops_known", r.syn_drops_known);
    JsonObject ns;
    for (const auto& [name, n] : r.namespace_counters) {
        ns.field(name, n);
    }
    json.raw_field("namespace", ns.finish());
    if (r.final) {
        json.field("final", true);
    }
    return json.finish();
}

}  // namespace tcpscope
