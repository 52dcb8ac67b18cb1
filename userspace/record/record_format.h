// The file `-w FILE` writes and `-r FILE` reads: everything a tracing command
// read from the kernel and the host while it ran, in the order it read it, so
// that a replay feeds the same core the same inputs and prints the same lines.
//
//   file   = header record*
//   header = "TCPSCREC" u16:format_version u32:length field*   (length: of the fields)
//   record = u8:type u32:length payload                         (length: of the payload)
//
// Integers are little-endian; strings are u32:length bytes. The layout of each
// header field and payload is in record_codec.cpp; README.md ("Record and
// replay") states the compatibility promise.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tcpscope {

inline constexpr char kRecordingMagic[8] = {'T', 'C', 'P', 'S', 'C', 'R', 'E', 'C'};
// Raised whenever a record's meaning or layout changes or a type is added;
// a reader reads every version up to its own and refuses newer ones.
inline constexpr std::uint16_t kRecordingFormatVersion = 1;
// No record is this large (a listing of 100k sockets is ~10 MB): a larger
// length is corruption, not a record to allocate for.
inline constexpr std::uint32_t kMaxRecordPayload = 64u << 20;
inline constexpr std::size_t kRecordHeaderBytes = 5;

enum class RecordType : std::uint8_t {
    Event = 1,          // one ring-buffer record, byte for byte as received
    Listing = 2,        // what one kernel listing returned (sock_diag)
    Clock = 3,          // a clock the command read (u8 kind, u64 ns)
    Losses = 4,         // the kernel's loss counters as read
    CgroupName = 5,     // what a cgroup id was called when first asked (side information)
    Limits = 6,         // timewait: the namespace's TIME_WAIT limits as read
    Tick = 7,           // the command's periodic tick began
    DrainEnd = 8,       // a drain of the stream the table watch asked for ended
    LoopEnd = 9,        // the event loop ended, after its last drain
    ListenCounts = 10,  // listen: the listen probes' counts as read
    NetCounters = 11,   // listen: the namespace's /proc/net counters as read
    ProgramName = 12,   // listen: what /proc named a socket inode's owner (side information)
};
inline constexpr std::uint8_t kLastRecordType = 12;

enum class ClockKind : std::uint8_t { Monotonic = 0, ThreadCpu = 1 };

struct RecordingHeader {
    std::uint16_t format_version = kRecordingFormatVersion;
    std::string tcpscope_version;
    std::string kernel_release;
    std::string boot_id;
    std::string host_name;
    std::string command;      // the recording command: trace, synfail or timewait
    std::uint32_t netns = 0;  // the traced namespace's inode, 0: every namespace
    // CLOCK_REALTIME - CLOCK_MONOTONIC when the recording began: event
    // stamps are monotonic, and a replay prints the wall clock live printed.
    std::int64_t realtime_minus_monotonic_ns = 0;
    std::uint64_t recording_id = 0;  // shared by the files of one rotated recording
    std::uint32_t part = 0;          // 0 for the first file, +1 per rotation or reopen
    std::uint32_t event_size = 0;    // sizeof(struct tcpscope_event) of the recorder
    // The settings that shaped when the command read what (reconcile period,
    // interval, ...) and the filters, as "key", "value": a replay runs with them.
    std::vector<std::pair<std::string, std::string>> settings;

    const std::string* setting(const std::string& key) const {
        for (const auto& [k, v] : settings) {
            if (k == key) {
                return &v;
            }
        }
        return nullptr;
    }
};

}  // namespace tcpscope
