#include "core/churn.h"

#include <unordered_set>

namespace tcpscope {

void ChurnTracker::observe(const Transition& t, bool known_before,
                           const SocketTable::Applied& applied) {
    // Born under our eyes: connect/listen (from CLOSE) or a child of a listener.
    bool birth = !known_before &&
                 (t.old_state == TcpState::Close || t.old_state == TcpState::Listen) &&
                 t.new_state != TcpState::Close;
    if (birth) {
        born_.emplace(t.cookie, t.ts_ns);
    }
    if (!applied.closed) {
        return;
    }
    auto it = born_.find(t.cookie);
    if (it == born_.end()) {
        return;
    }
    ShortLived s;
    s.last = *applied.closed;
    s.born_ns = it->second;
    s.closed_ns = t.ts_ns;
    s.final_from = t.old_state;
    s.sk_err = t.sk_err;
    closed_.push_back(std::move(s));
    born_.erase(it);
}

std::vector<ShortLived> ChurnTracker::collect(const std::vector<ListedSocket>& listed) {
    std::unordered_set<std::uint64_t> seen;
    seen.reserve(listed.size());
    for (const ListedSocket& s : listed) {
        seen.insert(s.cookie);
        born_.erase(s.cookie);
    }
    std::vector<ShortLived> out;
    for (ShortLived& s : closed_) {
        if (!seen.contains(s.last.cookie)) {
            out.push_back(std::move(s));
        }
    }
    closed_.clear();
    return out;
}

}  // namespace tcpscope
