// Memory of the live table per tracked socket, and userspace CPU per event:
// synthetic transitions through the real decode, table and formatter code.
// Prints one JSON line per measurement.
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "core/decode.h"
#include "core/socket_table.h"
#include "core/wall_clock.h"
#include "tcpscope/event.h"
#include "views/trace_format.h"

namespace {

using namespace tcpscope;

long rss_kb() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            return std::stol(line.substr(6));
        }
    }
    return -1;
}

tcpscope_event raw(std::uint64_t cookie, TcpState from, TcpState to, std::uint64_t ts) {
    tcpscope_event e{};
    e.ts_ns = ts;
    e.cookie = cookie;
    e.family = AF_INET;
    e.saddr[0] = 10;
    e.saddr[3] = static_cast<std::uint8_t>(cookie);
    e.daddr[0] = 10;
    e.daddr[3] = 2;
    e.sport = static_cast<std::uint16_t>(cookie);
    e.dport = 443;
    e.oldstate = static_cast<std::uint8_t>(from);
    e.newstate = static_cast<std::uint8_t>(to);
    e.pid = 1000 + static_cast<std::uint32_t>(cookie % 50);
    std::strcpy(e.comm, "nginx-worker");
    e.flags = TCPSCOPE_F_OWNER_CURRENT | TCPSCOPE_F_DUR_KNOWN;
    e.dur_ns = 12345;
    return e;
}

void table_memory(std::size_t sockets) {
    long before = rss_kb();
    SocketTable table(sockets);
    for (std::size_t i = 1; i <= sockets; ++i) {
        tcpscope_event e = raw(i, TcpState::SynSent, TcpState::Established, i);
        table.apply(*decode_event(&e, sizeof(e)));
    }
    long after = rss_kb();
    std::printf(
        "{\"measure\":\"table_memory\",\"sockets\":%zu,\"rss_kb\":%ld,\"bytes_per_socket\":%.1f}\n",
        table.size(), after - before,
        (after - before) * 1024.0 / static_cast<double>(table.size()));
}

// decode + table + text/JSON formatting of a full connection lifecycle
// (10 transitions), per event.
void cpu_per_event(bool json, std::size_t connections) {
    SocketTable table(1 << 20);
    TraceFormatter formatter(WallClock::from_system());
    static const TcpState client[][2] = {{TcpState::Close, TcpState::SynSent},
                                         {TcpState::SynSent, TcpState::Established},
                                         {TcpState::Established, TcpState::FinWait1},
                                         {TcpState::FinWait1, TcpState::FinWait2},
                                         {TcpState::FinWait2, TcpState::Close}};
    std::vector<tcpscope_event> events;
    for (std::size_t c = 0; c < 1000; ++c) {
        for (auto& step : client) {
            events.push_back(raw(c * 2 + 1, step[0], step[1], c));
            events.push_back(raw(c * 2 + 2, step[0], step[1], c));
        }
    }
    std::size_t bytes = 0;
    auto start = std::chrono::steady_clock::now();
    std::size_t processed = 0;
    for (std::size_t round = 0; round < connections / 1000; ++round) {
        for (auto& e : events) {
            e.cookie += 2000;
            auto t = decode_event(&e, sizeof(e));
            table.apply(*t);
            std::string line = json ? formatter.json_line(*t) : formatter.text_line(*t);
            bytes += line.size();
            ++processed;
        }
    }
    double ns =
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    std::printf(
        "{\"measure\":\"userspace_cpu\",\"format\":\"%s\",\"events\":%zu,\"ns_per_event\":%.1f,"
        "\"bytes\":%zu}\n",
        json ? "json" : "text", processed, ns / static_cast<double>(processed), bytes);
}

}  // namespace

int main() {
    table_memory(100'000);
    table_memory(1'000'000);
    cpu_per_event(false, 200'000);
    cpu_per_event(true, 200'000);
    return 0;
}
