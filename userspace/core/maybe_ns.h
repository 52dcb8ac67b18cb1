// A nanosecond stamp or duration that may be unknown, in 8 bytes instead of
// std::optional's 16: the live table keeps two per socket. The all-ones
// value, never a real CLOCK_MONOTONIC stamp, means unknown. Reads like
// std::optional<std::uint64_t>, which it converts to and from.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <ostream>

namespace tcpscope {

class MaybeNs {
  public:
    MaybeNs() = default;
    MaybeNs(std::nullopt_t) {}
    MaybeNs(std::uint64_t ns) : ns_(ns) {}
    MaybeNs(const std::optional<std::uint64_t>& ns) : ns_(ns.value_or(kUnknown)) {}

    bool has_value() const { return ns_ != kUnknown; }
    explicit operator bool() const { return has_value(); }
    std::uint64_t operator*() const { return ns_; }
    std::uint64_t value_or(std::uint64_t fallback) const { return has_value() ? ns_ : fallback; }
    void reset() { ns_ = kUnknown; }
    operator std::optional<std::uint64_t>() const {
        return has_value() ? std::optional(ns_) : std::nullopt;
    }

    bool operator==(const MaybeNs&) const = default;
    friend std::ostream& operator<<(std::ostream& out, const MaybeNs& ns) {
        return ns.has_value() ? out << ns.ns_ : out << "unknown";
    }

  private:
    static constexpr std::uint64_t kUnknown = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t ns_ = kUnknown;
};

}  // namespace tcpscope
