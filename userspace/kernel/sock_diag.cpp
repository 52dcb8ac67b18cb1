#include "kernel/sock_diag.h"

#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <stdexcept>

namespace tcpscope {
namespace {

std::runtime_error system_error(const std::string& what) {
    return std::runtime_error(what + ": " + std::strerror(errno));
}

// An fd closed on scope exit.
struct ScopedFd {
    int fd;
    ~ScopedFd() {
        if (fd >= 0) {
            close(fd);
        }
    }
};

int open_diag_socket() {
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) {
        throw system_error("opening a sock_diag netlink socket");
    }
    return fd;
}

// Creates the netlink socket inside the target namespace and comes back.
int open_diag_socket_in(const std::string& netns_path) {
    ScopedFd home{open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)};
    ScopedFd target{open(netns_path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (home.fd < 0 || target.fd < 0) {
        throw system_error("opening network namespace " + netns_path);
    }
    if (setns(target.fd, CLONE_NEWNET) != 0) {
        throw system_error("entering network namespace " + netns_path);
    }
    int fd = -1;
    int saved = 0;
    try {
        fd = open_diag_socket();
    } catch (...) {
        saved = errno;
    }
    if (setns(home.fd, CLONE_NEWNET) != 0) {
        // Staying in the wrong namespace would silently mislead everything after.
        std::abort();
    }
    if (fd < 0) {
        errno = saved;
        throw system_error("opening a sock_diag netlink socket in " + netns_path);
    }
    return fd;
}

ListedSocket from_diag(const inet_diag_msg& msg) {
    ListedSocket s;
    s.cookie = static_cast<std::uint64_t>(msg.id.idiag_cookie[0]) |
               (static_cast<std::uint64_t>(msg.id.idiag_cookie[1]) << 32);
    s.saddr.family = msg.idiag_family;
    s.daddr.family = msg.idiag_family;
    std::size_t len = msg.idiag_family == AF_INET ? 4 : 16;
    std::memcpy(s.saddr.bytes.data(), msg.id.idiag_src, len);
    std::memcpy(s.daddr.bytes.data(), msg.id.idiag_dst, len);
    s.sport = ntohs(msg.id.idiag_sport);
    s.dport = ntohs(msg.id.idiag_dport);
    s.state =
        is_known_state(msg.idiag_state) ? static_cast<TcpState>(msg.idiag_state) : TcpState::Close;
    s.timer = msg.idiag_timer;
    s.retrans = msg.idiag_retrans;
    s.expires_ms = msg.idiag_expires;
    s.rqueue = msg.idiag_rqueue;
    s.wqueue = msg.idiag_wqueue;
    s.uid = msg.idiag_uid;
    s.inode = msg.idiag_inode;
    // inet_diag marks timewait sockets with timer 3 and request sockets as
    // SYN_RECV with no inode; both carry only sock_common fields.
    s.is_timewait = msg.idiag_timer == 3;
    s.is_request =
        msg.idiag_state == static_cast<std::uint8_t>(TcpState::SynRecv) && msg.idiag_inode == 0;
    return s;
}

// Fills what the attributes carry: the socket's cgroup (sent unasked since
// 5.7) and, when asked for, the tcp_info counters /proc/net/tcp prints next
// to the timer and sk_meminfo's drop count.
void read_attributes(const nlmsghdr& nlh, ListedSocket& s) {
    int len = static_cast<int>(nlh.nlmsg_len - NLMSG_LENGTH(sizeof(inet_diag_msg)));
    auto* msg = static_cast<const inet_diag_msg*>(NLMSG_DATA(&nlh));
    auto* attr = reinterpret_cast<const rtattr*>(msg + 1);
    for (; RTA_OK(attr, len); attr = RTA_NEXT(attr, len)) {
        if (attr->rta_type == INET_DIAG_CGROUP_ID && RTA_PAYLOAD(attr) >= sizeof(std::uint64_t)) {
            std::memcpy(&s.cgroup_id, RTA_DATA(attr), sizeof(std::uint64_t));
        } else if (attr->rta_type == INET_DIAG_SKMEMINFO &&
                   RTA_PAYLOAD(attr) >= (SK_MEMINFO_DROPS + 1) * sizeof(std::uint32_t)) {
            std::uint32_t drops = 0;
            std::memcpy(
                &drops,
                static_cast<const char*>(RTA_DATA(attr)) + SK_MEMINFO_DROPS * sizeof(std::uint32_t),
                sizeof(drops));
            s.drops = drops;
        } else if (attr->rta_type == INET_DIAG_INFO &&
                   RTA_PAYLOAD(attr) > offsetof(tcp_info, tcpi_probes)) {
            auto* info = static_cast<const std::uint8_t*>(RTA_DATA(attr));
            s.retransmits = info[offsetof(tcp_info, tcpi_retransmits)];
            s.probes = info[offsetof(tcp_info, tcpi_probes)];
        }
    }
}

// err: 0 or a negative errno, as netlink reports it.
void fail_if_error(int err) {
    if (err == 0) {
        return;
    }
    if (err == -ENOENT) {
        throw ListingUnavailable(
            "the kernel cannot list TCP sockets: sock_diag has no tcp_diag (not built in, and "
            "`modprobe tcp_diag` failed or is not allowed)");
    }
    errno = -err;
    throw system_error("sock_diag dump");
}

}  // namespace

SockDiag::SockDiag(const std::optional<std::string>& netns_path)
    : fd_(netns_path ? open_diag_socket_in(*netns_path) : open_diag_socket()) {}

SockDiag::~SockDiag() {
    close(fd_);
}

void SockDiag::check_tcp_listing() {
    std::vector<ListedSocket> none;
    dump_into(none, AF_INET, 0);  // no state asked for: the kernel lists nothing
}

std::vector<ListedSocket> SockDiag::dump(int family, std::uint32_t states_mask, bool with_info,
                                         bool with_meminfo) {
    std::vector<ListedSocket> out;
    dump_into(out, family, states_mask, with_info, with_meminfo);
    return out;
}

void SockDiag::dump_into(std::vector<ListedSocket>& out, int family, std::uint32_t states_mask,
                         bool with_info, bool with_meminfo) {
    struct {
        nlmsghdr nlh;
        inet_diag_req_v2 req;
    } request{};
    request.nlh.nlmsg_len = sizeof(request);
    request.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    request.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    request.nlh.nlmsg_seq = ++seq_;
    request.req.sdiag_family = static_cast<std::uint8_t>(family);
    request.req.sdiag_protocol = IPPROTO_TCP;
    request.req.idiag_states = states_mask;
    if (with_info) {
        request.req.idiag_ext |= 1u << (INET_DIAG_INFO - 1);
    }
    if (with_meminfo) {
        request.req.idiag_ext |= 1u << (INET_DIAG_SKMEMINFO - 1);
    }

    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (sendto(fd_, &request, sizeof(request), 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof(kernel)) < 0) {
        throw system_error("sending the sock_diag request");
    }

    std::vector<char> buffer(1 << 16);
    for (;;) {
        ssize_t n = recv(fd_, buffer.data(), buffer.size(), 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw system_error("reading the sock_diag dump");
        }
        auto* nlh = reinterpret_cast<nlmsghdr*>(buffer.data());
        int remaining = static_cast<int>(n);
        for (; NLMSG_OK(nlh, remaining); nlh = NLMSG_NEXT(nlh, remaining)) {
            if (nlh->nlmsg_seq != seq_) {
                continue;
            }
            if (nlh->nlmsg_type == NLMSG_DONE) {
                // A dump that could not start (no tcp_diag) ends here, with
                // its error as the payload: not an empty listing.
                if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
                    fail_if_error(*static_cast<const int*>(NLMSG_DATA(nlh)));
                }
                return;
            }
            if (nlh->nlmsg_type == NLMSG_ERROR) {
                fail_if_error(static_cast<nlmsgerr*>(NLMSG_DATA(nlh))->error);
            }
            if (nlh->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
                nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(inet_diag_msg))) {
                out.push_back(from_diag(*static_cast<inet_diag_msg*>(NLMSG_DATA(nlh))));
                read_attributes(*nlh, out.back());
            }
        }
    }
}

}  // namespace tcpscope
