#include "views/synfail_format.h"

#include <fmt/format.h>

#include "core/address.h"
#include "core/connect_outcome.h"
#include "views/json_writer.h"
#include "views/socket_fields.h"

namespace tcpscope {
namespace {

constexpr auto kTextRow = "{:<15} {:<7} {:<16} {:<21} {:<21} {:<14} {:>9} {:>7}";
constexpr auto kSummaryRow = "{:<27} {:>9} {:>9} {:>9} {:>9} {:>9} {}";

// Time in SYN_SENT: unknown for sockets older than the tracer, none for a
// connect() that failed before SYN_SENT.
std::optional<std::uint64_t> syn_sent_ns(const Transition& t) {
    return t.connect_sync ? std::nullopt : t.dur_ns;
}

std::string reasons_text(const DestinationStats& stats) {
    std::string out;
    for (const auto& [reason, n] : stats.failures) {
        out += fmt::format("{}{}={}", out.empty() ? "" : " ", reason, n);
    }
    return out.empty() ? "-" : out;
}

}  // namespace

std::string SynfailFormatter::text_header() {
    return fmt::format(kTextRow, "TIME", "PID", "COMM", "LADDR:LPORT", "RADDR:RPORT", "REASON",
                       "SYN_MS", "RETRANS");
}

std::string SynfailFormatter::text_line(const Transition& t,
                                        const ListedSocket* local_listener) const {
    std::string line = fmt::format(kTextRow, clock_.time_of_day(t.ts_ns), pid_text(t), comm_text(t),
                                   local_endpoint_text(t), remote_endpoint_text(t),
                                   failure_reason(t), millis_text(syn_sent_ns(t)), t.syn_retrans);
    if (t.connect_sync) {
        line += " sync";
    }
    if (local_listener != nullptr) {
        line += fmt::format(" local listener {} queue {}/{} drops {}",
                            format_endpoint(local_listener->saddr, local_listener->sport),
                            local_listener->rqueue, local_listener->wqueue,
                            local_listener->drops ? std::to_string(*local_listener->drops) : "-");
    }
    return line;
}

std::string SynfailFormatter::json_line(const Transition& t,
                                        const ListedSocket* local_listener) const {
    JsonObject json;
    append_socket_fields(json, t, clock_, cgroups_);
    json.field("reason", failure_reason(t));
    append_micros_field(json, "syn_sent_us", syn_sent_ns(t));
    json.field("syn_retrans", static_cast<std::uint64_t>(t.syn_retrans))
        .field("sync", t.connect_sync);
    if (local_listener != nullptr) {
        JsonObject l;
        l.field("addr", to_string(local_listener->saddr))
            .field("port", static_cast<std::uint64_t>(local_listener->sport))
            .field("backlog", static_cast<std::uint64_t>(local_listener->wqueue))
            .field("queue", static_cast<std::uint64_t>(local_listener->rqueue))
            .optional_field("drops", local_listener->drops);
        json.raw_field("local_listener", l.finish());
    } else {
        json.null_field("local_listener");
    }
    return json.finish();
}

std::vector<std::string> SynfailFormatter::summary_text(const SynfailSummary& summary,
                                                        const SummaryScope& scope) const {
    std::vector<std::string> lines;
    lines.push_back(fmt::format("-- connect attempts, {} {:.1f} s, at {} --", scope.kind,
                                scope.seconds, clock_.time_of_day(scope.ts_ns)));
    if (summary.empty()) {
        lines.push_back("(none)");
        return lines;
    }
    lines.push_back(fmt::format(kSummaryRow, "DESTINATION", "ATTEMPTS", "OK", "FAILED", "P50_MS",
                                "P99_MS", "REASONS"));
    for (const auto& row : summary.rows()) {
        const DestinationStats& s = *row.stats;
        lines.push_back(
            fmt::format(kSummaryRow, format_endpoint(row.destination.daddr, row.destination.dport),
                        s.attempts, s.successes, s.failed(), millis_text(s.syn_sent.percentile(50)),
                        millis_text(s.syn_sent.percentile(99)), reasons_text(s)));
    }
    return lines;
}

std::string SynfailFormatter::summary_json(const SynfailSummary& summary,
                                           const SummaryScope& scope) const {
    std::string destinations = "[";
    for (const auto& row : summary.rows()) {
        const DestinationStats& s = *row.stats;
        JsonObject failures;
        for (const auto& [reason, n] : s.failures) {
            failures.field(reason, n);
        }
        JsonObject d;
        d.field("daddr", to_string(row.destination.daddr))
            .field("dport", static_cast<std::uint64_t>(row.destination.dport))
            .field("attempts", s.attempts)
            .field("successes", s.successes)
            .raw_field("failures", failures.finish());
        append_micros_field(d, "syn_sent_p50_us", s.syn_sent.percentile(50));
        append_micros_field(d, "syn_sent_p99_us", s.syn_sent.percentile(99));
        destinations += destinations.size() > 1 ? "," : "";
        destinations += d.finish();
    }
    destinations += ']';

    JsonObject json;
    json.field("summary", scope.kind)
        .field("ts", clock_.rfc3339(scope.ts_ns))
        .field("ts_ns", scope.ts_ns)
        .field("seconds", scope.seconds)
        .raw_field("destinations", destinations);
    return json.finish();
}

}  // namespace tcpscope
