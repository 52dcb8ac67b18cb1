// tcpscope's exit codes; documented in README.md ("Exit codes").
#pragma once

namespace tcpscope::exit_code {

inline constexpr int kOk = 0;
inline constexpr int kRuntime = 1;       // failed while running (I/O, ring buffer)
inline constexpr int kUsage = 2;         // bad flag or flag value
inline constexpr int kNotPermitted = 3;  // not root / missing CAP_BPF+CAP_PERFMON
inline constexpr int kUnsupported = 4;   // kernel lacks BTF, tp_btf or ring buffers
inline constexpr int kLoadFailed = 5;    // BPF load or attach failed otherwise
inline constexpr int kBadRecording = 6;  // -r FILE: unreadable, newer, truncated or corrupt

}  // namespace tcpscope::exit_code
