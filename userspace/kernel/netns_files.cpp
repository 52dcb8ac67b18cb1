#include "kernel/netns_files.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace tcpscope {

NetnsFiles::NetnsFiles(const std::optional<std::string>& netns_path,
                       const std::vector<std::string>& paths) {
    auto open_all = [&] {
        for (const std::string& path : paths) {
            fds_.push_back(open(path.c_str(), O_RDONLY | O_CLOEXEC));
        }
    };
    if (!netns_path) {
        open_all();
        return;
    }
    std::string error;
    // setns() changes only the calling thread's namespace: a thread of its own.
    std::thread opener([&] {
        int ns = open(netns_path->c_str(), O_RDONLY | O_CLOEXEC);
        if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) {
            error = "entering network namespace " + *netns_path + ": " + std::strerror(errno);
            if (ns >= 0) {
                close(ns);
            }
            return;
        }
        close(ns);
        open_all();
    });
    opener.join();
    if (!error.empty()) {
        throw std::runtime_error(error);
    }
}

NetnsFiles::~NetnsFiles() {
    for (int fd : fds_) {
        if (fd >= 0) {
            close(fd);
        }
    }
}

std::string NetnsFiles::read(std::size_t i) const {
    if (i >= fds_.size() || fds_[i] < 0) {
        return {};
    }
    std::string text;
    char buf[4096];
    for (off_t at = 0;;) {
        ssize_t n = pread(fds_[i], buf, sizeof(buf), at);
        if (n <= 0) {
            break;
        }
        text.append(buf, static_cast<std::size_t>(n));
        at += n;
    }
    return text;
}

}  // namespace tcpscope
