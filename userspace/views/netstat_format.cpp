#include "views/netstat_format.h"

#include <sys/socket.h>

#include <algorithm>

#include <fmt/format.h>

#include "core/errno_name.h"
#include "core/text_append.h"
#include "views/escape.h"

namespace tcpscope {
namespace {

// netstat's short_len: host + port longer than this are cut (plus ':' = 23).
constexpr std::size_t kShortLen = 22;
constexpr std::size_t kAddressWidth = 23;
// netstat formats "PID/name" into a 20-byte buffer.
constexpr std::size_t kProgramBytes = 19;
// /proc/net/tcp prints timers in USER_HZ ticks.
constexpr std::uint32_t kMsPerTick = 10;

bool is_v4_mapped(const IpAddress& addr) {
    static constexpr std::uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return addr.family == AF_INET6 && std::equal(kPrefix, kPrefix + 12, addr.bytes.begin());
}

// lib/inet6.c's fix_v4_address: "::ffff:1.2.3.4" -> "1.2.3.4".
std::string cut_v4_mapped(std::string text) {
    std::size_t dot = text.find('.');
    if (dot == std::string::npos) {
        return text;
    }
    std::size_t colon = text.rfind(':', dot);
    if (colon == std::string::npos) {
        return text;
    }
    return text.substr(colon + 1);
}

// Names come from files and processes anyone may write (/etc/hosts, DNS,
// argv0). netstat prints them raw; tcpscope keeps them raw while they are
// printable ASCII, as every ordinary name is, and escapes them otherwise so
// no control sequence reaches the terminal.
std::string safe(std::string name) {
    bool plain =
        std::all_of(name.begin(), name.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
    return plain ? name : escape_for_terminal(name);
}

std::string port_text(std::uint16_t port, bool numeric, NameLookup& names) {
    if (port == 0) {
        return "*";
    }
    if (!numeric) {
        if (auto name = names.service(port)) {
            return safe(std::move(*name));
        }
    }
    return std::to_string(port);
}

// port: nullopt when it is not known ("-").
std::string endpoint(const IpAddress& addr, std::optional<std::uint16_t> port,
                     const NetstatFlags& flags, NameLookup& names) {
    return netstat_endpoint(netstat_host(addr, flags.numeric, names),
                            port ? port_text(*port, flags.numeric, names) : "-", flags.wide);
}

// netstat prints an unnamed uid with %d.
std::string user_text(std::uint32_t uid, bool numeric, NameLookup& names) {
    std::optional<std::string> user = numeric ? std::nullopt : names.user(uid);
    return user ? safe(std::move(*user)) : std::to_string(static_cast<std::int32_t>(uid));
}

// The numbers /proc/net/tcp prints after the timer: (retransmits, probes).
std::pair<unsigned, unsigned> timer_counts(const ListedSocket& s) {
    if (s.is_timewait) {
        return {0, 0};
    }
    if (s.is_request) {
        return {s.retrans, 0};
    }
    // inet_diag's idiag_retrans holds retransmits for the retransmit timer and
    // probes for keepalive / zero-window timers; tcp_info has both.
    unsigned retransmits = s.retransmits.value_or(s.timer == 1 ? s.retrans : 0);
    unsigned probes = s.probes.value_or(s.timer == 2 || s.timer == 4 ? s.retrans : 0);
    return {retransmits, probes};
}

std::string owner_text(const std::optional<Owner>& owner) {
    if (!owner || owner->pid == 0) {
        return "-";
    }
    return fmt::format("{}/{}", owner->pid, escape_for_terminal(owner->comm));
}

}  // namespace

std::string netstat_header(const NetstatFlags& flags) {
    std::string out = "Active Internet connections ";
    out += flags.all         ? "(servers and established)"
           : flags.listening ? "(only servers)"
                             : "(w/o servers)";
    out += "\nProto Recv-Q Send-Q Local Address           Foreign Address         State      ";
    if (flags.extend) {
        out += " User       Inode     ";
    }
    if (flags.programs) {
        out += " PID/Program name    ";
    }
    if (flags.age) {
        out += " Age      ";
    }
    if (flags.owner) {
        out += " Owner                ";
    }
    if (flags.cgroup) {
        out += " Cgroup                        ";
    }
    if (flags.timers) {
        out += " Timer";
    }
    out += '\n';
    return out;
}

bool netstat_shows(const NetstatFlags& flags, const ListedSocket& socket) {
    if (flags.all) {
        return true;
    }
    return flags.listening ? socket.dport == 0 : socket.dport != 0;
}

std::string netstat_host(const IpAddress& addr, bool numeric, NameLookup& names) {
    if (addr.family == AF_INET) {
        if (numeric || addr.is_unspecified()) {
            return to_string(addr);
        }
        auto name = addr.bytes[0] == 0 ? names.network_v4(addr) : names.host_v4(addr);
        return name ? safe(std::move(*name)) : to_string(addr);
    }
    std::string text;
    if (numeric) {
        text = to_string(addr);
    } else if (addr.is_unspecified()) {
        return "[::]";
    } else {
        text = safe(names.host_v6(addr));
    }
    return is_v4_mapped(addr) ? cut_v4_mapped(std::move(text)) : text;
}

std::string netstat_endpoint(std::string_view host, std::string_view port, bool wide) {
    if (!wide && host.size() + port.size() > kShortLen) {
        std::size_t port_len = std::min(port.size(), kShortLen - 4);
        host = host.substr(0, kShortLen - port_len);
        port = port.substr(0, port_len);
    }
    std::string out;
    out.reserve(host.size() + port.size() + 1);
    out += host;
    out += ':';
    out += port;
    return out;
}

std::string netstat_timer(std::uint8_t timer, std::uint64_t ticks, unsigned retransmits,
                          unsigned probes) {
    double seconds = static_cast<double>(ticks) / 100.0;
    switch (timer) {
        case 0:
            return fmt::format("off (0.00/{}/{})", retransmits, probes);
        case 1:
            return fmt::format("on ({:.2f}/{}/{})", seconds, retransmits, probes);
        case 2:
            return fmt::format("keepalive ({:.2f}/{}/{})", seconds, retransmits, probes);
        case 3:
            return fmt::format("timewait ({:.2f}/{}/{})", seconds, retransmits, probes);
        case 4:
            return fmt::format("probe ({:.2f}/{}/{})", seconds, retransmits, probes);
        default:
            return fmt::format("unkn-{} ({:.2f}/{}/{})", timer, seconds, retransmits, probes);
    }
}

std::string netstat_program(std::string_view pid, std::string_view cmdline) {
    std::string_view argv0 = cmdline.substr(0, cmdline.find('\0'));
    if (!argv0.empty() && argv0.front() == '/') {
        argv0.remove_prefix(argv0.rfind('/') + 1);
    }
    std::string out = fmt::format("{}/{}", pid, argv0);
    if (out.size() > kProgramBytes) {
        out.resize(kProgramBytes);
    }
    return out;
}

std::string age_text(std::optional<std::uint64_t> ns) {
    if (!ns) {
        return "-";
    }
    if (*ns < 1'000'000ull) {
        return fmt::format("{}us", *ns / 1'000ull);
    }
    if (*ns < 1'000'000'000ull) {
        return fmt::format("{}ms", *ns / 1'000'000ull);
    }
    return fmt::format("{:.1f}s", static_cast<double>(*ns) / 1e9);
}

std::string netstat_row(const NetstatRow& row, const NetstatFlags& flags, NameLookup& names,
                        ProgramLookup* programs, CgroupNames* cgroups) {
    const ListedSocket& s = row.socket;
    bool listener = s.state == TcpState::Listen;
    // What no listing showed is printed as unknown, never as a 0 (or root).
    const bool unknown = s.stream_only;
    std::string local = endpoint(
        s.saddr, unknown && s.sport == 0 ? std::nullopt : std::optional(s.sport), flags, names);
    std::string remote = endpoint(s.daddr, s.dport, flags, names);
    // A request socket is listed as SYN_RECV, as /proc/net/tcp lists it.
    TcpState state = s.state == TcpState::NewSynRecv ? TcpState::SynRecv : s.state;
    std::string out;
    out.reserve(96);
    out += s.saddr.family == AF_INET6 ? "tcp6  " : "tcp   ";
    append_right(out, unknown ? "-" : std::to_string(s.rqueue), 6);
    out += ' ';
    // netstat prints a listener's Send-Q as 0 whatever the kernel says.
    append_right(out, listener ? "0" : unknown ? "-" : std::to_string(s.wqueue), 6);
    out += ' ';
    append_left(out, local, kAddressWidth);
    out += ' ';
    append_left(out, remote, kAddressWidth);
    out += ' ';
    append_left(out, state_name(state), 11);
    if (flags.extend) {
        out += ' ';
        append_left(out, unknown ? "-" : user_text(s.uid, flags.numeric, names), 10);
        out += ' ';
        append_left(out, unknown ? "-" : std::to_string(s.inode), 10);
    }
    if (flags.programs) {
        std::optional<std::string> program =
            programs != nullptr && s.inode != 0 ? programs->program(s.inode) : std::nullopt;
        out += ' ';
        append_left(out, program ? safe(std::move(*program)) : "-", 20);
    }
    if (flags.age) {
        out += ' ';
        append_left(out, age_text(row.age_ns), 9);
    }
    if (flags.owner) {
        out += ' ';
        append_left(out, owner_text(row.owner), 21);
    }
    if (flags.cgroup) {
        const CgroupName* cgroup = cgroups != nullptr ? cgroups->find(row.cgroup_id) : nullptr;
        out += ' ';
        append_left(out, cgroup != nullptr ? escape_for_terminal(cgroup->label()) : "-", 30);
    }
    if (flags.timers) {
        auto [retransmits, probes] = timer_counts(s);
        out += ' ';
        out +=
            unknown ? "-" : netstat_timer(s.timer, s.expires_ms / kMsPerTick, retransmits, probes);
    }
    out += '\n';
    return out;
}

std::vector<NetstatRow> netstat_rows(const std::vector<ListedSocket>& listing,
                                     const NetstatFlags& flags, const SocketTable* table,
                                     std::uint64_t now_ns) {
    std::vector<NetstatRow> rows;
    rows.reserve(listing.size());
    for (const ListedSocket& s : listing) {
        if (!netstat_shows(flags, s)) {
            continue;
        }
        NetstatRow row{s, std::nullopt, std::nullopt, s.cgroup_id};
        if (const SocketEntry* e = table != nullptr ? table->find(s.cookie) : nullptr) {
            row.owner = e->owner;
            // A timewait socket is listed without one: it keeps its owner's.
            if (row.cgroup_id == 0 && e->owner) {
                row.cgroup_id = e->owner->cgroup_id;
            }
            if (e->state == s.state && e->entered_ns && *e->entered_ns <= now_ns) {
                row.age_ns = now_ns - *e->entered_ns;
            }
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

void inherit_listener_uids(std::vector<ListedSocket>& listing) {
    std::vector<const ListedSocket*> listeners;
    for (const ListedSocket& s : listing) {
        if (s.state == TcpState::Listen) {
            listeners.push_back(&s);
        }
    }
    for (ListedSocket& s : listing) {
        if (!s.is_request) {
            continue;
        }
        for (const ListedSocket* l : listeners) {
            bool same_address = l->saddr == s.saddr || l->saddr.is_unspecified();
            if (l->sport == s.sport && same_address) {
                s.uid = l->uid;
                break;
            }
        }
    }
}

std::string short_lived_block(const std::vector<ShortLived>& sockets, const NetstatFlags& flags,
                              NameLookup& names) {
    std::string out = fmt::format("Closed since the previous table: {}\n", sockets.size());
    if (sockets.empty()) {
        return out;
    }
    out +=
        "Proto Local Address           Foreign Address         Lifetime  Final transition      "
        " Error        Owner\n";
    for (const ShortLived& s : sockets) {
        const SocketEntry& e = s.last;
        std::string local = endpoint(e.saddr, e.sport.value_or(0), flags, names);
        std::string remote = endpoint(e.daddr, e.dport, flags, names);
        std::string error = s.sk_err != 0 ? errno_name(s.sk_err) : "-";
        out += fmt::format("{:<5} {:<23} {:<23} {:<9} {:<22} {:<12} {}\n",
                           e.saddr.family == AF_INET6 ? "tcp6" : "tcp", local, remote,
                           age_text(s.closed_ns - s.born_ns),
                           fmt::format("{} -> CLOSE", state_name(s.final_from)), error,
                           owner_text(e.owner));
    }
    return out;
}

}  // namespace tcpscope
