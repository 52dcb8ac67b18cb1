// SPDX-License-Identifier: GPL-2.0
/* Kernel side of tcpscope: one record per TCP state transition.
 *
 * The program filters early, resolves the socket's owner and the time spent
 * in the old state from a per-socket cache keyed by socket cookie, fills one
 * struct tcpscope_event and submits it without waking the consumer (which
 * drains on a short timer). Formatting happens in userspace. */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "tcpscope/attribution.h"
#include "tcpscope/timewait.h"
#include "tcpscope/event.h"

#define AF_INET 2
#define AF_INET6 10

char LICENSE[] SEC("license") = "GPL";

/* Filters, fixed before load so the verifier drops disabled branches. */
const volatile __u32 filter_netns = 0;  /* netns inode, 0: any */
const volatile __u16 filter_family = 0; /* AF_INET / AF_INET6, 0: both */
const volatile bool filter_ports = false;
const volatile __u32 filter_pid = 0; /* owner tgid, 0: any */
/* synfail: only connect() outcomes (SYN_SENT->*) and failed connect() calls
 * cross the ring; connect_syscall_nr is this architecture's __NR_connect. */
const volatile bool synfail_mode = false;
const volatile bool synfail_sync = false; /* the connect() exit hook is attached */
const volatile long connect_syscall_nr = -1;
/* timewait: only FIN closes that leave a timewait socket (FIN_WAIT2/CLOSING
 * ->CLOSE with no error) cross the ring, carrying the closer from the cache
 * and the socket's role (from its first transition) in the flags. */
const volatile bool timewait_mode = false;
/* Force a consumer wake-up only once this much data waits in the ring. */
const volatile __u64 wakeup_bytes = 1 << 20;

/* What the cache remembers about a socket between its transitions. */
struct socket_info {
    __u64 entered_ns; /* when it entered its current state */
    __u32 pid;        /* owner tgid, 0 unknown */
    __u16 owner_flags;
    __u16 role_flags; /* timewait: TCPSCOPE_F_ROLE_*, from the first transition */
    char comm[TCPSCOPE_COMM_LEN];
};

struct listener_key {
    __u32 netns;
    __u16 port;
    __u16 pad;
};

struct owner {
    __u32 pid;
    __u32 pad;
    char comm[TCPSCOPE_COMM_LEN];
};

/* Keyed by cookie. A socket's entry is written in place after its first
 * transition rather than re-inserted (a map update allocates a fresh LRU
 * element every time). Tried and not kept: socket-local storage (cheaper
 * stores, but creating and freeing it for every socket cost more in timewait
 * and synfail modes) and per-CPU LRU lists (no clear gain here, and each
 * CPU would get only its share of max_entries on large hosts). */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 262144); /* resized by the loader */
    __type(key, __u64);          /* socket cookie */
    __type(value, struct socket_info);
} sockets SEC(".maps");

/* Owner of each listening port, so a new child can inherit it. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, struct listener_key);
    __type(value, struct owner);
} listeners SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, __u16); /* port, host order */
    __type(value, __u8);  /* enum tcpscope_port_side bits */
} port_filter SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 16 << 20); /* resized by the loader */
} events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, TCPSCOPE_CNT_SLOTS);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

/* The transition the main program last handled on this CPU, per context
 * level (0: task, 1: softirq). The backup program handles a transition only
 * when its level's slot does not hold it: exactly when the kernel's
 * recursion guard skipped the main program. */
struct handled_key {
    __u64 sk;
    __u32 states; /* oldstate << 8 | newstate */
    __u32 valid;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, struct handled_key);
} handled SEC(".maps");

/* synfail: sockets a connect() moved to SYN_SENT, until that connect()
 * returns. Lets the syscall exit tell a failure the transitions already
 * reported (a blocking connect refused, timed out) from a failure inside
 * connect() itself, and recover an outcome the kernel skipped the transition
 * program for (recursion_misses). */
enum connect_call_state {
    CONNECT_PENDING = 0,       /* in SYN_SENT, no outcome seen yet */
    CONNECT_REPORTED = 1,      /* its SYN_SENT->CLOSE went to the ring */
    CONNECT_FAILED_INSIDE = 2, /* back to CLOSE inside connect(), before any SYN */
};

struct connect_call {
    __u64 entered_ns; /* CLOSE->SYN_SENT */
    __u32 state;      /* enum connect_call_state */
    __u32 pad;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64); /* socket cookie */
    __type(value, struct connect_call);
} connect_calls SEC(".maps");

/* Set while this CPU serves a softirq (network receive, TCP timers): there
 * current is whoever happened to run, never the socket's owner. Reading
 * preempt_count instead would need __preempt_count in kallsyms, which kernels
 * without CONFIG_KALLSYMS_ALL (this one) do not list. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} softirq_flag SEC(".maps");

static __always_inline bool in_softirq_context(void)
{
    __u32 zero = 0;
    __u32 *flag = bpf_map_lookup_elem(&softirq_flag, &zero);
    return flag && *flag;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(on_softirq_entry, unsigned int vec)
{
    __u32 zero = 0;
    __u32 *flag = bpf_map_lookup_elem(&softirq_flag, &zero);
    if (flag)
        *flag = 1;
    return 0;
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(on_softirq_exit, unsigned int vec)
{
    __u32 zero = 0;
    __u32 *flag = bpf_map_lookup_elem(&softirq_flag, &zero);
    if (flag)
        *flag = 0;
    return 0;
}

static __always_inline bool port_selected(__u16 sport, __u16 dport)
{
    __u8 *side = bpf_map_lookup_elem(&port_filter, &sport);
    if (side && (*side & (TCPSCOPE_PORT_EITHER | TCPSCOPE_PORT_LOCAL)))
        return true;
    side = bpf_map_lookup_elem(&port_filter, &dport);
    return side && (*side & (TCPSCOPE_PORT_EITHER | TCPSCOPE_PORT_REMOTE));
}

static __always_inline void count(__u32 slot)
{
    __u64 *count = bpf_map_lookup_elem(&counters, &slot);
    if (count)
        *count += 1;
}

static __always_inline void copy_comm(char *dst, const char *src)
{
    __builtin_memcpy(dst, src, TCPSCOPE_COMM_LEN);
}

static __always_inline void submit(struct tcpscope_event *event)
{
    __u64 waiting = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
    bpf_ringbuf_submit(event, waiting >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

/* synfail: notes connect() outcomes for the connect() exit. Entering
 * SYN_SENT (only connect() or a fast-open sendmsg do, in process context) is
 * noted and not sent: attempts are counted at their outcome. A socket going
 * back to CLOSE with no error in process context while its connect() is
 * still running is connect() failing inside, before any SYN (EADDRNOTAVAIL
 * from the port search, say): the syscall exit reports it with its errno. A
 * refusal the connecting process handles itself (a RST queued to the socket's
 * backlog on loopback) carries sk_err and is sent as usual. True when the
 * event stays here. */
static __always_inline bool synfail_hold_back(__u64 cookie, int newstate, int sk_err,
                                              bool softirq, __u64 now)
{
    if (!synfail_sync)
        return newstate == TCPSCOPE_SYN_SENT; /* nobody to tell at connect() exit */
    if (newstate == TCPSCOPE_SYN_SENT) {
        struct connect_call call = {.entered_ns = now, .state = CONNECT_PENDING};
        bpf_map_update_elem(&connect_calls, &cookie, &call, BPF_ANY);
        return true;
    }
    struct connect_call *call = bpf_map_lookup_elem(&connect_calls, &cookie);
    if (!call)
        return false;
    if (newstate != TCPSCOPE_CLOSE) {
        bpf_map_delete_elem(&connect_calls, &cookie); /* connected: connect() returns 0 */
        return false;
    }
    if (!softirq && sk_err == 0 && call->state == CONNECT_PENDING) {
        call->state = CONNECT_FAILED_INSIDE;
        return true;
    }
    call->state = CONNECT_REPORTED;
    return false;
}

/* Stores what the cache keeps about a socket: in place once it has an entry. */
static __always_inline void remember(__u64 *cookie, struct socket_info *cached,
                                     const struct socket_info *next)
{
    if (cached)
        *cached = *next;
    else
        bpf_map_update_elem(&sockets, cookie, next, BPF_ANY);
}

static __always_inline void forget(__u64 *cookie, struct socket_info *cached)
{
    if (cached)
        bpf_map_delete_elem(&sockets, cookie);
}

static __always_inline int handle_transition(struct sock *sk, int oldstate, int newstate,
                                             __u16 extra_flags)
{
    if (sk->sk_protocol != IPPROTO_TCP)
        return 0;

    __u16 family = sk->__sk_common.skc_family;
    if (filter_family && family != filter_family)
        return 0;
    __u32 netns = sk->__sk_common.skc_net.net->ns.inum;
    if (filter_netns && netns != filter_netns)
        return 0;
    if (synfail_mode && oldstate != TCPSCOPE_SYN_SENT && newstate != TCPSCOPE_SYN_SENT)
        return 0;
    /* timewait: a softirq transition neither names an owner nor begins a
     * socket, except a child leaving LISTEN, and only ->CLOSE can be a
     * birth; the rest would only move the cache's time in state, which
     * timewait does not use. Half the transitions end here, before any
     * map lookup. */
    bool softirq = in_softirq_context();
    if (timewait_mode && softirq && newstate != TCPSCOPE_CLOSE && oldstate != TCPSCOPE_LISTEN)
        return 0;

    /* skc_num is already 0 at ->CLOSE; inet_sport still holds the port. */
    struct inet_sock *inet = (struct inet_sock *)sk;
    __u16 sport = bpf_ntohs(BPF_CORE_READ(inet, inet_sport));
    __u16 dport = bpf_ntohs(sk->__sk_common.skc_dport);
    int sk_err = newstate == TCPSCOPE_CLOSE ? sk->sk_err : 0;

    __u64 now = bpf_ktime_get_ns();
    __u64 cookie = bpf_get_socket_cookie(sk);
    struct socket_info *cached = bpf_map_lookup_elem(&sockets, &cookie);

    struct owner *listener = NULL;
    if (oldstate == TCPSCOPE_LISTEN && newstate == TCPSCOPE_SYN_RECV && !(cached && cached->pid)) {
        struct listener_key key = {.netns = netns, .port = sport};
        listener = bpf_map_lookup_elem(&listeners, &key);
    }

    struct socket_info next = {.entered_ns = now};
    __u16 flags = extra_flags | (softirq ? TCPSCOPE_F_SOFTIRQ : 0);
    switch (tcpscope_choose_owner(softirq, oldstate, newstate, sk_err, cached && cached->pid,
                                  listener != NULL)) {
    case TCPSCOPE_OWNER_FROM_CURRENT:
        next.pid = bpf_get_current_pid_tgid() >> 32;
        bpf_get_current_comm(next.comm, sizeof(next.comm));
        next.owner_flags = TCPSCOPE_F_OWNER_CURRENT;
        flags |= TCPSCOPE_F_OWNER_CURRENT;
        break;
    case TCPSCOPE_OWNER_FROM_CACHE:
        if (!cached)
            break; /* the verifier wants the check it cannot infer */
        next.pid = cached->pid;
        copy_comm(next.comm, cached->comm);
        next.owner_flags = cached->owner_flags;
        /* A remembered current-named owner is reported as cached; an owner
         * inherited from the listener stays marked as inherited. */
        flags |= cached->owner_flags == TCPSCOPE_F_OWNER_CURRENT ? TCPSCOPE_F_OWNER_CACHED
                                                                 : cached->owner_flags;
        break;
    case TCPSCOPE_OWNER_FROM_LISTENER:
        if (!listener)
            break;
        next.pid = listener->pid;
        copy_comm(next.comm, listener->comm);
        next.owner_flags = TCPSCOPE_F_OWNER_LISTENER;
        flags |= TCPSCOPE_F_OWNER_LISTENER;
        break;
    default:
        break;
    }

    if (newstate == TCPSCOPE_LISTEN && next.pid) {
        struct listener_key key = {.netns = netns, .port = sport};
        struct owner listener = {.pid = next.pid};
        copy_comm(listener.comm, next.comm);
        bpf_map_update_elem(&listeners, &key, &listener, BPF_ANY);
    }

    __u64 dur_ns = 0;
    if (cached) {
        dur_ns = now - cached->entered_ns;
        flags |= TCPSCOPE_F_DUR_KNOWN;
    }
    if (timewait_mode) {
        next.role_flags =
            cached ? cached->role_flags : tcpscope_role_of_first(oldstate, newstate);
        if (newstate == TCPSCOPE_CLOSE) {
            forget(&cookie, cached);
            if (!tcpscope_leaves_timewait(oldstate, newstate, sk_err))
                return 0;
            /* The cache's time skips the softirq transitions: not the time
             * in FIN_WAIT2/CLOSING. */
            flags = (flags & ~TCPSCOPE_F_DUR_KNOWN) | next.role_flags;
            dur_ns = 0;
        } else {
            remember(&cookie, cached, &next);
            return 0;
        }
    } else if (newstate == TCPSCOPE_CLOSE || (synfail_mode && oldstate == TCPSCOPE_SYN_SENT)) {
        /* synfail follows a socket no further than its connect() outcome. */
        forget(&cookie, cached);
    } else {
        remember(&cookie, cached, &next);
    }

    /* Before the filters: the connect() exit applies them to what it reports. */
    if (synfail_mode && synfail_hold_back(cookie, newstate, sk_err, softirq, now))
        return 0;
    if (filter_pid && next.pid != filter_pid)
        return 0;
    if (filter_ports && !port_selected(sport, dport))
        return 0;

    struct tcpscope_event *event = bpf_ringbuf_reserve(&events, sizeof(*event), 0);
    if (!event) {
        count(TCPSCOPE_CNT_RINGBUF_FULL);
        return 0;
    }
    event->ts_ns = now;
    event->cookie = cookie;
    event->dur_ns = dur_ns;
    if (family == AF_INET6) {
        BPF_CORE_READ_INTO(&event->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
        BPF_CORE_READ_INTO(&event->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
    } else {
        __builtin_memset(event->saddr, 0, sizeof(event->saddr));
        __builtin_memset(event->daddr, 0, sizeof(event->daddr));
        __be32 saddr = sk->__sk_common.skc_rcv_saddr;
        __be32 daddr = sk->__sk_common.skc_daddr;
        __builtin_memcpy(event->saddr, &saddr, sizeof(saddr));
        __builtin_memcpy(event->daddr, &daddr, sizeof(daddr));
    }
    copy_comm(event->comm, next.comm);
    event->netns = netns;
    event->pid = next.pid;
    event->sk_err = sk_err;
    event->sport = sport;
    event->dport = dport;
    event->family = family;
    event->oldstate = oldstate;
    event->newstate = newstate;
    if (sport == 0)
        flags |= TCPSCOPE_F_SPORT_UNKNOWN;
    event->flags = flags;
    event->syn_retrans = 0;
    if (oldstate == TCPSCOPE_SYN_SENT && newstate == TCPSCOPE_CLOSE)
        event->syn_retrans = BPF_CORE_READ((struct tcp_sock *)sk, total_retrans);
    submit(event);
    return 0;
}

static __always_inline struct handled_key *handled_slot(void)
{
    __u32 level = in_softirq_context() ? 1 : 0;
    return bpf_map_lookup_elem(&handled, &level);
}

/* The main program. A timer interrupt landing while it runs in process
 * context can run the loopback NET_RX softirq on top, which fires this
 * tracepoint again; the kernel then skips this program (it is already active
 * on the CPU) and counts a recursion miss. The backup below catches those. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(on_inet_sock_set_state, struct sock *sk, int oldstate, int newstate)
{
    struct handled_key *slot = handled_slot();
    if (slot) {
        slot->sk = (__u64)sk;
        slot->states = (__u32)oldstate << 8 | (__u32)newstate;
        slot->valid = 1;
    }
    return handle_transition(sk, oldstate, newstate, 0);
}

/* Attached after the main program, so it runs right after it for the same
 * tracepoint hit. It handles the transition only if the main program did not
 * record it at this context level. Checking the recorded key, not a "main is
 * busy" flag, matters: the interrupt can land in the trampoline before the
 * main body starts or after it ends. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(recover_inet_sock_set_state, struct sock *sk, int oldstate, int newstate)
{
    struct handled_key *slot = handled_slot();
    if (!slot)
        return 0;
    __u32 states = (__u32)oldstate << 8 | (__u32)newstate;
    if (slot->valid && slot->sk == (__u64)sk && slot->states == states) {
        slot->valid = 0; /* a repeat of the same transition must not match */
        return 0;
    }
    count(TCPSCOPE_CNT_RECOVERED);
    return handle_transition(sk, oldstate, newstate, TCPSCOPE_F_RECOVERED);
}

/* ---- synfail: connect() calls that fail before any SYN leaves ---------- */

#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define EINTR 4
#define EINPROGRESS 115
#define EALREADY 114
#define EISCONN 106
#define ERESTARTSYS 512
#define ERESTART_RESTARTBLOCK 516

/* regs is a trusted pointer under tp_btf: a direct load, no helper call. */
static __always_inline long syscall_nr(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
    return regs->orig_ax;
#elif defined(__TARGET_ARCH_arm64)
    return regs->syscallno;
#else
    return -1; /* synchronous failures are not captured on this architecture */
#endif
}

/* connect() returns these without the attempt having failed: it goes on (or
 * already succeeded) in the background, or a signal interrupted the wait. */
static __always_inline bool connect_not_failed(long err)
{
    return err == EINPROGRESS || err == EALREADY || err == EISCONN || err == EINTR ||
           (err >= ERESTARTSYS && err <= ERESTART_RESTARTBLOCK);
}

/* The sock behind the calling task's file descriptor fd, or NULL. */
static __always_inline struct sock *sock_of_fd(int fd)
{
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
    if (!fdt || fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
        return NULL;
    struct file **fds = BPF_CORE_READ(fdt, fd);
    struct file *file = NULL;
    if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
        return NULL;
    if ((BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
        return NULL;
    struct socket *sock = BPF_CORE_READ(file, private_data);
    return sock ? BPF_CORE_READ(sock, sk) : NULL;
}

/* The destination the caller passed to connect(), read from its memory. */
static __always_inline void read_destination(struct tcpscope_event *event, const void *uaddr)
{
    __builtin_memset(event->daddr, 0, sizeof(event->daddr));
    event->dport = 0;
    struct sockaddr_in6 sa = {};
    if (!uaddr || bpf_probe_read_user(&sa, sizeof(struct sockaddr_in), uaddr))
        return;
    if (sa.sin6_family != event->family)
        return;
    event->dport = bpf_ntohs(sa.sin6_port);
    if (sa.sin6_family == AF_INET) {
        __builtin_memcpy(event->daddr, &((struct sockaddr_in *)&sa)->sin_addr, 4);
    } else if (!bpf_probe_read_user(&sa, sizeof(sa), uaddr)) {
        __builtin_memcpy(event->daddr, &sa.sin6_addr, TCPSCOPE_ADDR_LEN);
    }
}

/* A failed connect() the transitions did not report: one that failed before
 * any SYN (TCPSCOPE_F_CONNECT_SYNC), or one whose SYN_SENT->CLOSE the kernel
 * skipped the transition program for (TCPSCOPE_F_RECOVERED). */
static __noinline int report_connect_failure(struct pt_regs *regs, long err)
{
    struct sock *sk = sock_of_fd((int)PT_REGS_PARM1_CORE_SYSCALL(regs));
    if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
        return 0;
    /* 0 when never asked for: the socket never reached SYN_SENT. */
    __u64 cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
    struct connect_call call = {.state = CONNECT_FAILED_INSIDE};
    struct connect_call *noted = cookie ? bpf_map_lookup_elem(&connect_calls, &cookie) : NULL;
    if (noted) {
        call = *noted;
        bpf_map_delete_elem(&connect_calls, &cookie);
    } else if (cookie && BPF_CORE_READ((struct tcp_sock *)sk, segs_out)) {
        /* A SYN left, but its note is gone (LRU eviction): the transitions
         * reported the outcome. Better one miss than a double report. */
        call.state = CONNECT_REPORTED;
    }
    if (connect_not_failed(err) || call.state == CONNECT_REPORTED)
        return 0;
    bool recovered = call.state == CONNECT_PENDING;

    __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
    if (filter_family && family != filter_family)
        return 0;
    __u32 netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
    if (filter_netns && netns != filter_netns)
        return 0;
    __u32 pid = bpf_get_current_pid_tgid() >> 32;
    if (filter_pid && pid != filter_pid)
        return 0;
    __u16 sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));

    struct tcpscope_event *event = bpf_ringbuf_reserve(&events, sizeof(*event), 0);
    if (!event) {
        count(TCPSCOPE_CNT_RINGBUF_FULL);
        return 0;
    }
    event->family = family;
    read_destination(event, (const void *)PT_REGS_PARM2_CORE_SYSCALL(regs));
    if (filter_ports && !port_selected(sport, event->dport)) {
        bpf_ringbuf_discard(event, BPF_RB_NO_WAKEUP);
        return 0;
    }
    event->ts_ns = bpf_ktime_get_ns();
    event->cookie = cookie;
    __builtin_memset(event->saddr, 0, sizeof(event->saddr));
    if (family == AF_INET6) {
        BPF_CORE_READ_INTO(&event->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
    } else {
        __be32 saddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
        __builtin_memcpy(event->saddr, &saddr, sizeof(saddr));
    }
    bpf_get_current_comm(event->comm, sizeof(event->comm));
    event->netns = netns;
    event->pid = pid;
    event->sk_err = (__s32)err;
    event->sport = sport;
    event->newstate = TCPSCOPE_CLOSE;
    __u16 flags = TCPSCOPE_F_OWNER_CURRENT | (sport == 0 ? TCPSCOPE_F_SPORT_UNKNOWN : 0);
    if (recovered) {
        event->oldstate = TCPSCOPE_SYN_SENT;
        event->dur_ns = event->ts_ns - call.entered_ns;
        event->syn_retrans = BPF_CORE_READ((struct tcp_sock *)sk, total_retrans);
        flags |= TCPSCOPE_F_RECOVERED | TCPSCOPE_F_DUR_KNOWN;
    } else {
        event->oldstate = TCPSCOPE_CLOSE;
        event->dur_ns = 0;
        event->syn_retrans = 0;
        flags |= TCPSCOPE_F_CONNECT_SYNC;
    }
    event->flags = flags;
    submit(event);
    return 0;
}

/* Fires at the exit of every system call on the host, so the common case
 * leaves after one compare: a successful call; then one load of the syscall
 * number. tp_btf rather than raw_tp: the same tracepoint, but regs is typed,
 * so that load needs no probe read (about 30 ns less per failing syscall
 * here). Attached only by synfail, unless --no-sync. */
SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
    if (ret >= 0 || syscall_nr(regs) != connect_syscall_nr)
        return 0;
    return report_connect_failure(regs, -ret);
}
