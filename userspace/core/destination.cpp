#include "core/destination.h"

#include <cstring>

namespace tcpscope {

// Word-wise rather than byte-wise: this runs once per socket each interval
// (timewait's port pressure) and once per TIME_WAIT birth.
std::size_t DestinationHash::operator()(const Destination& d) const {
    std::uint64_t high = 0;
    std::uint64_t low = 0;
    std::memcpy(&high, d.daddr.bytes.data(), sizeof(high));
    std::memcpy(&low, d.daddr.bytes.data() + sizeof(high), sizeof(low));
    std::uint64_t h = high * 0x9e3779b97f4a7c15ull;
    h = (h ^ (h >> 29) ^ low) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 32) ^ (static_cast<std::uint64_t>(d.daddr.family) << 16 | d.dport)) *
        0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

}  // namespace tcpscope
