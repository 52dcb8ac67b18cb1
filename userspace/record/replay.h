// The reading side of -r FILE: serves a command, in order, the inputs its
// recording holds. A command that replays asks for the same inputs in the
// same order as it did live, so each ask takes the next record and must find
// the kind it asks for; anything else is a RecordingError naming the offset.
// Side information (cgroup and program names, loss counters) is applied as soon as the record
// before it is taken, so it is in place when the command looks it up.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/cgroup_name.h"
#include "core/kernel_losses.h"
#include "core/timewait_stats.h"
#include "record/record_codec.h"
#include "record/record_reader.h"

namespace tcpscope {

class Replay : public CgroupNames {
  public:
    // The files of one recording, oldest first: its first part, then each
    // next one. Throws RecordingError.
    explicit Replay(std::vector<std::string> paths);

    const RecordingHeader& header() const { return header_; }
    // A header setting the recorder wrote, else fallback.
    std::string setting(const std::string& key, const std::string& fallback = "") const;

    // What comes next in the stream: an event (its bytes in event()), a tick,
    // the end of a drain, the end of the loop.
    enum class Step { Event, Tick, DrainEnd, LoopEnd };
    Step step();
    std::string_view event() const { return current_.payload; }

    std::uint64_t clock(ClockKind kind);
    // The loss counters as last recorded (side information: a replay may
    // read them where the live run did not, with --stats, say).
    KernelLosses losses() const { return last_losses_; }
    ListingRecord listing();
    TimewaitLimits limits();
    ListenCountsRecord listen_counts();
    ProcNetCounters net_counters();
    // What /proc named a socket inode's owner on the recording host.
    std::optional<std::string> program(std::uint64_t inode) const;

    // Cgroup names as the recording host answered them.
    const CgroupName* find(std::uint64_t id) override;

    // Where the record last taken starts, and in which file.
    std::uint64_t offset() const { return current_.offset; }
    const std::string& path() const;

  private:
    // Takes the next record that is not side information.
    const Record& take();
    const Record& take(RecordType expected);
    // The next record, of that type, decoded; RecordingError naming the
    // offset when it is another or does not decode.
    template <typename Decode>
    auto take_decoded(RecordType type, Decode decode) -> decltype(decode(std::string_view()));
    // Reads ahead to the next main record, applying side records on the way;
    // an error is kept until the command takes past the last good record.
    void read_ahead();
    void apply_side(const Record& r);
    [[noreturn]] void fail_at(const Record& r, const std::string& what) const;

    std::vector<std::string> paths_;
    std::size_t file_index_ = 0;
    std::unique_ptr<RecordReader> reader_;
    RecordingHeader header_;
    Record current_;
    std::string current_path_;
    std::optional<Record> ahead_;
    std::string ahead_path_;
    std::optional<std::string> error_ahead_;  // what reading ahead ran into
    bool ended_ = false;                      // every file read to its end
    KernelLosses last_losses_;
    std::unordered_map<std::uint64_t, std::optional<CgroupName>> cgroups_;
    std::unordered_map<std::uint64_t, std::string> programs_;
};

}  // namespace tcpscope
