// Least privilege after attach: once the BPF programs are attached and every
// fd the command needs is open, nothing it does needs a capability (ring
// buffers are read through mmap and epoll; map lookups and prog info on fds
// already held need none since Linux 6.5).
#pragma once

namespace tcpscope {

// Empties the permitted, effective and inheritable sets (and so the ambient
// set) and sets PR_SET_NO_NEW_PRIVS. Throws std::runtime_error on failure.
void drop_all_capabilities();

}  // namespace tcpscope
