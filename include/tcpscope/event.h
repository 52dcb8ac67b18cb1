/* The record every BPF program of tcpscope sends to userspace, and the
 * settings they share. Included by the BPF side (after vmlinux.h) and by C++,
 * so it uses only fixed-width kernel types and no pointers. Fields are ordered
 * largest first so the layout has no hidden padding on either side. */
#ifndef TCPSCOPE_EVENT_H
#define TCPSCOPE_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TCPSCOPE_COMM_LEN 16
#define TCPSCOPE_ADDR_LEN 16

/* Kernel TCP state numbers (include/net/tcp_states.h). */
enum tcpscope_tcp_state {
    TCPSCOPE_ESTABLISHED = 1,
    TCPSCOPE_SYN_SENT = 2,
    TCPSCOPE_SYN_RECV = 3,
    TCPSCOPE_FIN_WAIT1 = 4,
    TCPSCOPE_FIN_WAIT2 = 5,
    TCPSCOPE_TIME_WAIT = 6,
    TCPSCOPE_CLOSE = 7,
    TCPSCOPE_CLOSE_WAIT = 8,
    TCPSCOPE_LAST_ACK = 9,
    TCPSCOPE_LISTEN = 10,
    TCPSCOPE_CLOSING = 11,
    TCPSCOPE_NEW_SYN_RECV = 12,
};

enum tcpscope_event_flags {
    /* dur_ns holds the time spent in oldstate; without it the socket was
     * first seen by this event and the time is unknown. */
    TCPSCOPE_F_DUR_KNOWN = 1 << 0,
    /* The transition ran in softirq (or timer) context: current is not the
     * owner, so the owner fields come from the per-socket cache. */
    TCPSCOPE_F_SOFTIRQ = 1 << 1,
    /* Where pid/comm came from. None of the three set: owner unknown. */
    TCPSCOPE_F_OWNER_CURRENT = 1 << 2,  /* current, in a process-context op */
    TCPSCOPE_F_OWNER_CACHED = 1 << 3,   /* remembered from an earlier event */
    TCPSCOPE_F_OWNER_LISTENER = 1 << 4, /* a child inheriting its listener's */
    /* The source port is not chosen yet (CLOSE->SYN_SENT before
     * inet_hash_connect) so sport means nothing. */
    TCPSCOPE_F_SPORT_UNKNOWN = 1 << 5,
    /* Emitted by the backup program: the kernel skipped the main one. */
    TCPSCOPE_F_RECOVERED = 1 << 6,
    /* Not a transition: connect() failed before any SYN left (sk_err holds
     * its errno; both states are CLOSE). Sent by the connect() exit hook. */
    TCPSCOPE_F_CONNECT_SYNC = 1 << 7,
    /* timewait mode only: how the socket began, from its first transition
     * (CLOSE->SYN_SENT: connect(); LISTEN->SYN_RECV: accept()). Neither set:
     * unknown, or another mode. */
    TCPSCOPE_F_ROLE_CLIENT = 1 << 8,
    TCPSCOPE_F_ROLE_SERVER = 1 << 9,
    /* synfail: a SYN_SENT->CLOSE that neither transition program delivered,
     * rebuilt at the connect() exit from its note. */
    TCPSCOPE_F_RECOVERED_AT_CONNECT = 1 << 10,
};

struct tcpscope_event {
    __u64 ts_ns;                   /* CLOCK_MONOTONIC, bpf_ktime_get_ns() */
    __u64 cookie;                  /* socket cookie, never reused while booted (or a
                                      TCPSCOPE_SYNTHETIC_ID id) */
    __u64 dur_ns;                  /* time in oldstate; valid only with TCPSCOPE_F_DUR_KNOWN */
    __u64 cgroup_id;               /* owner's cgroup v2 id (learned with the owner), 0 unknown */
    __u8 saddr[TCPSCOPE_ADDR_LEN]; /* IPv4 in the first 4 bytes */
    __u8 daddr[TCPSCOPE_ADDR_LEN];
    char comm[TCPSCOPE_COMM_LEN]; /* owner's comm, "" when unknown */
    __u32 netns;                  /* network namespace inode */
    __u32 pid;                    /* owner tgid, 0 when unknown */
    __s32 sk_err;                 /* sk_err at ->CLOSE, else 0 */
    __u16 sport;                  /* host byte order */
    __u16 dport;                  /* host byte order */
    __u16 family;                 /* AF_INET or AF_INET6 */
    __u8 oldstate;
    __u8 newstate;
    __u16 flags;       /* enum tcpscope_event_flags */
    __u16 syn_retrans; /* SYN retransmissions, filled on leaving SYN_SENT */
};

/* Set in the ids tcpscope gives sockets itself where the kernel's tracing
 * programs cannot read socket cookies (Linux before 5.12). Cookies count up
 * from 1 and never reach it. */
#define TCPSCOPE_SYNTHETIC_ID (1ULL << 63)

/* Bits of the port filter map's values: which side a listed port must be on. */
enum tcpscope_port_side {
    TCPSCOPE_PORT_EITHER = 1 << 0,
    TCPSCOPE_PORT_LOCAL = 1 << 1,
    TCPSCOPE_PORT_REMOTE = 1 << 2,
};

/* Slots of the per-CPU counter array. */
enum tcpscope_counter_slot {
    TCPSCOPE_CNT_RINGBUF_FULL = 0, /* bpf_ringbuf_reserve() failed: event lost */
    TCPSCOPE_CNT_RECOVERED = 1,    /* the kernel skipped the main program; the backup ran */
    TCPSCOPE_CNT_SLOTS = 2,
};

#endif /* TCPSCOPE_EVENT_H */
