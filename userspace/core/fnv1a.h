// FNV-1a over raw bytes: cheap, and good enough for the handful to thousands
// of keys the per-destination and per-closer counts hold.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tcpscope {

class Fnv1a {
  public:
    void add(const void* data, std::size_t n) {
        const auto* bytes = static_cast<const std::uint8_t*>(data);
        for (std::size_t i = 0; i < n; ++i) {
            hash_ = (hash_ ^ bytes[i]) * 1099511628211ull;
        }
    }
    // Only for types without padding: padding bytes are indeterminate.
    template <typename T>
    void add(const T& value) {
        add(&value, sizeof(value));
    }
    std::size_t value() const { return hash_; }

  private:
    std::uint64_t hash_ = 1469598103934665603ull;
};

}  // namespace tcpscope
