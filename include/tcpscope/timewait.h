/* TIME_WAIT rules shared by the BPF program (timewait mode sends only these
 * closes, with the role) and the socket table (which infers TIME_WAIT from
 * them), so the two cannot drift apart. */
#ifndef TCPSCOPE_TIMEWAIT_H
#define TCPSCOPE_TIMEWAIT_H

#include "tcpscope/event.h"

/* A FIN close: the full socket leaves FIN_WAIT2 or CLOSING for CLOSE without
 * an error, and the kernel puts a timewait socket with the same cookie in its
 * place. A reset or error close (sk_err set) leaves none. */
static inline int tcpscope_leaves_timewait(int oldstate, int newstate, int sk_err) {
    return newstate == TCPSCOPE_CLOSE && sk_err == 0 &&
           (oldstate == TCPSCOPE_FIN_WAIT2 || oldstate == TCPSCOPE_CLOSING);
}

/* The role a socket's first transition gives it: connect() (CLOSE->SYN_SENT)
 * or a child leaving its listener. TCPSCOPE_F_ROLE_* bits, 0 when neither. */
static inline int tcpscope_role_of_first(int oldstate, int newstate) {
    if (oldstate == TCPSCOPE_CLOSE && newstate == TCPSCOPE_SYN_SENT)
        return TCPSCOPE_F_ROLE_CLIENT;
    if (oldstate == TCPSCOPE_LISTEN || newstate == TCPSCOPE_SYN_RECV)
        return TCPSCOPE_F_ROLE_SERVER;
    return 0;
}

#endif
