// Sockets born and closed between two snapshots: the short-lived connections
// that polling tools never see. Fed by the transition stream.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/listed_socket.h"
#include "core/socket_table.h"
#include "core/transition.h"

namespace tcpscope {

struct ShortLived {
    SocketEntry last;  // the table's entry just before ->CLOSE
    std::uint64_t born_ns = 0;
    std::uint64_t closed_ns = 0;
    TcpState final_from = TcpState::Close;  // the final transition: final_from -> CLOSE
    int sk_err = 0;
};

class ChurnTracker {
  public:
    // Call for each transition with whether the table knew the socket before
    // applying it, and what applying it did.
    void observe(const Transition& t, bool known_before, const SocketTable::Applied& applied);

    // At each table: the sockets born and closed since the previous call that
    // are not in `listed` (a TIME_WAIT continuation is listed, so it is shown
    // there). Sockets listed now were seen by polling and are forgotten.
    std::vector<ShortLived> collect(const std::vector<ListedSocket>& listed);

  private:
    std::unordered_map<std::uint64_t, std::uint64_t> born_;  // cookie -> first event
    std::vector<ShortLived> closed_;
};

}  // namespace tcpscope
