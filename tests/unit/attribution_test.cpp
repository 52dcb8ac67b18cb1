// The owner rules the BPF program applies (include/tcpscope/attribution.h).
#include <gtest/gtest.h>

#include "tcpscope/attribution.h"

namespace {

constexpr int kProcess = 0;
constexpr int kSoftirq = 1;

TEST(Attribution, ProcessContextOperationsNameCurrent) {
    EXPECT_EQ(tcpscope_choose_owner(kProcess, TCPSCOPE_CLOSE, TCPSCOPE_SYN_SENT, 0, 0, 0),
              TCPSCOPE_OWNER_FROM_CURRENT);  // connect()
    EXPECT_EQ(tcpscope_choose_owner(kProcess, TCPSCOPE_CLOSE, TCPSCOPE_LISTEN, 0, 0, 0),
              TCPSCOPE_OWNER_FROM_CURRENT);  // listen()
    EXPECT_EQ(tcpscope_choose_owner(kProcess, TCPSCOPE_ESTABLISHED, TCPSCOPE_FIN_WAIT1, 0, 1, 0),
              TCPSCOPE_OWNER_FROM_CURRENT);  // close() overrides an inherited owner
    EXPECT_EQ(tcpscope_choose_owner(kProcess, TCPSCOPE_CLOSE_WAIT, TCPSCOPE_LAST_ACK, 0, 1, 0),
              TCPSCOPE_OWNER_FROM_CURRENT);
    EXPECT_EQ(tcpscope_choose_owner(kProcess, TCPSCOPE_ESTABLISHED, TCPSCOPE_CLOSE, 0, 1, 0),
              TCPSCOPE_OWNER_FROM_CURRENT);  // SO_LINGER 0 abort
}

TEST(Attribution, SoftirqNeverNamesCurrent) {
    for (int to : {TCPSCOPE_SYN_SENT, TCPSCOPE_LISTEN, TCPSCOPE_FIN_WAIT1, TCPSCOPE_LAST_ACK,
                   TCPSCOPE_CLOSE, TCPSCOPE_ESTABLISHED, TCPSCOPE_CLOSE_WAIT}) {
        EXPECT_EQ(tcpscope_choose_owner(kSoftirq, TCPSCOPE_ESTABLISHED, to, 0, 1, 0),
                  TCPSCOPE_OWNER_FROM_CACHE)
            << "newstate " << to;
        EXPECT_EQ(tcpscope_choose_owner(kSoftirq, TCPSCOPE_ESTABLISHED, to, 0, 0, 0),
                  TCPSCOPE_OWNER_UNKNOWN)
            << "newstate " << to;
    }
}

TEST(Attribution, KillByAnotherProcessKeepsTheCachedOwner) {
    // ss -K: SYN_SENT->CLOSE with ECONNABORTED in the killer's process context.
    EXPECT_EQ(tcpscope_choose_owner(kProcess, TCPSCOPE_SYN_SENT, TCPSCOPE_CLOSE, 103, 1, 0),
              TCPSCOPE_OWNER_FROM_CACHE);
}

TEST(Attribution, ProcessContextStateChangesFromReceiveUseTheCache) {
    // Backlog processing in release_sock() runs in process context.
    EXPECT_EQ(tcpscope_choose_owner(kProcess, TCPSCOPE_FIN_WAIT1, TCPSCOPE_FIN_WAIT2, 0, 1, 0),
              TCPSCOPE_OWNER_FROM_CACHE);
    EXPECT_EQ(tcpscope_choose_owner(kProcess, TCPSCOPE_ESTABLISHED, TCPSCOPE_CLOSE_WAIT, 0, 1, 0),
              TCPSCOPE_OWNER_FROM_CACHE);
}

TEST(Attribution, NewChildInheritsTheListener) {
    EXPECT_EQ(tcpscope_choose_owner(kSoftirq, TCPSCOPE_LISTEN, TCPSCOPE_SYN_RECV, 0, 0, 1),
              TCPSCOPE_OWNER_FROM_LISTENER);
    EXPECT_EQ(tcpscope_choose_owner(kSoftirq, TCPSCOPE_LISTEN, TCPSCOPE_SYN_RECV, 0, 0, 0),
              TCPSCOPE_OWNER_UNKNOWN);
    // Only a child's first transition inherits.
    EXPECT_EQ(tcpscope_choose_owner(kSoftirq, TCPSCOPE_SYN_RECV, TCPSCOPE_ESTABLISHED, 0, 0, 1),
              TCPSCOPE_OWNER_UNKNOWN);
}

}  // namespace
