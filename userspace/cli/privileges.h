// Least privilege after attach: once the BPF programs are attached and every
// fd the command needs is open, nothing it does needs a capability (ring
// buffers are read through mmap and epoll; map lookups and prog info on fds
// already held need none since Linux 6.5).
#pragma once

#include <cstdint>

namespace tcpscope {

// Empties the permitted, effective and inheritable sets (and so the ambient
// set) and sets PR_SET_NO_NEW_PRIVS. Throws std::runtime_error on failure.
void drop_all_capabilities();

// Like drop_all_capabilities(), but for a port below 1024 keeps
// CAP_NET_BIND_SERVICE (when the process has it) so a listener on it can
// still be opened. Threads inherit a thread's capabilities when they are
// created: start threads (an HTTP server's) after this, then call
// drop_all_capabilities(); with a port below 1024 they keep that one.
void drop_capabilities_for_listener(std::uint16_t port);

}  // namespace tcpscope
