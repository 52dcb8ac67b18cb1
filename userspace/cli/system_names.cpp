#include "cli/system_names.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>

namespace tcpscope {
namespace {

struct DirCloser {
    void operator()(DIR* d) const { closedir(d); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

bool all_digits(const char* s) {
    if (*s == '\0') {
        return false;
    }
    for (; *s != '\0'; ++s) {
        if (*s < '0' || *s > '9') {
            return false;
        }
    }
    return true;
}

// /proc/PID/cmdline, at most 511 bytes as netstat reads it.
std::optional<std::string> read_cmdline(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return std::nullopt;
    }
    char buffer[511];
    ssize_t n = read(fd, buffer, sizeof(buffer));
    close(fd);
    if (n < 0) {
        return std::nullopt;
    }
    return std::string(buffer, static_cast<std::size_t>(n));
}

}  // namespace

std::optional<std::string> SystemNames::host_v4(const IpAddress& addr) {
    auto [it, fresh] = hosts_v4_.try_emplace(addr.bytes);
    if (fresh) {
        if (hostent* h = gethostbyaddr(addr.bytes.data(), 4, AF_INET); h != nullptr) {
            it->second = h->h_name;
        }
    }
    return it->second;
}

std::optional<std::string> SystemNames::network_v4(const IpAddress& addr) {
    std::uint32_t host_order = 0;
    std::memcpy(&host_order, addr.bytes.data(), 4);
    if (netent* n = getnetbyaddr(ntohl(host_order), AF_INET); n != nullptr) {
        return std::string(n->n_name);
    }
    return std::nullopt;
}

std::string SystemNames::host_v6(const IpAddress& addr) {
    auto [it, fresh] = hosts_v6_.try_emplace(addr.bytes);
    if (fresh) {
        sockaddr_in6 sin6{};
        sin6.sin6_family = AF_INET6;
        std::memcpy(&sin6.sin6_addr, addr.bytes.data(), 16);
        char name[NI_MAXHOST] = {};
        if (getnameinfo(reinterpret_cast<sockaddr*>(&sin6), sizeof(sin6), name, sizeof(name),
                        nullptr, 0, 0) == 0) {
            it->second = name;
        } else {
            it->second = to_string(addr);
        }
    }
    return it->second;
}

std::optional<std::string> SystemNames::service(std::uint16_t port) {
    if (!services_) {
        // As netstat: every tcp entry of getservent(); a later entry for the
        // same port replaces an earlier one. Primary names only.
        services_.emplace();
        setservent(0);
        while (servent* s = getservent()) {
            if (s->s_proto != nullptr && std::strcmp(s->s_proto, "tcp") == 0) {
                (*services_)[ntohs(static_cast<std::uint16_t>(s->s_port))] = s->s_name;
            }
        }
        endservent();
    }
    auto it = services_->find(port);
    return it == services_->end() ? std::nullopt : std::optional<std::string>(it->second);
}

std::optional<std::string> SystemNames::user(std::uint32_t uid) {
    auto [it, fresh] = users_.try_emplace(uid);
    if (fresh) {
        if (passwd* pw = getpwuid(uid); pw != nullptr) {
            it->second = pw->pw_name;
        }
    }
    return it->second;
}

std::uint64_t socket_inode_of_link(std::string_view link) {
    std::string_view digits;
    if (link.starts_with("socket:[") && link.ends_with("]")) {
        digits = link.substr(8, link.size() - 9);
    } else if (link.starts_with("[0000]:")) {
        digits = link.substr(7);
    } else {
        return 0;
    }
    std::uint64_t inode = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), inode);
    return ec == std::errc() && end == digits.data() + digits.size() ? inode : 0;
}

ProcPrograms::ProcPrograms(std::string proc_root) {
    DirPtr proc(opendir(proc_root.c_str()));
    if (!proc) {
        incomplete_ = true;
        return;
    }
    // Our own sock_diag socket is none of the table's business (netstat holds
    // no socket while it scans), and would turn "No info could be read" into
    // "Not all processes could be identified" for an unprivileged user.
    const std::string self = std::to_string(getpid());
    while (dirent* pid_entry = readdir(proc.get())) {
        if (!all_digits(pid_entry->d_name) || self == pid_entry->d_name) {
            continue;
        }
        std::string pid_dir = proc_root + "/" + pid_entry->d_name;
        errno = 0;
        DirPtr fds(opendir((pid_dir + "/fd").c_str()));
        if (!fds) {
            incomplete_ = incomplete_ || errno == EACCES;
            continue;
        }
        std::optional<std::string> label;  // read once per pid, on its first socket
        while (dirent* fd_entry = readdir(fds.get())) {
            std::string fd_path = pid_dir + "/fd/" + fd_entry->d_name;
            char link[256];
            ssize_t n = readlink(fd_path.c_str(), link, sizeof(link) - 1);
            if (n <= 0) {
                continue;
            }
            std::uint64_t inode = socket_inode_of_link(std::string_view(link, n));
            if (inode == 0 || by_inode_.contains(inode)) {
                continue;
            }
            if (!label) {
                auto cmdline = read_cmdline(pid_dir + "/cmdline");
                if (!cmdline) {
                    break;
                }
                label = netstat_program(pid_entry->d_name, *cmdline);
            }
            by_inode_.emplace(inode, *label);
        }
    }
}

std::optional<std::string> ProcPrograms::program(std::uint64_t inode) {
    auto it = by_inode_.find(inode);
    return it == by_inode_.end() ? std::nullopt : std::optional<std::string>(it->second);
}

}  // namespace tcpscope
