// Where a tracing command's inputs come from: the kernel and this host (and,
// with -w FILE, recorded as they are read), or a recording (-r FILE). The
// commands read every clock, loss counter, listing, cgroup name and event
// through here, so a replay feeds their core and views exactly what they
// read live.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/event_loop.h"
#include "cli/reconciler.h"
#include "core/cgroup_name.h"
#include "core/kernel_losses.h"
#include "core/listed_socket.h"
#include "core/table_watch.h"
#include "core/timewait_stats.h"
#include "core/transition.h"
#include "core/wall_clock.h"
#include "record/recorder.h"
#include "record/recording_adapters.h"
#include "record/replay.h"

namespace tcpscope {

class LineSink;
class Tracer;
struct RecordConfig;

// The event stream a command loops over; its drain() is the one the table
// watch and the reconciler use.
class EventStream : public EventDrain {
  public:
    using Handler = std::function<void(const Transition&)>;
    // Until a stop signal, --duration or a closed output (live), or the
    // recording's end of the loop (replay).
    virtual void run(LineSink& sink, const LoopOptions& options) = 0;
    virtual std::uint64_t malformed() const = 0;
};

class CommandInputs {
  public:
    // Live: the tracer's and this host's.
    CommandInputs(Tracer& tracer, WallClock clock);
    // A replay (owning it); filter selects events as the BPF side would have.
    CommandInputs(std::unique_ptr<Replay> replay, SocketFilter filter);
    ~CommandInputs();

    // -w FILE, when config has one: from now on what is read is recorded too,
    // under a header naming the command, the traced netns and the settings a
    // replay needs (the reconciler may be opened before: the header says
    // whether there is one). SIGHUP then reopens the file once moved. The
    // file is given to owner; one it cannot open is a usage error
    // (std::invalid_argument, exit 2), as for -o.
    using Settings = std::vector<std::pair<std::string, std::string>>;
    void record_if_asked(const RecordConfig& config, const FileOwner& owner,
                         const std::string& command, std::uint32_t netns, Settings settings);
    bool replaying() const { return replay_ != nullptr; }
    // A replay's recording (its header and settings) and event filter.
    const Replay& recording() const { return *replay_; }
    const SocketFilter& filter() const { return filter_; }
    // Called with every clock a replay serves (netstat --at stops there).
    void watch_clock(std::function<void(std::uint64_t)> hook) { clock_hook_ = std::move(hook); }
    std::uint64_t now_ns();
    std::uint64_t cpu_ns();
    KernelLosses losses();
    const WallClock& wall_clock() const { return clock_; }
    CgroupNames& cgroups();
    TimewaitLimits limits(const std::function<TimewaitLimits()>& read);
    // listen: the probes' counts and the namespace's counters.
    ListenCountsRecord listen_counts(const std::function<ListenCountsRecord()>& read);
    ProcNetCounters net_counters(const std::function<ProcNetCounters()>& read);
    // listen: owner names from /proc (host: this host's scan; null in a replay).
    ProgramLookup* programs(ProgramLookup* host);
    // A listing the command takes itself (synfail's listeners); empty where
    // it failed.
    std::optional<std::vector<ListedSocket>> listing(
        const std::function<std::vector<ListedSocket>()>& list);

    // Once per command.
    std::unique_ptr<EventStream> events(EventStream::Handler handler);
    // The command's reconciler; null where the kernel cannot list (required:
    // throws instead) or the recording holds no listings.
    std::unique_ptr<Reconciler> reconciler(const ListingRequest& request, bool required);
    // The one watch over the table, reading losses and clocks through here.
    TableWatch watch(SocketTable& table, Reconciler* reconciler, EventStream& stream,
                     ListingSchedule schedule);
    // For the start line: the attached programs, or the recording replayed.
    std::string describe() const;

  private:
    // Live: read (and record); replay: the next record of that kind.
    template <typename T>
    T read_through(const std::function<T()>& read, T (Replay::*pull)(),
                   void (Recorder::*record)(const T&)) {
        if (replay_ != nullptr) {
            return (replay_.get()->*pull)();
        }
        T value = read();
        if (recorder_) {
            (recorder_.get()->*record)(value);
        }
        return value;
    }

    Tracer* tracer_ = nullptr;
    std::unique_ptr<Recorder> recorder_;
    std::unique_ptr<Replay> replay_;
    SocketFilter filter_;
    WallClock clock_;
    std::unique_ptr<CgroupNames> host_cgroups_;
    std::unique_ptr<RecordingCgroups> recorded_cgroups_;
    std::unique_ptr<ProgramLookup> programs_;  // recording or replaying /proc's answers
    EventStream* stream_ = nullptr;
    std::function<void(std::uint64_t)> clock_hook_;
};

// The header of a recording this host starts now.
RecordingHeader new_recording_header(const std::string& command, std::uint32_t netns,
                                     const WallClock& clock,
                                     std::vector<std::pair<std::string, std::string>> settings);

// -r: the inputs of a replay of command's recording, its events selected by
// the family and port filters (one clear line on stderr when the files come
// from another host); throws RecordingError.
struct FilterConfig;
std::unique_ptr<CommandInputs> replay_inputs(const RecordConfig& record,
                                             const FilterConfig& filters,
                                             const std::string& command);

// A recorded setting as a number; RecordingError when it is missing or not one.
double setting_number(const Replay& replay, const std::string& key);

}  // namespace tcpscope
