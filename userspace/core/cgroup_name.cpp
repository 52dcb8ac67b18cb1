#include "core/cgroup_name.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace tcpscope {
namespace {

bool all_hex(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    });
}

bool ends_with(std::string_view s, std::string_view tail) {
    return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

// The container id a single path component shows, or empty.
std::string_view container_in(std::string_view component) {
    constexpr std::array<std::string_view, 4> kRuntimes = {"docker-", "cri-containerd-", "crio-",
                                                           "libpod-"};
    if (ends_with(component, ".scope")) {
        std::string_view stem = component.substr(0, component.size() - 6);
        for (std::string_view prefix : kRuntimes) {
            if (stem.substr(0, prefix.size()) == prefix) {
                std::string_view id = stem.substr(prefix.size());
                if (id.size() >= 12 && all_hex(id)) {
                    return id;
                }
            }
        }
    }
    return component.size() == 64 && all_hex(component) ? component : std::string_view();
}

}  // namespace

CgroupName name_cgroup(std::string path) {
    CgroupName name;
    std::string_view rest(path);
    while (!rest.empty()) {
        std::size_t slash = rest.find('/');
        std::string_view component = rest.substr(0, slash);
        rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash + 1);
        if (component.empty()) {
            continue;
        }
        if (ends_with(component, ".service") || ends_with(component, ".scope")) {
            name.unit = component;
        }
        if (std::string_view id = container_in(component); !id.empty()) {
            name.container = id;
        }
    }
    name.path = path.empty() ? "/" : std::move(path);
    return name;
}

}  // namespace tcpscope
