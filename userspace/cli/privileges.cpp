#include "cli/privileges.h"

#include <sys/capability.h>
#include <sys/prctl.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

namespace tcpscope {

void drop_all_capabilities() {
    std::unique_ptr<std::remove_pointer_t<cap_t>, decltype(&cap_free)> empty(cap_init(), &cap_free);
    if (!empty || cap_set_proc(empty.get()) != 0) {
        throw std::runtime_error(std::string("dropping capabilities failed: ") +
                                 std::strerror(errno));
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        throw std::runtime_error(std::string("PR_SET_NO_NEW_PRIVS failed: ") +
                                 std::strerror(errno));
    }
}

}  // namespace tcpscope
