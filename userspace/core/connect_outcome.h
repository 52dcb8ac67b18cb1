// What `synfail` makes of a Transition: the outcome of a connection attempt
// (SYN_SENT left for ESTABLISHED or CLOSE, or connect() failing before any
// SYN), and the reason of a failure.
#pragma once

#include <string>
#include <string_view>

#include "core/transition.h"

namespace tcpscope {

enum class ConnectOutcome { None, Succeeded, Failed };

ConnectOutcome connect_outcome(const Transition& t);

// The application closed the socket during SYN_SENT (no error).
inline constexpr std::string_view kCancelled = "CANCELLED";

// "ECONNREFUSED", "ETIMEDOUT", "CANCELLED", ...; empty when t is no failure.
// A SYN_SENT -> CLOSE in process context with no error and no source port is
// connect() finding no free port: "EADDRNOTAVAIL".
std::string failure_reason(const Transition& t);

// True for "CANCELLED" and every errno name the C library knows.
bool is_known_failure_reason(std::string_view name);

}  // namespace tcpscope
