#include "cli/netns_path.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
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

std::uint32_t current_netns_inode() {
    return resolve_netns("/proc/self/ns/net");
}

namespace {

bool names_inode(const std::string& path, std::uint32_t inode) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 && st.st_ino == inode;
}

std::optional<std::string> find_in_dir(const char* dir, const char* suffix, std::uint32_t inode) {
    std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(dir), closedir);
    if (!d) {
        return std::nullopt;
    }
    while (dirent* e = readdir(d.get())) {
        if (e->d_name[0] == '.') {
            continue;
        }
        std::string path = std::string(dir) + "/" + e->d_name + suffix;
        if (names_inode(path, inode)) {
            return path;
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::string> netns_open_path(const std::string& spec) {
    std::uint32_t inode = resolve_netns(spec);
    if (inode == current_netns_inode()) {
        return std::nullopt;
    }
    if (names_inode(spec, inode)) {
        return spec;
    }
    for (auto [dir, suffix] : {std::pair{"/run/netns", ""}, std::pair{"/proc", "/ns/net"}}) {
        if (auto path = find_in_dir(dir, suffix, inode)) {
            return path;
        }
    }
    throw std::invalid_argument("--netns: no /run/netns entry or process is in netns " + spec +
                                "; pass a path instead");
}

}  // namespace tcpscope
