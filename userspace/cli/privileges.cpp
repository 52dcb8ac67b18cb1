#include "cli/privileges.h"

#include <sys/capability.h>
#include <sys/prctl.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

namespace tcpscope {

namespace {

using Caps = std::unique_ptr<std::remove_pointer_t<cap_t>, decltype(&cap_free)>;

void set_capabilities(const Caps& caps) {
    if (!caps || cap_set_proc(caps.get()) != 0) {
        throw std::runtime_error(std::string("dropping capabilities failed: ") +
                                 std::strerror(errno));
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        throw std::runtime_error(std::string("PR_SET_NO_NEW_PRIVS failed: ") +
                                 std::strerror(errno));
    }
}

}  // namespace

void drop_all_capabilities() {
    set_capabilities(Caps(cap_init(), &cap_free));
}

void drop_capabilities_for_listener(std::uint16_t port) {
    Caps current(cap_get_proc(), &cap_free);
    cap_flag_value_t has = CAP_CLEAR;
    Caps kept(cap_init(), &cap_free);
    if (port < 1024 && current && kept &&
        cap_get_flag(current.get(), CAP_NET_BIND_SERVICE, CAP_PERMITTED, &has) == 0 &&
        has == CAP_SET) {
        cap_value_t bind[] = {CAP_NET_BIND_SERVICE};
        cap_set_flag(kept.get(), CAP_PERMITTED, 1, bind, CAP_SET);
        cap_set_flag(kept.get(), CAP_EFFECTIVE, 1, bind, CAP_SET);
    }
    set_capabilities(kept);
}

}  // namespace tcpscope
