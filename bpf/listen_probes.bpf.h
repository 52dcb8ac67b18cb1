/* The listen probes: what happens to a listener's connections before the
 * transitions show them. Part of tcpscope.bpf.c (included at its end, so one
 * skeleton and one loader hold everything); loaded only by `tcpscope listen`
 * and `serve --listeners`. They only count, into two maps userspace reads at
 * every sample: nothing crosses the ring buffer. Entries stay for the run
 * (4096 listeners, 4096 drop destinations at most). */

/* This architecture's __NR_accept and __NR_accept4 (-1: none). */
const volatile long accept_syscall_nr = -1;
const volatile long accept4_syscall_nr = -1;

/* Moved on by userspace after each read of listener_stats (see queue_peak). */
__u32 listen_epoch = 0;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u64); /* listener cookie */
    __type(value, struct tcpscope_listener_stats);
} listener_stats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, struct tcpscope_syn_drop_key);
    __type(value, __u64);
} syn_drops SEC(".maps");

/* A listener's cookie. Without cookie support in tracing programs (before
 * 5.12) the one a sock_diag listing gave it (listen lists at every sample);
 * 0 while it has none. */
static __always_inline __u64 listener_cookie(struct sock *sk)
{
    return BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
}

static __always_inline struct tcpscope_listener_stats *stats_of(__u64 cookie, __u32 netns)
{
    struct tcpscope_listener_stats *stats = bpf_map_lookup_elem(&listener_stats, &cookie);
    if (stats)
        return stats;
    struct tcpscope_listener_stats fresh = {.netns = netns};
    bpf_map_update_elem(&listener_stats, &cookie, &fresh, BPF_NOEXIST);
    return bpf_map_lookup_elem(&listener_stats, &cookie);
}

static __always_inline bool netns_selected(__u32 netns)
{
    return !filter_netns || netns == filter_netns;
}

SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(on_retransmit_synack, struct sock *sk, struct request_sock *req)
{
    __u32 netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
    if (!netns_selected(netns))
        return 0;
    __u64 cookie = have_socket_cookie ? bpf_get_socket_cookie(sk) : listener_cookie(sk);
    if (!cookie)
        return 0;
    struct tcpscope_listener_stats *stats = stats_of(cookie, netns);
    if (stats)
        __sync_fetch_and_add(&stats->synack_retrans, 1);
    return 0;
}

static __always_inline long first_syscall_arg(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
    return regs->di;
#elif defined(__TARGET_ARCH_arm64)
    return regs->orig_x0;
#else
    return -1;
#endif
}

static __always_inline __u32 wait_slot(__u64 wait_ns)
{
    __u64 us = wait_ns / 1000;
    __u32 slot = 0;
    for (int i = 0; i < TCPSCOPE_WAIT_SLOTS - 1; i++) {
        if (us < (1ULL << i))
            break;
        slot++;
    }
    return slot;
}

/* accept() and accept4() returning a TCP child: the listener (the call's
 * first argument) counts it, with the child's time in the accept queue (since
 * it reached ESTABLISHED, from the socket cache) and the queue just before.
 * sock_of_fd() is the connect() exit's. */
SEC("tp_btf/sys_exit")
int BPF_PROG(on_accept_exit, struct pt_regs *regs, long ret)
{
    if (ret < 0)
        return 0;
    long nr = syscall_nr(regs);
    if (nr != accept4_syscall_nr && nr != accept_syscall_nr)
        return 0;
    struct sock *listener = sock_of_fd((int)first_syscall_arg(regs));
    if (!listener || BPF_CORE_READ(listener, sk_protocol) != IPPROTO_TCP)
        return 0;
    __u16 family = BPF_CORE_READ(listener, __sk_common.skc_family);
    if (family != AF_INET && family != AF_INET6)
        return 0;
    __u32 netns = BPF_CORE_READ(listener, __sk_common.skc_net.net, ns.inum);
    __u64 cookie = listener_cookie(listener);
    if (!netns_selected(netns) || !cookie)
        return 0;
    struct tcpscope_listener_stats *stats = stats_of(cookie, netns);
    if (!stats)
        return 0;
    __sync_fetch_and_add(&stats->accepted, 1);
    __u32 queue = BPF_CORE_READ(listener, sk_ack_backlog) + 1;
    __u32 epoch = listen_epoch;
    if (stats->peak_epoch != epoch) {
        stats->peak_epoch = epoch;
        stats->queue_peak = queue;
    } else if (queue > stats->queue_peak) {
        stats->queue_peak = queue;
    }

    struct sock *child = sock_of_fd((int)ret);
    if (!child)
        return 0;
    __u64 key = have_socket_cookie ? BPF_CORE_READ(child, __sk_common.skc_cookie.counter)
                                   : (__u64)child;
    struct socket_info *info = key ? bpf_map_lookup_elem(&sockets, &key) : NULL;
    if (!info || !info->entered_ns)
        return 0;
    __u64 now = bpf_ktime_get_ns();
    if (now < info->entered_ns)
        return 0;
    __u64 waited = now - info->entered_ns;
    __sync_fetch_and_add(&stats->waited, 1);
    __sync_fetch_and_add(&stats->wait_ns_total, waited);
    __u32 slot = wait_slot(waited);
    if (slot < TCPSCOPE_WAIT_SLOTS)
        __sync_fetch_and_add(&stats->wait_slots[slot], 1);
    return 0;
}

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_ACK 0x10

/* A freed packet with the kernel's reason (5.17+; not loaded before): SYNs
 * (a connect to this host: no listener, a full queue, a filter) and accept-
 * queue overflows where the kernel names them, by destination. */
SEC("tp_btf/kfree_skb")
int BPF_PROG(on_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
    __u16 protocol = BPF_CORE_READ(skb, protocol);
    __u16 network = BPF_CORE_READ(skb, network_header);
    __u16 transport = BPF_CORE_READ(skb, transport_header);
    unsigned char *head = BPF_CORE_READ(skb, head);
    if (transport == (__u16)~0U || network == (__u16)~0U || transport <= network)
        return 0;
    struct tcpscope_syn_drop_key key = {};
    if (protocol == bpf_htons(ETH_P_IP)) {
        struct iphdr ip;
        if (bpf_probe_read_kernel(&ip, sizeof(ip), head + network) || ip.protocol != IPPROTO_TCP)
            return 0;
        __builtin_memcpy(key.daddr, &ip.daddr, sizeof(ip.daddr));
        key.family = AF_INET;
    } else if (protocol == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr ip6;
        if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + network) ||
            ip6.nexthdr != IPPROTO_TCP)
            return 0;
        __builtin_memcpy(key.daddr, &ip6.daddr, sizeof(key.daddr));
        key.family = AF_INET6;
    } else {
        return 0;
    }
    struct tcphdr tcp;
    if (bpf_probe_read_kernel(&tcp, sizeof(tcp), head + transport))
        return 0;
    __u8 flags = ((__u8 *)&tcp)[13];
    bool syn = (flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
    bool overflow = false;
    if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_TCP_LISTEN_OVERFLOW))
        overflow = reason == bpf_core_enum_value(enum skb_drop_reason,
                                                 SKB_DROP_REASON_TCP_LISTEN_OVERFLOW);
    if (!syn && !overflow)
        return 0;
    key.netns = BPF_CORE_READ(skb, dev, nd_net.net, ns.inum);
    if (!netns_selected(key.netns))
        return 0;
    key.reason = reason;
    key.dport = bpf_ntohs(tcp.dest);
    __u64 one = 1;
    __u64 *count = bpf_map_lookup_elem(&syn_drops, &key);
    if (count)
        __sync_fetch_and_add(count, 1);
    else
        bpf_map_update_elem(&syn_drops, &key, &one, BPF_NOEXIST);
    return 0;
}
