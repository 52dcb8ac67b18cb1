// The real NameLookup and ProgramLookup: the C library's resolver, services
// and passwd databases, and netstat's /proc fd scan. Results are cached for
// the life of the object, as netstat caches them for one table.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <unordered_map>

#include "views/netstat_format.h"

namespace tcpscope {

class SystemNames : public NameLookup {
  public:
    std::optional<std::string> host_v4(const IpAddress& addr) override;
    std::optional<std::string> network_v4(const IpAddress& addr) override;
    std::string host_v6(const IpAddress& addr) override;
    std::optional<std::string> service(std::uint16_t port) override;
    std::optional<std::string> user(std::uint32_t uid) override;

  private:
    std::map<std::array<std::uint8_t, 16>, std::optional<std::string>> hosts_v4_;
    std::map<std::array<std::uint8_t, 16>, std::string> hosts_v6_;
    std::optional<std::unordered_map<std::uint16_t, std::string>> services_;
    std::unordered_map<std::uint32_t, std::optional<std::string>> users_;
};

// Scans /proc/<pid>/fd/* once, as netstat -p does: the first pid readdir
// returns for an inode wins; the name follows netstat's argv0 rules.
class ProcPrograms : public ProgramLookup {
  public:
    explicit ProcPrograms(std::string proc_root = "/proc");
    std::optional<std::string> program(std::uint64_t inode) override;
    // True when some process's fds could not be read (EACCES: not root).
    bool incomplete() const { return incomplete_; }
    bool found_any() const { return !by_inode_.empty(); }

  private:
    std::unordered_map<std::uint64_t, std::string> by_inode_;
    bool incomplete_ = false;
};

// The inode in a socket fd's link text: "socket:[N]" or "[0000]:N"; 0 if neither.
std::uint64_t socket_inode_of_link(std::string_view link);

}  // namespace tcpscope
