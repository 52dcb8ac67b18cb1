#include "cli/stop_signal.h"

#include <csignal>

namespace tcpscope {
namespace {

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_snapshot = 0;

void on_stop_signal(int) {
    g_stop = 1;
}

void on_snapshot_signal(int) {
    g_snapshot = 1;
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
    struct sigaction action {};
    action.sa_handler = on_snapshot_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &action, nullptr);
}

bool snapshot_requested() {
    if (g_snapshot == 0) {
        return false;
    }
    g_snapshot = 0;
    return true;
}

}  // namespace tcpscope
