#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tcpscope {

// "4026531840" -> that inode; "/run/netns/x" or "/proc/PID/ns/net" -> the
// inode of the network namespace the path names. Throws std::invalid_argument
// with one clear line when the path is missing or is not a network namespace.
std::uint32_t resolve_netns(const std::string& spec);

// A path that opens the network namespace a --netns value names: the value
// itself when it is a path; for an inode, a /run/netns entry or a process's
// /proc/PID/ns/net with that inode. Throws std::invalid_argument if none.
std::string netns_path_for(const std::string& spec);

// The inode of the network namespace this process runs in.
std::uint32_t current_netns_inode();

// The path to enter for a --netns value, to open a socket or a file inside
// it; none for no value or for the namespace we already run in (which needs
// no setns(), and so no CAP_SYS_ADMIN).
std::optional<std::string> netns_path_to_enter(const std::optional<std::string>& spec);

}  // namespace tcpscope
