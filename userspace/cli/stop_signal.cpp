#include "cli/stop_signal.h"

#include <csignal>

namespace tcpscope {
namespace {

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_snapshot = 0;
volatile std::sig_atomic_t g_reopen = 0;

void on_stop_signal(int) {
    g_stop = 1;
}

void on_snapshot_signal(int) {
    g_snapshot = 1;
}

void on_reopen_signal(int) {
    g_reopen = 1;
}

// A handler that sets a flag and lets interrupted system calls restart.
void install_flag_handler(int signal, void (*handler)(int)) {
    struct sigaction action {};
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(signal, &action, nullptr);
}

// Reports and clears a flag.
bool take(volatile std::sig_atomic_t& flag) {
    if (flag == 0) {
        return false;
    }
    flag = 0;
    return true;
}

}  // namespace

void install_stop_handlers() {
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

bool stop_requested() {
    return g_stop != 0;
}

void install_snapshot_handler() {
    install_flag_handler(SIGUSR1, on_snapshot_signal);
}

bool snapshot_requested() {
    return take(g_snapshot);
}

void install_reopen_handler() {
    install_flag_handler(SIGHUP, on_reopen_signal);
}

bool reopen_requested() {
    return take(g_reopen);
}

}  // namespace tcpscope
