// Checks the kernel and our privileges before loading, so each missing piece
// becomes one clear line instead of a verifier log.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace tcpscope {

struct KernelFeatures {
    bool has_btf = false;
    bool has_set_state_tracepoint = false;  // btf_trace_inet_sock_set_state in BTF
    bool has_ringbuf = false;
    // bpf_get_socket_cookie() callable from tp_btf (5.12+); without it the BPF
    // side gives sockets its own ids and reconciliation matches by address.
    bool has_socket_cookie = false;
    // enum skb_drop_reason (5.17+, when kfree_skb gained its reason), value to
    // name without the SKB_DROP_REASON_ prefix: read from this kernel's BTF,
    // as the values differ between kernels. Empty: no drop reasons.
    std::map<std::uint32_t, std::string> drop_reasons;
};

// Throws StartupError(NotPermitted) without CAP_BPF+CAP_PERFMON (or CAP_SYS_ADMIN).
void require_bpf_privileges();

KernelFeatures probe_kernel_features();

// Throws StartupError naming the first feature tcpscope cannot run without.
void require_features(const KernelFeatures& features);

}  // namespace tcpscope
