#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tcpscope {

// "4026531840" -> that inode; "/run/netns/x" or "/proc/PID/ns/net" -> the
// inode of the network namespace the path names. Throws std::invalid_argument
// with one clear line when the path is missing or is not a network namespace.
std::uint32_t resolve_netns(const std::string& spec);

// The inode of the network namespace this process runs in.
std::uint32_t current_netns_inode();

// A path that opens the network namespace `spec` names (INODE or PATH), for
// setns(): the path itself, or for an inode /run/netns/* or /proc/PID/ns/net
// of a process in it. Empty when it is our own namespace. Throws
// std::invalid_argument when no path leads to that inode.
std::optional<std::string> netns_open_path(const std::string& spec);

}  // namespace tcpscope
