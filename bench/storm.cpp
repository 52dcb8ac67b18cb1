// Connection-storm generator for benchmarks and loss tests. Runs a listener
// and N client threads against it (loopback, or an address inside a test
// network namespace — run it with `ip netns exec`), each connection opened,
// optionally held, and closed by the chosen side. Prints one JSON line:
// {"connections":N,"failed":N,"seconds":S,"rate":R}.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
    double seconds = 5;
    int clients = 2;
    int servers = 2;
    double rate = 0;  // connections/s across all clients; 0: as fast as possible
    bool server_closes = false;
    std::uint16_t port = 5555;
    std::string addr = "127.0.0.1";
    long max_connections = 0;  // 0: no limit
};

[[noreturn]] void usage() {
    std::fprintf(stderr,
                 "usage: storm [--seconds S] [--clients N] [--servers N] [--rate R] "
                 "[--server-closes] [--port P] [--addr A] [--count N]\n");
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> const char* {
            if (i + 1 >= argc) {
                usage();
            }
            return argv[++i];
        };
        if (a == "--seconds") {
            o.seconds = std::atof(next());
        } else if (a == "--clients") {
            o.clients = std::atoi(next());
        } else if (a == "--servers") {
            o.servers = std::atoi(next());
        } else if (a == "--rate") {
            o.rate = std::atof(next());
        } else if (a == "--server-closes") {
            o.server_closes = true;
        } else if (a == "--port") {
            o.port = static_cast<std::uint16_t>(std::atoi(next()));
        } else if (a == "--addr") {
            o.addr = next();
        } else if (a == "--count") {
            o.max_connections = std::atol(next());
        } else {
            usage();
        }
    }
    if (o.clients < 1 || o.servers < 1 || o.seconds <= 0) {
        usage();
    }
    return o;
}

sockaddr_storage address(const Options& o, socklen_t& len) {
    sockaddr_storage ss{};
    if (o.addr.find(':') == std::string::npos) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(o.port);
        inet_pton(AF_INET, o.addr.c_str(), &sin->sin_addr);
        len = sizeof(*sin);
    } else {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(o.port);
        inet_pton(AF_INET6, o.addr.c_str(), &sin6->sin6_addr);
        len = sizeof(*sin6);
    }
    return ss;
}

void drain_and_close(int fd) {
    char buf[64];
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
    close(fd);
}

}  // namespace

int main(int argc, char** argv) {
    Options o = parse(argc, argv);
    socklen_t len = 0;
    sockaddr_storage ss = address(o, len);

    int listener = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(listener, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(listener, 4096) != 0) {
        std::perror("storm: listen");
        return 1;
    }

    std::atomic<bool> stop{false};
    std::vector<std::thread> servers;
    for (int i = 0; i < o.servers; ++i) {
        servers.emplace_back([&] {
            for (;;) {
                int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
                if (fd < 0) {
                    if (stop) {
                        return;
                    }
                    continue;
                }
                if (o.server_closes) {
                    close(fd);
                } else {
                    drain_and_close(fd);
                }
            }
        });
    }

    std::atomic<long> made{0};
    std::atomic<long> failed{0};
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                      std::chrono::duration<double>(o.seconds));
    std::vector<std::thread> clients;
    for (int i = 0; i < o.clients; ++i) {
        clients.emplace_back([&, i] {
            // Paced clients start on a per-thread schedule so the total rate is exact.
            double per_thread = o.rate > 0 ? o.rate / o.clients : 0;
            long n = 0;
            for (;;) {
                auto now = std::chrono::steady_clock::now();
                if (now >= deadline) {
                    return;
                }
                if (o.max_connections > 0 && made.load() + failed.load() >= o.max_connections) {
                    return;
                }
                if (per_thread > 0) {
                    auto due =
                        start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                    std::chrono::duration<double>((n + i / double(o.clients)) /
                                                                  per_thread));
                    if (due > now) {
                        std::this_thread::sleep_until(due);
                    }
                }
                ++n;
                int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
                    ++failed;
                    close(fd);
                    continue;
                }
                if (o.server_closes) {
                    drain_and_close(fd);
                } else {
                    close(fd);
                }
                ++made;
            }
        });
    }
    for (auto& t : clients) {
        t.join();
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // Let the last closes finish before the listener goes.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop = true;
    shutdown(listener, SHUT_RDWR);
    for (auto& t : servers) {
        t.join();
    }
    close(listener);
    std::printf("{\"connections\":%ld,\"failed\":%ld,\"seconds\":%.3f,\"rate\":%.1f}\n",
                made.load(), failed.load(), seconds, made.load() / seconds);
    return 0;
}
