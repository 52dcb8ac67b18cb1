#include "core/proc_net_counters.h"

#include <sstream>
#include <vector>

namespace tcpscope {

void parse_proc_net_counters(std::string_view text, ProcNetCounters& out) {
    std::istringstream lines{std::string(text)};
    std::string names;
    std::string values;
    while (std::getline(lines, names) && std::getline(lines, values)) {
        std::istringstream n(names);
        std::istringstream v(values);
        std::string group;
        std::string value_group;
        if (!(n >> group) || !(v >> value_group) || group != value_group || group.back() != ':') {
            continue;
        }
        group.pop_back();
        std::string name;
        std::string value;
        while (n >> name && v >> value) {
            // Counters are unsigned; Tcp's MaxConn prints -1 (no limit): skipped.
            if (value.empty() || value[0] == '-') {
                continue;
            }
            out[group + "." + name] = std::stoull(value);
        }
    }
}

}  // namespace tcpscope
