// Load-time probe, never attached: can a tp_btf program call
// bpf_get_socket_cookie() on the tracepoint's socket? Kernels before 5.12 do not
// offer the helper to tracing programs (the verifier rejects it as an unknown
// func), and the main object then builds its own socket ids instead.
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

__u64 seen_cookie = 0;

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(probe_socket_cookie, struct sock *sk, int oldstate, int newstate)
{
    seen_cookie = bpf_get_socket_cookie(sk);
    return 0;
}
