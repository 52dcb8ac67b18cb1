// `tcpscope netstat` output, byte for byte as net-tools netstat 2.10 prints
// TCP sockets (see /work/shared/docs/netstat-format.md). Pure: names come
// through the NameLookup and ProgramLookup interfaces, so unit tests use fakes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/cgroup_name.h"
#include "core/churn.h"
#include "core/listed_socket.h"
#include "core/socket_table.h"
#include "core/transition.h"

namespace tcpscope {

struct NetstatFlags {
    bool all = false;        // -a: every row
    bool listening = false;  // -l: rows with remote port 0 only
    bool numeric = false;    // -n: hosts, ports and users as numbers
    bool extend = false;     // -e: User and Inode
    bool programs = false;   // -p: PID/Program name
    bool timers = false;     // -o: Timer
    bool wide = false;       // -W: no address truncation
    bool age = false;        // --age (extra)
    bool owner = false;      // --owner (extra)
    bool cgroup = false;     // --cgroup (extra)
};

// The system's name services, as netstat calls them. Implementations cache.
class NameLookup {
  public:
    virtual ~NameLookup() = default;
    // gethostbyaddr() h_name of an IPv4 address (network order bytes).
    virtual std::optional<std::string> host_v4(const IpAddress& addr) = 0;
    // getnetbyaddr() n_name, for IPv4 addresses whose first byte is 0.
    virtual std::optional<std::string> network_v4(const IpAddress& addr) = 0;
    // getnameinfo(flags 0) of an IPv6 address: a name, or its numeric form.
    virtual std::string host_v6(const IpAddress& addr) = 0;
    // The primary name of a TCP port in the services database, the last
    // entry winning for a duplicated port.
    virtual std::optional<std::string> service(std::uint16_t port) = 0;
    // getpwuid() pw_name.
    virtual std::optional<std::string> user(std::uint32_t uid) = 0;
};

// Socket inode -> "PID/name" as netstat's /proc fd scan builds it.
class ProgramLookup {
  public:
    virtual ~ProgramLookup() = default;
    virtual std::optional<std::string> program(std::uint64_t inode) = 0;
};

// One row: what the kernel listed, plus what the live table knows.
struct NetstatRow {
    ListedSocket socket;
    std::optional<std::uint64_t> age_ns;  // time in current state; unknown: "-"
    std::optional<Owner> owner;
    std::uint64_t cgroup_id = 0;  // the listing's, else the owner's; 0 unknown
};

// The two header lines, each ending in '\n'.
std::string netstat_header(const NetstatFlags& flags);

// netstat's row filter: it tests the remote port, not the state.
bool netstat_shows(const NetstatFlags& flags, const ListedSocket& socket);

// One row, ending in '\n'. programs and cgroups may be null: '-'.
std::string netstat_row(const NetstatRow& row, const NetstatFlags& flags, NameLookup& names,
                        ProgramLookup* programs, CgroupNames* cgroups = nullptr);

// The rows of a listing that the flags show, in the listing's order, with the
// age and owner the live table knows (table may be null). The age is given
// only while the table's state agrees with the listing's.
std::vector<NetstatRow> netstat_rows(const std::vector<ListedSocket>& listing,
                                     const NetstatFlags& flags, const SocketTable* table,
                                     std::uint64_t now_ns);

// /proc/net/tcp shows a request socket with its listener's uid; inet_diag
// reports 0. Copies the uid of the listener on the same local port.
void inherit_listener_uids(std::vector<ListedSocket>& listing);

// With -c --short-lived: the sockets born and closed since the last table.
std::string short_lived_block(const std::vector<ShortLived>& sockets, const NetstatFlags& flags,
                              NameLookup& names);

// --- the pieces, exposed for tests ---

// Host text of an address: numeric or resolved, wildcards, v4-mapped cut.
std::string netstat_host(const IpAddress& addr, bool numeric, NameLookup& names);
// Joins host and port text, truncating to 23 bytes unless wide.
std::string netstat_endpoint(std::string_view host, std::string_view port, bool wide);
// "off (0.00/0/0)", "on (2.60/6/0)", "timewait (51.40/0/0)", ...
std::string netstat_timer(std::uint8_t timer, std::uint64_t ticks, unsigned retransmits,
                          unsigned probes);
// "PID/name" from a pid and the bytes of /proc/PID/cmdline, capped at 19 bytes.
std::string netstat_program(std::string_view pid, std::string_view cmdline);
// "420us", "850ms", "12.4s", "-".
std::string age_text(std::optional<std::uint64_t> ns);

}  // namespace tcpscope
