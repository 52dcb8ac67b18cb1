// Encoding and decoding of a recording's header and payloads (the layouts
// record_format.h names). Pure functions over bytes: unit tested and fuzzed.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/kernel_losses.h"
#include "core/listed_socket.h"
#include "core/listen_counts.h"
#include "core/proc_net_counters.h"
#include "core/timewait_stats.h"
#include "record/record_format.h"

namespace tcpscope {

// A payload (or header) shorter than its layout, or holding a value no
// recorder writes. The reader adds the file and the offset.
class MalformedPayload : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The whole header: magic, version, length, fields.
std::string encode_header(const RecordingHeader& header);
// The fields after the length, as a reader of format `version` reads them.
RecordingHeader decode_header_fields(std::string_view fields, std::uint16_t version);

// type, length, payload appended to out.
void append_record(std::string& out, RecordType type, std::string_view payload);

struct ListingRecord {
    int family = 0;  // AF_INET, AF_INET6, 0: both
    bool ok = true;  // false: the listing failed (nothing listed)
    std::vector<ListedSocket> sockets;
};
std::string encode_listing(int family, bool ok, const ListedSocket* sockets, std::size_t count);
ListingRecord decode_listing(std::string_view payload);

std::string encode_clock(ClockKind kind, std::uint64_t ns);
std::pair<ClockKind, std::uint64_t> decode_clock(std::string_view payload);

std::string encode_losses(const KernelLosses& losses);
KernelLosses decode_losses(std::string_view payload);

// A cgroup id and its path when the host knew one.
std::string encode_cgroup_name(std::uint64_t id, const std::string* path);
std::pair<std::uint64_t, std::optional<std::string>> decode_cgroup_name(std::string_view payload);

std::string encode_limits(const TimewaitLimits& limits);
TimewaitLimits decode_limits(std::string_view payload);

// What one read of the listen probes' maps returned.
struct ListenCountsRecord {
    std::vector<ListenerCounts> listeners;
    std::vector<SynDropCount> syn_drops;
};
std::string encode_listen_counts(const ListenCountsRecord& counts);
ListenCountsRecord decode_listen_counts(std::string_view payload);

std::string encode_net_counters(const ProcNetCounters& counters);
ProcNetCounters decode_net_counters(std::string_view payload);

// A socket inode and the owner /proc named for it, when it named one.
std::string encode_program_name(std::uint64_t inode, const std::string* program);
std::pair<std::uint64_t, std::optional<std::string>> decode_program_name(std::string_view payload);

}  // namespace tcpscope
