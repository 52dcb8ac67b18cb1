#include "cli/netns_path.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace tcpscope {

std::uint32_t resolve_netns(const std::string& spec) {
    std::uint64_t inode = 0;
    auto [end, ec] = std::from_chars(spec.data(), spec.data() + spec.size(), inode);
    if (ec == std::errc() && end == spec.data() + spec.size()) {
        if (inode == 0 || inode > UINT32_MAX) {
            throw std::invalid_argument("--netns: inode " + spec + " is out of range");
        }
        return static_cast<std::uint32_t>(inode);
    }

    int fd = open(spec.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw std::invalid_argument("--netns: cannot open " + spec + ": " + std::strerror(errno));
    }
    int type = ioctl(fd, NS_GET_NSTYPE);
    struct stat st {};
    int stat_rc = fstat(fd, &st);
    close(fd);
    if (type != CLONE_NEWNET) {
        throw std::invalid_argument("--netns: " + spec + " is not a network namespace");
    }
    if (stat_rc != 0) {
        throw std::invalid_argument("--netns: cannot stat " + spec);
    }
    return static_cast<std::uint32_t>(st.st_ino);
}

namespace {

bool names_netns_inode(const std::string& path, std::uint32_t inode) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 && st.st_ino == inode;
}

}  // namespace

std::string netns_path_for(const std::string& spec) {
    std::uint32_t inode = resolve_netns(spec);
    if (!std::all_of(spec.begin(), spec.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return spec;
    }
    for (const char* dir : {"/run/netns", "/proc"}) {
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
            std::string path = entry.path().string();
            if (std::string_view(dir) == "/proc") {
                path += "/ns/net";
            }
            if (names_netns_inode(path, inode)) {
                return path;
            }
        }
    }
    throw std::invalid_argument("--netns: no process or /run/netns entry has netns inode " + spec);
}

std::uint32_t current_netns_inode() {
    return resolve_netns("/proc/self/ns/net");
}

std::optional<std::string> netns_path_to_enter(const std::optional<std::string>& spec) {
    if (!spec || resolve_netns(*spec) == current_netns_inode()) {
        return std::nullopt;
    }
    return netns_path_for(*spec);
}

}  // namespace tcpscope
