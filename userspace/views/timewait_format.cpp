#include "views/timewait_format.h"

#include "core/cgroup_name.h"

#include <fmt/format.h>

#include "views/escape.h"
#include "views/json_writer.h"

namespace tcpscope {
namespace {

std::string json_string(const std::string& s) {
    std::string out = "\"";
    append_json_string_body(out, s);
    out += '"';
    return out;
}

template <typename T, typename Fn>
std::string text_list(const std::vector<T>& items, Fn to_text) {
    if (items.empty()) {
        return "-";
    }
    std::string out;
    for (const T& item : items) {
        if (!out.empty()) {
            out += ", ";
        }
        out += to_text(item);
    }
    return out;
}

// "PID/COMM (side) N", with the closer's systemd unit (else its cgroup path)
// after the side where known: "812/nginx (server, nginx.service) 40".
std::string closer_text(const CloserCount& c, const CgroupName* cgroup) {
    std::string who = c.pid ? fmt::format("{}/{}", *c.pid, escape_for_terminal(c.comm)) : "-";
    std::string where;
    if (cgroup != nullptr) {
        where = ", " + escape_for_terminal(cgroup->label());
    }
    return fmt::format("{} ({}{}) {}", who, side_name(c.side), where, c.count);
}

// Corrections lag when listings are spaced out (ListingSchedule): say so
// once the last listing is older than the interval being reported.
std::string stale_note(const TimewaitReport& r) {
    if (r.final || r.listing_age_s <= r.interval_s * 1.5) {
        return {};
    }
    return fmt::format(" (as of a listing {:.1f} s ago)", r.listing_age_s);
}

std::string seconds(std::uint64_t ms) {
    return fmt::format("{:.1f} s", static_cast<double>(ms) / 1000.0);
}

}  // namespace

const char* side_name(SocketRole role) {
    switch (role) {
        case SocketRole::Client:
            return "client";
        case SocketRole::Server:
            return "server";
        case SocketRole::Unknown:
            break;
    }
    return "unknown";
}

const CgroupName* TimewaitFormatter::cgroup_of(const CloserCount& c) const {
    return cgroups_ != nullptr ? cgroups_->find(c.cgroup_id) : nullptr;
}

std::vector<std::string> TimewaitFormatter::text_lines(const TimewaitReport& r) const {
    std::vector<std::string> lines;
    std::string when =
        r.final ? fmt::format("total over {:.1f} s", r.interval_s) : clock_.time_of_day(r.ts_ns);
    lines.push_back(fmt::format(
        "{}  births {} ({:.1f}/s)  deaths {} ({:.1f}/s, early {})  live {}  corrections {}{}", when,
        r.births, r.births_per_s, r.deaths, r.deaths_per_s, r.early_deaths, r.live, r.corrections,
        stale_note(r)));
    lines.push_back(fmt::format("  TIME_WAIT on:  client side {}, server side {}", r.client_side,
                                r.server_side));
    lines.push_back("  top remote:    " + text_list(r.top_remote, [](const EndpointCount& e) {
                        return fmt::format("{} {}", format_endpoint(e.addr, e.port), e.births);
                    }));
    lines.push_back("  top lport:     " + text_list(r.top_lport, [](const PortCount& p) {
                        return fmt::format("{} {}", p.port, p.births);
                    }));
    lines.push_back("  closers:       " + text_list(r.closers, [&](const CloserCount& c) {
                        return closer_text(c, cgroup_of(c));
                    }));
    lines.push_back(r.remaining_p50_ms
                        ? fmt::format("  remaining:     p50 {}, max {}",
                                      seconds(*r.remaining_p50_ms), seconds(*r.remaining_max_ms))
                        : std::string("  remaining:     -"));
    std::string buckets = r.limits.max_buckets
                              ? fmt::format("{}/{} tw_buckets ({:.1f}%)", r.live,
                                            *r.limits.max_buckets, r.buckets_pct.value_or(0.0))
                              : std::string("tw_buckets unknown");
    std::string range = r.limits.port_range ? fmt::format("ports {}-{}", r.limits.port_range->first,
                                                          r.limits.port_range->second)
                                            : std::string("ports unknown");
    lines.push_back(fmt::format("  pressure:      {}; {}: {}", buckets, range,
                                text_list(r.pressure, [](const PortPressure& p) {
                                    return fmt::format("{} {:.1f}% ({} TIME_WAIT, {} other)",
                                                       format_endpoint(p.addr, p.port), p.pct,
                                                       p.timewait, p.other);
                                })));
    for (const std::string& w : r.warnings) {
        lines.push_back("  WARNING: " + w);
    }
    return lines;
}

std::string TimewaitFormatter::json_line(const TimewaitReport& r) const {
    JsonObject json;
    json.field("ts", clock_.rfc3339(r.ts_ns))
        .field("interval_s", r.interval_s)
        .field("births", r.births)
        .field("births_per_s", r.births_per_s)
        .field("deaths", r.deaths)
        .field("deaths_per_s", r.deaths_per_s)
        .field("early_deaths", r.early_deaths)
        .field("corrections", r.corrections)
        .field("live", r.live)
        .raw_field(
            "side",
            JsonObject().field("client", r.client_side).field("server", r.server_side).finish())
        .raw_field("top_remote", json_array(r.top_remote,
                                            [](const EndpointCount& e) {
                                                return JsonObject()
                                                    .field("addr", to_string(e.addr))
                                                    .field("port",
                                                           static_cast<std::uint64_t>(e.port))
                                                    .field("births", e.births)
                                                    .finish();
                                            }))
        .raw_field("top_lport", json_array(r.top_lport,
                                           [](const PortCount& p) {
                                               return JsonObject()
                                                   .field("port",
                                                          static_cast<std::uint64_t>(p.port))
                                                   .field("births", p.births)
                                                   .finish();
                                           }))
        .raw_field("closers", json_array(r.closers, [&](const CloserCount& c) {
                       JsonObject o;
                       o.optional_field("pid", c.pid);
                       if (c.pid) {
                           o.field("comm", c.comm);
                       } else {
                           o.null_field("comm");
                       }
                       const CgroupName* cgroup = cgroup_of(c);
                       if (cgroup != nullptr) {
                           o.field("cgroup", cgroup->path);
                       } else {
                           o.null_field("cgroup");
                       }
                       if (cgroup != nullptr && !cgroup->unit.empty()) {
                           o.field("unit", cgroup->unit);
                       } else {
                           o.null_field("unit");
                       }
                       return o.field("side", side_name(c.side)).field("count", c.count).finish();
                   }));
    if (r.remaining_p50_ms) {
        json.raw_field("remaining_ms", JsonObject()
                                           .field("p50", *r.remaining_p50_ms)
                                           .field("max", *r.remaining_max_ms)
                                           .finish());
    } else {
        json.null_field("remaining_ms");
    }
    json.optional_field("tw_buckets_max", r.limits.max_buckets)
        .optional_field("tw_buckets_pct", r.buckets_pct);
    if (r.limits.port_range) {
        json.raw_field("port_range", fmt::format("[{},{}]", r.limits.port_range->first,
                                                 r.limits.port_range->second));
    } else {
        json.null_field("port_range");
    }
    json.raw_field("port_pressure", json_array(r.pressure,
                                               [](const PortPressure& p) {
                                                   return JsonObject()
                                                       .field("addr", to_string(p.addr))
                                                       .field("port",
                                                              static_cast<std::uint64_t>(p.port))
                                                       .field("timewait", p.timewait)
                                                       .field("other", p.other)
                                                       .field("pct", p.pct)
                                                       .finish();
                                               }))
        .raw_field("warnings", json_array(r.warnings, json_string))
        .field("listing_age_s", r.listing_age_s);
    if (r.final) {
        json.field("final", true);
    }
    return json.finish();
}

}  // namespace tcpscope
