/* What the listen probes count in the kernel, per listening socket and per
 * dropped SYN, read by `tcpscope listen` from two hash maps. Shared by the
 * BPF side (after vmlinux.h) and C++, like event.h. */
#ifndef TCPSCOPE_LISTEN_H
#define TCPSCOPE_LISTEN_H

#include "tcpscope/event.h"

/* Accept-queue waits by power of two: slot i counts waits below 2^i µs
 * (slot 0: under 1 µs); the last slot holds everything longer. */
#define TCPSCOPE_WAIT_SLOTS 27

/* Keyed by the listener's socket cookie, the one sock_diag lists. */
struct tcpscope_listener_stats {
    __u64 synack_retrans; /* tcp_retransmit_synack on this listener */
    __u64 accepted;       /* accept() returned one of its children */
    __u64 waited;         /* of those, how many had a known queue entry time */
    __u64 wait_ns_total;
    __u64 wait_slots[TCPSCOPE_WAIT_SLOTS];
    __u32 queue_peak; /* highest accept queue just before an accept() in peak_epoch */
    __u32 netns;
    /* The listen_epoch queue_peak belongs to: userspace moves the epoch on
     * after each read instead of writing the value back (which would race
     * with the counters' increments). */
    __u32 peak_epoch;
    __u32 pad;
};

/* A SYN the kernel freed with a drop reason (5.17+), or a packet freed as an
 * accept-queue overflow where the kernel has that reason, by its destination. */
struct tcpscope_syn_drop_key {
    __u8 daddr[TCPSCOPE_ADDR_LEN]; /* IPv4 in the first 4 bytes */
    __u32 netns;
    __u32 reason; /* enum skb_drop_reason value, named from the kernel's BTF */
    __u16 dport;  /* host byte order */
    __u16 family;
    __u32 pad;
};

#endif
