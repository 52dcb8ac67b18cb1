#include "core/connect_outcome.h"

#include <algorithm>
#include <set>

#include "core/errno_name.h"

namespace tcpscope {
namespace {

// Errno numbers on Linux stop below this (EHWPOISON is 133).
constexpr int kErrnoLimit = 256;

std::set<std::string, std::less<>> make_known_reasons() {
    std::set<std::string, std::less<>> names{std::string(kCancelled)};
    for (int err = 1; err < kErrnoLimit; ++err) {
        std::string name = errno_name(err);
        if (name != "E" + std::to_string(err)) {
            names.insert(std::move(name));
        }
    }
    return names;
}

}  // namespace

ConnectOutcome connect_outcome(const Transition& t) {
    if (t.connect_sync) {
        return ConnectOutcome::Failed;
    }
    if (t.old_state != TcpState::SynSent || t.new_state == TcpState::SynSent) {
        return ConnectOutcome::None;
    }
    return t.new_state == TcpState::Close ? ConnectOutcome::Failed : ConnectOutcome::Succeeded;
}

std::string failure_reason(const Transition& t) {
    if (connect_outcome(t) != ConnectOutcome::Failed) {
        return {};
    }
    if (t.sk_err != 0) {
        return errno_name(t.sk_err);
    }
    // Back to CLOSE without an error and without a source port: connect()
    // found no free port after entering SYN_SENT (the port search comes
    // after it). A close() during SYN_SENT always has one. Without the
    // connect() exit hook (serve, synfail --no-sync) this is how it shows.
    if (!t.connect_sync && !t.softirq && (!t.sport || *t.sport == 0)) {
        return "EADDRNOTAVAIL";
    }
    return std::string(kCancelled);
}

bool is_known_failure_reason(std::string_view name) {
    static const auto known = make_known_reasons();
    return known.find(name) != known.end();
}

}  // namespace tcpscope
