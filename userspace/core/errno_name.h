#pragma once

#include <string>

namespace tcpscope {

// "ECONNREFUSED" for 111; "E<n>" for numbers glibc has no name for.
std::string errno_name(int err);

}  // namespace tcpscope
