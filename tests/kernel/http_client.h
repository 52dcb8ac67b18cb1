// A tiny HTTP/1.0 GET client for the serve tests: scrapes /metrics and
// queries Prometheus's API over a TCP socket to 127.0.0.1.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace tcpscope::ktest {

struct HttpResponse {
    int status = 0;
    std::string body;
};

// Empty when nothing answered (connection refused, timeout).
std::optional<HttpResponse> http_get(std::uint16_t port, const std::string& target);

// A port on 127.0.0.1 that was free a moment ago.
std::uint16_t free_loopback_port();

// The value of the sample `name{labels}` in Prometheus text exposition (the
// labels must match exactly, in any order), or empty when absent.
std::optional<double> sample_value(const std::string& exposition, const std::string& name,
                                   const std::map<std::string, std::string>& labels = {});

}  // namespace tcpscope::ktest
