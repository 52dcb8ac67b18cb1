// The writing side of -w FILE: every input a command reads, appended in the
// order it was read into batches of an OutputFile (one write(2) per batch or
// per tick). Rotation and reopening happen only at ticks, so that every file
// of a recording starts at a tick.
#pragma once

#include <cstdint>
#include <string>

#include "core/kernel_losses.h"
#include "core/listed_socket.h"
#include "core/timewait_stats.h"
#include "record/record_codec.h"
#include "record/record_format.h"
#include "views/output_file.h"

namespace tcpscope {

class Recorder {
  public:
    // Opens the file and writes the header (then one per rotated file).
    // Throws std::runtime_error naming the file.
    Recorder(OutputFileOptions file, RecordingHeader header);

    // The hot path: one ring-buffer record, copied into the batch.
    void event(const void* data, std::size_t size) {
        std::string& batch = file_.batch();
        const auto length = static_cast<std::uint32_t>(size);
        const char head[kRecordHeaderBytes] = {
            static_cast<char>(RecordType::Event), static_cast<char>(length & 0xff),
            static_cast<char>((length >> 8) & 0xff), static_cast<char>((length >> 16) & 0xff),
            static_cast<char>(length >> 24)};
        batch.append(head, sizeof(head));
        batch.append(static_cast<const char*>(data), size);
        file_.flush_if_full();
    }
    void listing(int family, bool ok, const ListedSocket* sockets, std::size_t count);
    void clock(ClockKind kind, std::uint64_t ns);
    void losses(const KernelLosses& losses);
    void cgroup_name(std::uint64_t id, const std::string* path);
    void limits(const TimewaitLimits& limits);
    void listen_counts(const ListenCountsRecord& counts);
    void net_counters(const ProcNetCounters& counters);
    void program_name(std::uint64_t inode, const std::string* program);
    // A tick begins: writes what is batched, rotates when past the size,
    // reopens when asked (SIGHUP), then marks the tick.
    void tick(bool reopen_requested);
    void drain_end();
    void loop_end();  // and writes everything out

    const RecordingHeader& header() const { return header_; }
    std::uint64_t bytes() const { return total_bytes_ + file_.size(); }

  private:
    void put(RecordType type, std::string_view payload);

    RecordingHeader header_;
    OutputFile file_;
    std::uint64_t total_bytes_ = 0;  // in files closed by rotation or reopening
};

}  // namespace tcpscope
