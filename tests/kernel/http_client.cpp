#include "kernel/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <sstream>

namespace tcpscope::ktest {
namespace {

class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) {
            close(fd_);
        }
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sin;
}

// {"a": "1", "b": "2"} from `a="1",b="2"` (no escaped quotes in our labels).
std::map<std::string, std::string> parse_labels(const std::string& text) {
    std::map<std::string, std::string> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t eq = text.find('=', pos);
        std::size_t open = text.find('"', eq);
        std::size_t close_quote = text.find('"', open + 1);
        if (eq == std::string::npos || open == std::string::npos ||
            close_quote == std::string::npos) {
            break;
        }
        out[text.substr(pos, eq - pos)] = text.substr(open + 1, close_quote - open - 1);
        pos = close_quote + 1;
        if (pos < text.size() && text[pos] == ',') {
            ++pos;
        }
    }
    return out;
}

}  // namespace

std::optional<HttpResponse> http_get(std::uint16_t port, const std::string& target) {
    Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    timeval timeout{5, 0};
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in sin = loopback(port);
    if (connect(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0) {
        return std::nullopt;
    }
    std::string request = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
        return std::nullopt;
    }
    std::string raw;
    char buf[8192];
    ssize_t n;
    while ((n = recv(fd.get(), buf, sizeof(buf), 0)) > 0) {
        raw.append(buf, static_cast<std::size_t>(n));
    }
    std::size_t header_end = raw.find("\r\n\r\n");
    if (n < 0 || raw.rfind("HTTP/1.", 0) != 0 || header_end == std::string::npos) {
        return std::nullopt;
    }
    HttpResponse response;
    response.status = std::stoi(raw.substr(raw.find(' ') + 1, 3));
    response.body = raw.substr(header_end + 4);
    return response;
}

std::uint16_t free_loopback_port() {
    Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in sin = loopback(0);
    socklen_t len = sizeof(sin);
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0 ||
        getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sin), &len) != 0) {
        return 0;
    }
    return ntohs(sin.sin_port);
}

std::optional<double> sample_value(const std::string& exposition, const std::string& name,
                                   const std::map<std::string, std::string>& labels) {
    std::istringstream lines(exposition);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty() || line[0] == '#' || line.rfind(name, 0) != 0) {
            continue;
        }
        std::size_t after = name.size();
        std::map<std::string, std::string> found;
        if (after < line.size() && line[after] == '{') {
            std::size_t close_brace = line.find('}', after);
            if (close_brace == std::string::npos) {
                continue;
            }
            found = parse_labels(line.substr(after + 1, close_brace - after - 1));
            after = close_brace + 1;
        }
        if (after >= line.size() || line[after] != ' ' || found != labels) {
            continue;
        }
        return std::stod(line.substr(after + 1));
    }
    return std::nullopt;
}

}  // namespace tcpscope::ktest
