// Bounded metric labels: the top N keys by weight keep their own label, the
// rest merge into one "other". Shared by every family that names an open set
// (units, destinations, ports).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace tcpscope {

// weight(value) ranks the keys (ties: the smaller key first); label(key) names
// a kept one; merge(into, value) adds a value into "other" (or into a label
// two keys share).
template <typename Key, typename Value, typename Weight, typename Label, typename Merge>
std::map<std::string, Value> top_n_or_other(const std::map<Key, Value>& by_key, std::size_t top_n,
                                            Weight weight, Label label, Merge merge) {
    std::vector<std::pair<std::uint64_t, const Key*>> ranked;
    for (const auto& [key, value] : by_key) {
        ranked.emplace_back(weight(value), &key);
    }
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : *a.second < *b.second;
    });
    std::map<std::string, Value> out;
    for (std::size_t i = 0; i < ranked.size(); ++i) {
        const Value& value = by_key.at(*ranked[i].second);
        auto [it, fresh] =
            out.try_emplace(i < top_n ? label(*ranked[i].second) : std::string("other"), value);
        if (!fresh) {
            merge(it->second, value);
        }
    }
    return out;
}

}  // namespace tcpscope
