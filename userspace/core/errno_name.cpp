#include "core/errno_name.h"

#include <cstring>

namespace tcpscope {

std::string errno_name(int err) {
    const char* name = strerrorname_np(err);
    if (name != nullptr) {
        return name;
    }
    return "E" + std::to_string(err);
}

}  // namespace tcpscope
