#include "kernel/netns_sysctl.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace tcpscope {
namespace {

constexpr const char* kMaxBuckets = "/proc/sys/net/ipv4/tcp_max_tw_buckets";
constexpr const char* kPortRange = "/proc/sys/net/ipv4/ip_local_port_range";

std::string read_fd(int fd) {
    if (fd < 0) {
        return {};
    }
    char buf[128];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace

TimewaitSysctls::TimewaitSysctls(const std::string& netns_path) {
    std::string error;
    // setns() changes only the calling thread's namespace: do it in a thread
    // of its own, so the rest of the process never leaves home.
    std::thread opener([&] {
        int ns = open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
        if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) {
            error = "entering network namespace " + netns_path + ": " + std::strerror(errno);
            if (ns >= 0) {
                close(ns);
            }
            return;
        }
        close(ns);
        max_buckets_fd_ = open(kMaxBuckets, O_RDONLY | O_CLOEXEC);
        port_range_fd_ = open(kPortRange, O_RDONLY | O_CLOEXEC);
    });
    opener.join();
    if (!error.empty()) {
        throw std::runtime_error(error);
    }
}

TimewaitSysctls::TimewaitSysctls()
    : max_buckets_fd_(open(kMaxBuckets, O_RDONLY | O_CLOEXEC)),
      port_range_fd_(open(kPortRange, O_RDONLY | O_CLOEXEC)) {}

TimewaitSysctls::~TimewaitSysctls() {
    for (int fd : {max_buckets_fd_, port_range_fd_}) {
        if (fd >= 0) {
            close(fd);
        }
    }
}

TimewaitLimits TimewaitSysctls::read() const {
    TimewaitLimits limits;
    std::istringstream buckets(read_fd(max_buckets_fd_));
    if (std::uint64_t max = 0; buckets >> max) {
        limits.max_buckets = max;
    }
    std::istringstream range(read_fd(port_range_fd_));
    if (unsigned lo = 0, hi = 0; range >> lo >> hi && lo <= hi && hi <= 65535) {
        limits.port_range = std::pair<std::uint16_t, std::uint16_t>{static_cast<std::uint16_t>(lo),
                                                                    static_cast<std::uint16_t>(hi)};
    }
    return limits;
}

}  // namespace tcpscope
