// The counters /proc/net/netstat and /proc/net/snmp print, by "Group.Name"
// ("TcpExt.ListenOverflows", "Tcp.OutRsts"): pairs of lines, names then values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace tcpscope {

using ProcNetCounters = std::map<std::string, std::uint64_t>;

// Adds every counter of text to out; a malformed pair of lines is skipped.
void parse_proc_net_counters(std::string_view text, ProcNetCounters& out);

}  // namespace tcpscope
