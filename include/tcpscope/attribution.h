/* Who owns a socket at a transition. Pure functions shared by the BPF program
 * (which applies them) and the unit tests (which pin them down). */
#ifndef TCPSCOPE_ATTRIBUTION_H
#define TCPSCOPE_ATTRIBUTION_H

#include "tcpscope/event.h"

enum tcpscope_owner_choice {
    TCPSCOPE_OWNER_UNKNOWN = 0,
    TCPSCOPE_OWNER_FROM_CURRENT, /* the running task: it called connect/listen/close */
    TCPSCOPE_OWNER_FROM_CACHE,   /* remembered for this cookie */
    TCPSCOPE_OWNER_FROM_LISTENER /* a new child: its listener's owner, provisionally */
};

/* Transitions only the owning process causes, from its own syscalls:
 * connect() (->SYN_SENT), listen() (->LISTEN), close()/shutdown()
 * (->FIN_WAIT1, ->LAST_ACK) and close() that aborts (->CLOSE with no error).
 * A ->CLOSE carrying an error in process context is somebody else killing the
 * socket (ss -K sets ECONNABORTED), so it names nobody. */
static inline int tcpscope_names_owner(int newstate, int sk_err) {
    switch (newstate) {
        case TCPSCOPE_SYN_SENT:
        case TCPSCOPE_LISTEN:
        case TCPSCOPE_FIN_WAIT1:
        case TCPSCOPE_LAST_ACK:
            return 1;
        case TCPSCOPE_CLOSE:
            return sk_err == 0;
        default:
            return 0;
    }
}

/* current is the owner only in process context (never in softirq, where it is
 * whoever the interrupt landed on: swapper, ksoftirqd or the peer process on
 * loopback), and only for the operations above. Otherwise the cache speaks;
 * a child cloned from a listener inherits the listener's owner. */
static inline enum tcpscope_owner_choice tcpscope_choose_owner(int in_softirq, int oldstate,
                                                               int newstate, int sk_err,
                                                               int have_cached, int have_listener) {
    if (!in_softirq && tcpscope_names_owner(newstate, sk_err))
        return TCPSCOPE_OWNER_FROM_CURRENT;
    if (have_cached)
        return TCPSCOPE_OWNER_FROM_CACHE;
    if (oldstate == TCPSCOPE_LISTEN && newstate == TCPSCOPE_SYN_RECV && have_listener)
        return TCPSCOPE_OWNER_FROM_LISTENER;
    return TCPSCOPE_OWNER_UNKNOWN;
}

#endif /* TCPSCOPE_ATTRIBUTION_H */
