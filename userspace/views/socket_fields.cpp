#include "views/socket_fields.h"

#include "core/cgroup_name.h"

#include <sys/socket.h>

#include "core/text_append.h"
#include "views/escape.h"

namespace tcpscope {
namespace {

// A connect() that failed before routing has no source address yet.
bool source_known(const Transition& t) {
    return !(t.connect_sync && t.saddr.is_unspecified());
}

}  // namespace

void append_socket_fields(JsonObject& json, const Transition& t, const WallClock& clock,
                          CgroupNames* cgroups) {
    json.plain_string_field("ts", [&](std::string& o) { clock.append_rfc3339(o, t.ts_ns); })
        .field("ts_ns", t.ts_ns);
    if (t.cookie != 0) {
        json.field("cookie", t.cookie);
    } else {
        json.null_field("cookie");  // a socket the kernel never gave a cookie
    }
    json.field("netns", static_cast<std::uint64_t>(t.netns));
    if (t.owner) {
        json.field("pid", static_cast<std::uint64_t>(t.owner->pid)).field("comm", t.owner->comm);
    } else {
        json.null_field("pid").null_field("comm");
    }
    const CgroupName* cgroup =
        cgroups != nullptr && t.owner ? cgroups->find(t.owner->cgroup_id) : nullptr;
    auto text_or_null = [&](std::string_view key, const std::string* text) {
        if (text != nullptr && !text->empty()) {
            json.field(key, *text);
        } else {
            json.null_field(key);
        }
    };
    text_or_null("cgroup", cgroup ? &cgroup->path : nullptr);
    text_or_null("unit", cgroup ? &cgroup->unit : nullptr);
    text_or_null("container", cgroup ? &cgroup->container : nullptr);
    json.field("family", t.family() == AF_INET6 ? 6 : 4);
    if (source_known(t)) {
        json.plain_string_field("saddr", [&](std::string& o) { append_address(o, t.saddr); });
    } else {
        json.null_field("saddr");
    }
    json.optional_field("sport", t.sport)
        .plain_string_field("daddr", [&](std::string& o) { append_address(o, t.daddr); })
        .field("dport", static_cast<std::uint64_t>(t.dport));
}

void append_micros_field(JsonObject& json, std::string_view key, std::optional<std::uint64_t> ns) {
    if (ns) {
        std::string us;
        append_thousandths(us, *ns);  // ns -> us with 3 decimals
        json.raw_field(key, us);
    } else {
        json.null_field(key);
    }
}

std::string pid_text(const Transition& t) {
    return t.owner ? std::to_string(t.owner->pid) : "-";
}

std::string comm_text(const Transition& t) {
    return t.owner ? escape_for_terminal(t.owner->comm) : "-";
}

std::string local_endpoint_text(const Transition& t) {
    if (!source_known(t)) {
        return t.sport ? "-:" + std::to_string(*t.sport) : "-";
    }
    return format_endpoint(t.saddr, t.sport);
}

std::string remote_endpoint_text(const Transition& t) {
    return format_endpoint(t.daddr, t.dport);
}

std::string millis_text(std::optional<std::uint64_t> ns) {
    if (!ns) {
        return "-";
    }
    std::string ms;
    append_thousandths(ms, (*ns + 500) / 1000);  // ms with 3 decimals, rounded
    return ms;
}

}  // namespace tcpscope
