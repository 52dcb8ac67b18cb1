// Least privilege after attach: once the BPF programs are attached and every
// fd the command needs is open, nothing it does needs a capability (ring
// buffers are read through mmap and epoll; map lookups and prog info on fds
// already held need none since Linux 5.19). Kernels before 5.19 refuse every
// bpf() command without CAP_BPF while kernel.unprivileged_bpf_disabled is set,
// Debian's default: there, and only there, CAP_BPF stays.
#pragma once

#include <cstdint>
#include <functional>

namespace tcpscope {

enum class BpfAfterDrop { NeedsNothing, KeepsCapBpf };

// Runs `bpf_call` (one bpf() command on an fd already held, true when it
// worked) with an empty effective set, then restores the set: the kernel's own
// answer to whether bpf() on held fds needs a capability. Logs one warning
// when it does.
BpfAfterDrop probe_bpf_after_drop(const std::function<bool()>& bpf_call);

// Empties the permitted, effective and inheritable sets (and so the ambient
// set), except CAP_BPF with KeepsCapBpf, and sets PR_SET_NO_NEW_PRIVS.
// Throws std::runtime_error on failure.
void drop_all_capabilities(BpfAfterDrop bpf = BpfAfterDrop::NeedsNothing);

// Like drop_all_capabilities(), but for a port below 1024 keeps
// CAP_NET_BIND_SERVICE (when the process has it) so a listener on it can
// still be opened. Threads inherit a thread's capabilities when they are
// created: start threads (an HTTP server's) after this, then call
// drop_all_capabilities(); with a port below 1024 they keep that one.
void drop_capabilities_for_listener(std::uint16_t port, BpfAfterDrop bpf);

}  // namespace tcpscope
