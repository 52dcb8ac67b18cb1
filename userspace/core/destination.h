// A remote endpoint (daddr:dport), as per-destination counts key it: in
// ordered maps by address then port, in hashed ones by its bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <tuple>

#include "core/address.h"

namespace tcpscope {

struct Destination {
    IpAddress daddr;
    std::uint16_t dport = 0;

    bool operator==(const Destination&) const = default;
    bool operator<(const Destination& other) const {
        return std::tie(daddr.family, daddr.bytes, dport) <
               std::tie(other.daddr.family, other.daddr.bytes, other.dport);
    }
};

struct DestinationHash {
    std::size_t operator()(const Destination& d) const;
};

}  // namespace tcpscope
