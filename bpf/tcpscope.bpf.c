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
#include "tcpscope/listen.h"

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
/* bpf_get_socket_cookie() is callable from tracing programs (Linux 5.12+;
 * probed at load). Without it sockets are keyed by their address in the
 * kernel's cache and named by an id of our own (see socket_id_for). */
const volatile bool have_socket_cookie = true;
/* --cgroup: how many cgroup subtrees (slots of cgroup_filter) select sockets;
 * 0: no cgroup filter. */
const volatile __u32 filter_cgroups = 0;
/* Force a consumer wake-up only once this much data waits in the ring. */
const volatile __u64 wakeup_bytes = 1 << 20;

/* What the cache remembers about a socket between its transitions. */
struct socket_info {
    __u64 entered_ns; /* when it entered its current state */
    __u64 id;         /* what userspace knows it by: its cookie (see socket_id_for) */
    __u64 cgroup;     /* owner's cgroup v2 id, learned with the owner; 0 unknown */
    __u32 pid;        /* owner tgid, 0 unknown */
    __u32 selected;   /* --cgroup: the owner was in a selected subtree */
    __u16 owner_flags;
    __u16 role_flags; /* timewait: TCPSCOPE_F_ROLE_*, from the first transition */
    char comm[TCPSCOPE_COMM_LEN];
};

struct owner {
    __u64 cgroup;
    __u32 pid;
    __u32 selected; /* --cgroup: in a selected subtree */
    char comm[TCPSCOPE_COMM_LEN];
};

/* Keyed by socket_key(): the cookie, or the socket's address where tracing
 * programs cannot ask for cookies. A socket's entry is written in place after
 * its first transition rather than re-inserted (a map update allocates a
 * fresh LRU element every time). Tried and not kept: socket-local storage
 * (cheaper stores, but creating and freeing it for every socket cost more in
 * timewait and synfail modes) and per-CPU LRU lists (no clear gain here, and
 * each CPU would get only its share of max_entries on large hosts). */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 262144); /* resized by the loader */
    __type(key, __u64);
    __type(value, struct socket_info);
} sockets SEC(".maps");

/* A child cloned from its listener (LISTEN->SYN_RECV), until its next
 * transition. Before Linux 6.15 the clone still carries the listener's cookie
 * when the tracepoint fires, and takes its own (the request socket's) only
 * after; its tuple is the listener's too. So the birth is held here, keyed by
 * the child's address, and sent at the child's next transition (SYN_RECV->*),
 * under its own cookie and with its real tuple, on every kernel alike. */
struct pending_child {
    __u64 born_ns;
    struct owner owner; /* the listener's, when known */
    __u16 flags;        /* of the birth: softirq, recovered, owner source */
    __u16 pad[3];
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 65536);
    __type(key, __u64); /* the child's struct sock address */
    __type(value, struct pending_child);
} pending_children SEC(".maps");

/* Listening sockets and their owners, so a new child can inherit the owner.
 * By listener id: before 6.15 a child's first transition carries its
 * listener's cookie, which names the listener exactly (SO_REUSEPORT groups
 * included). Else by bound address: a child starts with its listener's. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64); /* listener id */
    __type(value, struct owner);
} listeners SEC(".maps");

struct listen_addr {
    __u8 addr[TCPSCOPE_ADDR_LEN];
    __u32 netns;
    __u16 port;
    __u16 family;
};

/* Listeners sharing one address (SO_REUSEPORT workers, or a listen() that
 * fails with EADDRINUSE while another holds the port). A child found by
 * address inherits an owner only when every listener there has the same. */
#define LISTENERS_PER_ADDR 4
struct addr_listeners {
    __u64 id[LISTENERS_PER_ADDR]; /* 0: free slot */
    __u64 cgroup;                  /* of the first listener */
    __u32 pid[LISTENERS_PER_ADDR];
    char comm[TCPSCOPE_COMM_LEN];  /* of the first listener */
    __u32 overflow;                /* more listeners than slots: owner unknown */
    __u32 selected;                /* of the first listener (--cgroup) */
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, struct listen_addr);
    __type(value, struct addr_listeners);
} listener_addrs SEC(".maps");

/* Where ids come from without cookies: per CPU, so no atomics (5.10 has no
 * fetching atomic add). */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} id_counter SEC(".maps");

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
    __u64 id;         /* the socket's id (socket_id_for) */
    __u32 state;      /* enum connect_call_state */
    __u32 pad;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64); /* socket_key() */
    __type(value, struct connect_call);
} connect_calls SEC(".maps");

/* --cgroup: the selected cgroup subtrees, as directory fds the loader put in
 * slots 0..filter_cgroups-1. bpf_current_task_under_cgroup() (every kernel
 * here, unlike the ancestor-id helper) tells whether current is in one. */
#define MAX_CGROUP_FILTERS 8
struct {
    __uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
    __uint(max_entries, MAX_CGROUP_FILTERS);
    __type(key, __u32);
    __type(value, __u32);
} cgroup_filter SEC(".maps");

/* Only in process context, where current is the owner: the verdict is
 * cached with the owner and inherited like it, so softirq transitions of a
 * selected socket pass and those of a socket with no known owner do not. */
static __always_inline bool current_in_selected_cgroup(void)
{
    for (__u32 i = 0; i < MAX_CGROUP_FILTERS; i++) {
        if (i >= filter_cgroups)
            break;
        if (bpf_current_task_under_cgroup(&cgroup_filter, i) == 1)
            return true;
    }
    return false;
}

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

#define PF_KTHREAD 0x00200000

/* The receive path also runs outside softirq: threaded NAPI polls a device
 * from a kernel thread named "napi/<dev>-<id>", with no softirq_entry around
 * it. Its transitions are treated like softirq ones: the owner comes from the
 * cache, never current. Other kernel threads keep current: a kernel socket's
 * connect() (NFS, ksmbd) is that thread's own doing. */
static __always_inline bool in_napi_thread(void)
{
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    if (!(BPF_CORE_READ(task, flags) & PF_KTHREAD))
        return false;
    char comm[8];
    bpf_get_current_comm(comm, sizeof(comm));
    return comm[0] == 'n' && comm[1] == 'a' && comm[2] == 'p' && comm[3] == 'i' &&
           comm[4] == '/';
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

/* Whether current is inside the connect() system call, where the kernel can
 * tell (bpf_task_pt_regs, 5.15+: resolved at load, the call is dead code
 * before). io_uring's connect and a fast-open sendmsg also enter SYN_SENT in
 * process context but never return through connect(). Assumed where unknown. */
static __always_inline bool in_connect_syscall(void)
{
    if (!bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs))
        return true;
    struct pt_regs *regs =
        (struct pt_regs *)bpf_task_pt_regs((struct task_struct *)bpf_get_current_task_btf());
    return regs && syscall_nr(regs) == connect_syscall_nr;
}

/* synfail: notes connect() outcomes for the connect() exit. Entering
 * SYN_SENT in connect() is noted and not sent (attempts are counted at their
 * outcome; other ways in are not noted: no connect() exit would ever read the
 * note). A socket going back to CLOSE with no error in process context, no
 * SYN sent, while its connect() is still running is connect() failing
 * inside (EADDRNOTAVAIL from the port search, say): the syscall exit reports
 * it with its errno. Once a SYN left, a close with no error is the process's
 * own (a cancel), sent as usual; so is a refusal the connecting process
 * handles itself (a RST queued to the socket's backlog on loopback), which
 * carries sk_err. True when the event stays here. */
static __always_inline bool synfail_hold_back(struct sock *sk, __u64 key, __u64 id, int newstate,
                                              int sk_err, bool softirq, __u64 now)
{
    if (!synfail_sync)
        return newstate == TCPSCOPE_SYN_SENT; /* nobody to tell at connect() exit */
    if (newstate == TCPSCOPE_SYN_SENT) {
        if (!in_connect_syscall())
            return true;
        struct connect_call call = {.entered_ns = now, .id = id, .state = CONNECT_PENDING};
        bpf_map_update_elem(&connect_calls, &key, &call, BPF_ANY);
        return true;
    }
    struct connect_call *call = bpf_map_lookup_elem(&connect_calls, &key);
    if (!call)
        return false;
    if (newstate != TCPSCOPE_CLOSE) {
        bpf_map_delete_elem(&connect_calls, &key); /* connected: connect() returns 0 */
        return false;
    }
    if (!softirq && sk_err == 0 && call->state == CONNECT_PENDING &&
        BPF_CORE_READ((struct tcp_sock *)sk, segs_out) == 0) {
        call->state = CONNECT_FAILED_INSIDE;
        return true;
    }
    call->state = CONNECT_REPORTED;
    return false;
}

/* Stores what the cache keeps about a socket: in place once it has an entry. */
static __always_inline void remember(__u64 *key, struct socket_info *cached,
                                     const struct socket_info *next)
{
    if (cached)
        *cached = *next;
    else
        bpf_map_update_elem(&sockets, key, next, BPF_ANY);
}

static __always_inline void forget(__u64 *key, struct socket_info *cached)
{
    if (cached)
        bpf_map_delete_elem(&sockets, key);
}

/* The key of a socket in the kernel's cache: its cookie, or, where tracing
 * programs cannot ask for one (before 5.12), its address, which is unique
 * among live sockets (entries leave at ->CLOSE). */
static __always_inline __u64 socket_key(struct sock *sk)
{
    return have_socket_cookie ? bpf_get_socket_cookie(sk) : (__u64)sk;
}

/* The id userspace will know a socket by, at first sight. With cookies, the
 * cookie. Without, the cookie when something already gave it one (a
 * sock_diag listing does), so that listings join the stream; else an id of
 * our own with TCPSCOPE_SYNTHETIC_ID set, a range cookies never reach. */
static __always_inline __u64 socket_id_for(struct sock *sk, __u64 key)
{
    if (have_socket_cookie)
        return key;
    __u64 cookie = sk->__sk_common.skc_cookie.counter;
    if (cookie)
        return cookie;
    __u32 zero = 0;
    __u64 *next = bpf_map_lookup_elem(&id_counter, &zero);
    if (!next)
        return 0;
    *next += 1;
    return TCPSCOPE_SYNTHETIC_ID | (__u64)bpf_get_smp_processor_id() << 40 | *next;
}

/* A socket's bound address and port, as a listener and its new children
 * (which start as its copy) carry them. */
static __always_inline void listen_addr_of(struct sock *sk, struct listen_addr *key, __u32 netns,
                                           __u16 family, __u16 port)
{
    __builtin_memset(key, 0, sizeof(*key));
    key->netns = netns;
    key->port = port;
    key->family = family;
    if (family == AF_INET6) {
        BPF_CORE_READ_INTO(&key->addr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
    } else {
        __be32 addr = sk->__sk_common.skc_rcv_saddr;
        __builtin_memcpy(key->addr, &addr, sizeof(addr));
    }
}

/* CLOSE->LISTEN by its owner. A listen() without bind() has no port yet
 * (it is picked after the transition): such a listener is found by id only. */
static __always_inline void register_listener(struct sock *sk, __u64 id, __u32 netns,
                                              __u16 family, __u16 port,
                                              const struct socket_info *owner)
{
    struct owner who = {.cgroup = owner->cgroup, .pid = owner->pid, .selected = owner->selected};
    copy_comm(who.comm, owner->comm);
    bpf_map_update_elem(&listeners, &id, &who, BPF_ANY);
    if (!port)
        return;
    struct listen_addr key;
    listen_addr_of(sk, &key, netns, family, port);
    struct addr_listeners *at = bpf_map_lookup_elem(&listener_addrs, &key);
    if (!at) {
        struct addr_listeners fresh = {};
        fresh.id[0] = id;
        fresh.pid[0] = owner->pid;
        fresh.cgroup = owner->cgroup;
        fresh.selected = owner->selected;
        copy_comm(fresh.comm, owner->comm);
        bpf_map_update_elem(&listener_addrs, &key, &fresh, BPF_ANY);
        return;
    }
    int free_slot = -1;
    for (int i = 0; i < LISTENERS_PER_ADDR; i++) {
        if (at->id[i] == id)
            return;
        if (!at->id[i] && free_slot < 0)
            free_slot = i;
    }
    if (free_slot < 0) {
        at->overflow = 1;
        return;
    }
    at->id[free_slot & (LISTENERS_PER_ADDR - 1)] = id;
    at->pid[free_slot & (LISTENERS_PER_ADDR - 1)] = owner->pid;
}

/* LISTEN->CLOSE: close(), or a listen() that failed (EADDRINUSE) and must not
 * displace the listener that holds the address. */
static __always_inline void unregister_listener(struct sock *sk, __u64 id, __u32 netns,
                                                __u16 family, __u16 port)
{
    bpf_map_delete_elem(&listeners, &id);
    struct listen_addr key;
    listen_addr_of(sk, &key, netns, family, port);
    struct addr_listeners *at = bpf_map_lookup_elem(&listener_addrs, &key);
    if (!at)
        return;
    bool left = false;
    for (int i = 0; i < LISTENERS_PER_ADDR; i++) {
        if (at->id[i] == id)
            at->id[i] = 0;
        else if (at->id[i])
            left = true;
    }
    if (!left)
        bpf_map_delete_elem(&listener_addrs, &key);
}

/* The owner a new child inherits, into *who; false when unknown. Exact by the
 * listener's cookie where the child still carries it (before 6.15); else by
 * the bound address (then the wildcard), and only when every listener there
 * has the same owner: never another SO_REUSEPORT worker. */
static __always_inline bool listener_owner_of_child(struct sock *sk, __u32 netns, __u16 family,
                                                    __u16 port, struct owner *who)
{
    __u64 inherited = sk->__sk_common.skc_cookie.counter;
    struct owner *exact = inherited ? bpf_map_lookup_elem(&listeners, &inherited) : NULL;
    if (exact) {
        *who = *exact;
        return true;
    }
    struct listen_addr key;
    listen_addr_of(sk, &key, netns, family, port);
    struct addr_listeners *at = bpf_map_lookup_elem(&listener_addrs, &key);
    if (!at) {
        __builtin_memset(key.addr, 0, sizeof(key.addr));
        at = bpf_map_lookup_elem(&listener_addrs, &key);
    }
    if (!at || at->overflow)
        return false;
    __u32 pid = 0;
    for (int i = 0; i < LISTENERS_PER_ADDR; i++) {
        if (!at->id[i])
            continue;
        if (pid && at->pid[i] != pid)
            return false;
        pid = at->pid[i];
    }
    if (!pid)
        return false;
    who->pid = pid;
    who->cgroup = at->cgroup;
    who->selected = at->selected;
    copy_comm(who->comm, at->comm);
    return true;
}

/* One event's worth of a transition, gathered before the ring is touched. */
struct emitted {
    __u64 ts_ns;
    __u64 id;
    __u64 dur_ns;
    __u64 cgroup;
    __u32 netns;
    __u32 pid;
    __s32 sk_err;
    __u16 sport;
    __u16 dport;
    __u16 family;
    __u16 flags;
    __u8 oldstate;
    __u8 newstate;
    __u8 selected; /* --cgroup: the owner is in a selected subtree */
};

static __always_inline void emit(struct sock *sk, const struct emitted *e, const char *comm)
{
    if (filter_pid && e->pid != filter_pid)
        return;
    if (filter_cgroups && !e->selected)
        return;
    if (filter_ports && !port_selected(e->sport, e->dport))
        return;
    struct tcpscope_event *event = bpf_ringbuf_reserve(&events, sizeof(*event), 0);
    if (!event) {
        count(TCPSCOPE_CNT_RINGBUF_FULL);
        return;
    }
    event->ts_ns = e->ts_ns;
    event->cookie = e->id;
    event->dur_ns = e->dur_ns;
    event->cgroup_id = e->cgroup;
    if (e->family == AF_INET6) {
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
    copy_comm(event->comm, comm);
    event->netns = e->netns;
    event->pid = e->pid;
    event->sk_err = e->sk_err;
    event->sport = e->sport;
    event->dport = e->dport;
    event->family = e->family;
    event->oldstate = e->oldstate;
    event->newstate = e->newstate;
    event->flags = e->flags | (e->sport == 0 ? TCPSCOPE_F_SPORT_UNKNOWN : 0);
    event->syn_retrans = 0;
    if (e->oldstate == TCPSCOPE_SYN_SENT)
        event->syn_retrans = BPF_CORE_READ((struct tcp_sock *)sk, total_retrans);
    submit(event);
}

/* LISTEN->SYN_RECV: a child is born. Held back until its next transition
 * (see pending_children), with the owner it inherits from its listener. */
static __always_inline int note_child_birth(struct sock *sk, __u32 netns, __u16 family,
                                            __u16 port, bool softirq, __u16 extra_flags)
{
    struct pending_child child = {.born_ns = bpf_ktime_get_ns()};
    bool have_listener = listener_owner_of_child(sk, netns, family, port, &child.owner);
    child.flags = extra_flags | (softirq ? TCPSCOPE_F_SOFTIRQ : 0);
    if (tcpscope_choose_owner(softirq, TCPSCOPE_LISTEN, TCPSCOPE_SYN_RECV, 0, 0, have_listener) ==
        TCPSCOPE_OWNER_FROM_LISTENER)
        child.flags |= TCPSCOPE_F_OWNER_LISTENER;
    else
        __builtin_memset(&child.owner, 0, sizeof(child.owner));
    __u64 addr = (__u64)sk;
    bpf_map_update_elem(&pending_children, &addr, &child, BPF_ANY);
    return 0;
}

/* The child's next transition: now it has its own cookie and tuple. Sends the
 * held birth (unless timewait mode, which sends only closes), starts the
 * child's cache entry from it, and returns that entry. */
static __always_inline struct socket_info *adopt_child(struct sock *sk, __u64 *key,
                                                      const struct pending_child *child,
                                                      struct emitted *e)
{
    struct socket_info info = {.entered_ns = child->born_ns};
    info.id = socket_id_for(sk, *key);
    info.pid = child->owner.pid;
    info.cgroup = child->owner.cgroup;
    info.selected = child->owner.selected;
    copy_comm(info.comm, child->owner.comm);
    info.owner_flags = child->flags & TCPSCOPE_F_OWNER_LISTENER;
    info.role_flags = tcpscope_role_of_first(TCPSCOPE_LISTEN, TCPSCOPE_SYN_RECV);
    if (!timewait_mode) {
        struct emitted birth = *e;
        birth.ts_ns = child->born_ns;
        birth.id = info.id;
        birth.dur_ns = 0;
        birth.sk_err = 0;
        birth.pid = info.pid;
        birth.cgroup = info.cgroup;
        birth.selected = info.selected;
        birth.flags = child->flags;
        birth.oldstate = TCPSCOPE_LISTEN;
        birth.newstate = TCPSCOPE_SYN_RECV;
        emit(sk, &birth, info.comm);
    }
    bpf_map_update_elem(&sockets, key, &info, BPF_ANY);
    __u64 addr = (__u64)sk;
    bpf_map_delete_elem(&pending_children, &addr);
    return bpf_map_lookup_elem(&sockets, key);
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

    /* skc_num is already 0 at ->CLOSE; inet_sport still holds the port. */
    struct inet_sock *inet = (struct inet_sock *)sk;
    __u16 sport = bpf_ntohs(BPF_CORE_READ(inet, inet_sport));
    bool softirq = in_softirq_context() || in_napi_thread();
    if (oldstate == TCPSCOPE_LISTEN && newstate == TCPSCOPE_SYN_RECV)
        return note_child_birth(sk, netns, family, sport, softirq, extra_flags);

    __u64 addr = (__u64)sk;
    struct pending_child *child =
        oldstate == TCPSCOPE_SYN_RECV ? bpf_map_lookup_elem(&pending_children, &addr) : NULL;
    /* timewait: a softirq transition neither names an owner nor begins a
     * socket, except a child's first after its birth, and only ->CLOSE can
     * be a birth; the rest would only move the cache's time in state, which
     * timewait does not use. Half the transitions end here, before any
     * cache lookup. */
    if (timewait_mode && softirq && newstate != TCPSCOPE_CLOSE && !child)
        return 0;

    struct emitted e = {
        .ts_ns = bpf_ktime_get_ns(),
        .netns = netns,
        .sk_err = newstate == TCPSCOPE_CLOSE ? sk->sk_err : 0,
        .sport = sport,
        .dport = bpf_ntohs(sk->__sk_common.skc_dport),
        .family = family,
        .oldstate = oldstate,
        .newstate = newstate,
    };
    __u64 key = socket_key(sk);
    struct socket_info *cached = NULL;
    if (child)
        cached = adopt_child(sk, &key, child, &e);
    else if (have_socket_cookie || oldstate != TCPSCOPE_CLOSE)
        /* Without cookies an entry found at a birth (from CLOSE) belonged to
         * an earlier socket at this address: the new one starts afresh. */
        cached = bpf_map_lookup_elem(&sockets, &key);

    struct socket_info next = {.entered_ns = e.ts_ns};
    next.id = cached ? cached->id : socket_id_for(sk, key);
    __u16 flags = extra_flags | (softirq ? TCPSCOPE_F_SOFTIRQ : 0);
    switch (tcpscope_choose_owner(softirq, oldstate, newstate, e.sk_err, cached && cached->pid, 0)) {
    case TCPSCOPE_OWNER_FROM_CURRENT:
        next.pid = bpf_get_current_pid_tgid() >> 32;
        next.cgroup = bpf_get_current_cgroup_id();
        next.selected = filter_cgroups && current_in_selected_cgroup();
        bpf_get_current_comm(next.comm, sizeof(next.comm));
        next.owner_flags = TCPSCOPE_F_OWNER_CURRENT;
        flags |= TCPSCOPE_F_OWNER_CURRENT;
        break;
    case TCPSCOPE_OWNER_FROM_CACHE:
        if (!cached)
            break; /* the verifier wants the check it cannot infer */
        next.pid = cached->pid;
        next.cgroup = cached->cgroup;
        next.selected = cached->selected;
        copy_comm(next.comm, cached->comm);
        next.owner_flags = cached->owner_flags;
        /* A remembered current-named owner is reported as cached; an owner
         * inherited from the listener stays marked as inherited. */
        flags |= cached->owner_flags == TCPSCOPE_F_OWNER_CURRENT ? TCPSCOPE_F_OWNER_CACHED
                                                                 : cached->owner_flags;
        break;
    default:
        break;
    }

    if (newstate == TCPSCOPE_LISTEN && next.pid)
        register_listener(sk, next.id, netns, family, sport, &next);
    else if (oldstate == TCPSCOPE_LISTEN && newstate == TCPSCOPE_CLOSE)
        unregister_listener(sk, next.id, netns, family, sport);

    if (cached) {
        e.dur_ns = e.ts_ns - cached->entered_ns;
        flags |= TCPSCOPE_F_DUR_KNOWN;
    }
    if (timewait_mode) {
        next.role_flags =
            cached ? cached->role_flags : tcpscope_role_of_first(oldstate, newstate);
        if (newstate == TCPSCOPE_CLOSE) {
            forget(&key, cached);
            if (!tcpscope_leaves_timewait(oldstate, newstate, e.sk_err))
                return 0;
            /* The cache's time skips the softirq transitions: not the time
             * in FIN_WAIT2/CLOSING. */
            flags = (flags & ~TCPSCOPE_F_DUR_KNOWN) | next.role_flags;
            e.dur_ns = 0;
        } else {
            remember(&key, cached, &next);
            return 0;
        }
    } else if (newstate == TCPSCOPE_CLOSE || (synfail_mode && oldstate == TCPSCOPE_SYN_SENT)) {
        /* synfail follows a socket no further than its connect() outcome. */
        forget(&key, cached);
    } else {
        remember(&key, cached, &next);
    }

    /* Before the filters: the connect() exit applies them to what it reports. */
    if (synfail_mode && synfail_hold_back(sk, key, next.id, newstate, e.sk_err, softirq, e.ts_ns))
        return 0;
    e.id = next.id;
    e.pid = next.pid;
    e.cgroup = next.cgroup;
    e.selected = next.selected;
    e.flags = flags;
    emit(sk, &e, next.comm);
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
 * skipped the transition programs for (TCPSCOPE_F_RECOVERED_AT_CONNECT). */
static __noinline int report_connect_failure(struct pt_regs *regs, long err)
{
    struct sock *sk = sock_of_fd((int)PT_REGS_PARM1_CORE_SYSCALL(regs));
    if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
        return 0;
    /* A cookie of 0 was never asked for: the socket never reached SYN_SENT.
     * Without cookies in tracing programs the note is under the address. */
    __u64 cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
    __u64 key = have_socket_cookie ? cookie : (__u64)sk;
    struct connect_call call = {.id = have_socket_cookie ? cookie : 0,
                                .state = CONNECT_FAILED_INSIDE};
    struct connect_call *noted = key ? bpf_map_lookup_elem(&connect_calls, &key) : NULL;
    if (noted) {
        call = *noted;
        bpf_map_delete_elem(&connect_calls, &key);
    } else if (key && BPF_CORE_READ((struct tcp_sock *)sk, segs_out)) {
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
    if (filter_cgroups && !current_in_selected_cgroup())
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
    event->cookie = call.id;
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
    event->cgroup_id = bpf_get_current_cgroup_id();
    event->sk_err = (__s32)err;
    event->sport = sport;
    event->newstate = TCPSCOPE_CLOSE;
    __u16 flags = TCPSCOPE_F_OWNER_CURRENT | (sport == 0 ? TCPSCOPE_F_SPORT_UNKNOWN : 0);
    if (recovered) {
        event->oldstate = TCPSCOPE_SYN_SENT;
        event->dur_ns = event->ts_ns - call.entered_ns;
        event->syn_retrans = BPF_CORE_READ((struct tcp_sock *)sk, total_retrans);
        flags |= TCPSCOPE_F_RECOVERED_AT_CONNECT | TCPSCOPE_F_DUR_KNOWN;
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

#include "listen_probes.bpf.h"
