#include "cli/command_inputs.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/cgroup_paths.h"
#include "cli/options.h"
#include "cli/stop_signal.h"
#include "core/decode.h"
#include "kernel/ring_source.h"
#include "kernel/tracer.h"
#include "tcpscope/event.h"
#include "views/line_sink.h"

namespace tcpscope {
namespace {

// How often a recording without a tick of its own flushes and may rotate.
constexpr std::chrono::milliseconds kRecordTick{100};

class LiveStream : public EventStream {
  public:
    LiveStream(int ringbuf_fd, Handler handler, Recorder* recorder, CgroupNames* cgroups)
        : source_(ringbuf_fd, wrap(std::move(handler), recorder, cgroups)), recorder_(recorder) {
        source_.record_into(recorder);
    }

    void run(LineSink& sink, const LoopOptions& options) override {
        if (recorder_ == nullptr) {
            run_event_loop(source_, sink, options);
            return;
        }
        LoopOptions recorded = options;
        if (!recorded.tick_every) {
            recorded.tick_every = kRecordTick;
        }
        recorded.on_tick = [&] {
            recorder_->tick(reopen_requested());
            if (options.on_tick) {
                options.on_tick();
            }
        };
        run_event_loop(source_, sink, recorded);
        recorder_->loop_end();
    }

    std::uint64_t drain() override {
        std::uint64_t n = source_.drain();
        if (recorder_ != nullptr) {
            recorder_->drain_end();
        }
        return n;
    }
    std::uint64_t malformed() const override { return source_.malformed(); }

  private:
    // Recording: each owner's cgroup is named as its event arrives, printed
    // or not, so that a replay can print it.
    static Handler wrap(Handler handler, Recorder* recorder, CgroupNames* cgroups) {
        if (recorder == nullptr) {
            return handler;
        }
        return [handler = std::move(handler), cgroups](const Transition& t) {
            if (t.owner && t.owner->cgroup_id != 0) {
                cgroups->find(t.owner->cgroup_id);
            }
            handler(t);
        };
    }

    RingSource source_;
    Recorder* recorder_;
};

class ReplayStream : public EventStream {
  public:
    ReplayStream(Replay& replay, Handler handler, SocketFilter filter)
        : replay_(replay), handler_(std::move(handler)), filter_(std::move(filter)) {}

    void run(LineSink& sink, const LoopOptions& options) override {
        while (!sink.broken()) {
            switch (replay_.step()) {
                case Replay::Step::Event:
                    dispatch();
                    break;
                case Replay::Step::Tick:
                    if (options.on_tick) {
                        options.on_tick();
                    }
                    sink.flush();
                    break;
                case Replay::Step::DrainEnd:
                    break;  // a drain of the live loop's own
                case Replay::Step::LoopEnd:
                    sink.flush();
                    return;
            }
        }
    }

    std::uint64_t drain() override {
        std::uint64_t n = 0;
        while (true) {
            switch (replay_.step()) {
                case Replay::Step::Event:
                    dispatch();
                    ++n;
                    break;
                case Replay::Step::DrainEnd:
                    return n;
                default:
                    throw RecordingError(fmt::format(
                        "{}: at offset {}: a tick or the end inside a drain (corrupt file)",
                        replay_.path(), replay_.offset()));
            }
        }
    }
    std::uint64_t malformed() const override { return malformed_; }

  private:
    void dispatch() {
        std::string_view raw = replay_.event();
        std::optional<Transition> t = decode_event(raw.data(), raw.size());
        if (!t) {
            ++malformed_;  // as the live run counted it
            return;
        }
        if (filter_.matches(t->family(), t->sport.value_or(0), t->dport)) {
            handler_(*t);
        }
    }

    Replay& replay_;
    Handler handler_;
    SocketFilter filter_;
    std::uint64_t malformed_ = 0;
};

std::string read_first_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

std::string host_name() {
    char name[256] = {};
    gethostname(name, sizeof(name) - 1);
    return name;
}

std::string boot_id() {
    return read_first_line("/proc/sys/kernel/random/boot_id");
}

}  // namespace

CommandInputs::CommandInputs(Tracer& tracer, WallClock clock)
    : tracer_(&tracer), clock_(clock), host_cgroups_(std::make_unique<CgroupPaths>()) {}

void CommandInputs::record_if_asked(const RecordConfig& config, const FileOwner& owner,
                                    const std::string& command, std::uint32_t netns,
                                    Settings settings) {
    if (!config.write_path) {
        return;
    }
    install_reopen_handler();
    OutputFileOptions file{*config.write_path, config.rotate_bytes, config.rotate_files, owner,
                           true};
    try {
        recorder_ = std::make_unique<Recorder>(
            std::move(file), new_recording_header(command, netns, clock_, std::move(settings)));
    } catch (const std::runtime_error& e) {
        throw std::invalid_argument(std::string("-w: ") + e.what());
    }
    recorded_cgroups_ = std::make_unique<RecordingCgroups>(*host_cgroups_, *recorder_);
}

CommandInputs::CommandInputs(std::unique_ptr<Replay> replay, SocketFilter filter)
    : replay_(std::move(replay)),
      filter_(std::move(filter)),
      clock_(replay_->header().realtime_minus_monotonic_ns) {}

CommandInputs::~CommandInputs() = default;

std::uint64_t CommandInputs::now_ns() {
    if (replay_ != nullptr) {
        const std::uint64_t now = replay_->clock(ClockKind::Monotonic);
        if (clock_hook_) {
            clock_hook_(now);
        }
        return now;
    }
    std::uint64_t now = monotonic_now_ns();
    if (recorder_ != nullptr) {
        recorder_->clock(ClockKind::Monotonic, now);
    }
    return now;
}

std::uint64_t CommandInputs::cpu_ns() {
    if (replay_ != nullptr) {
        return replay_->clock(ClockKind::ThreadCpu);
    }
    std::uint64_t now = thread_cpu_now_ns();
    if (recorder_ != nullptr) {
        recorder_->clock(ClockKind::ThreadCpu, now);
    }
    return now;
}

KernelLosses CommandInputs::losses() {
    if (replay_ != nullptr) {
        return replay_->losses();
    }
    KernelLosses losses = tracer_->losses();
    if (recorder_ != nullptr) {
        recorder_->losses(losses);
    }
    return losses;
}

CgroupNames& CommandInputs::cgroups() {
    if (replay_ != nullptr) {
        return *replay_;
    }
    return recorded_cgroups_ ? static_cast<CgroupNames&>(*recorded_cgroups_) : *host_cgroups_;
}

TimewaitLimits CommandInputs::limits(const std::function<TimewaitLimits()>& read) {
    return read_through(read, &Replay::limits, &Recorder::limits);
}

ListenCountsRecord CommandInputs::listen_counts(const std::function<ListenCountsRecord()>& read) {
    return read_through(read, &Replay::listen_counts, &Recorder::listen_counts);
}

ProcNetCounters CommandInputs::net_counters(const std::function<ProcNetCounters()>& read) {
    return read_through(read, &Replay::net_counters, &Recorder::net_counters);
}

ProgramLookup* CommandInputs::programs(ProgramLookup* host) {
    if (replay_ != nullptr) {
        programs_ = std::make_unique<ReplayPrograms>(*replay_);
    } else if (recorder_ && host != nullptr) {
        programs_ = std::make_unique<RecordingPrograms>(*host, *recorder_);
    } else {
        return host;
    }
    return programs_.get();
}

std::optional<std::vector<ListedSocket>> CommandInputs::listing(
    const std::function<std::vector<ListedSocket>()>& list) {
    if (replay_ != nullptr) {
        ListingRecord listed = replay_->listing();
        if (!listed.ok) {
            return std::nullopt;
        }
        return std::move(listed.sockets);
    }
    std::optional<std::vector<ListedSocket>> listed;
    try {
        listed = list();
    } catch (const std::exception& e) {
        spdlog::debug("listing failed: {}", e.what());
    }
    if (recorder_ != nullptr) {
        recorder_->listing(0, listed.has_value(), listed ? listed->data() : nullptr,
                           listed ? listed->size() : 0);
    }
    return listed;
}

std::unique_ptr<EventStream> CommandInputs::events(EventStream::Handler handler) {
    std::unique_ptr<EventStream> stream;
    if (replay_ != nullptr) {
        stream = std::make_unique<ReplayStream>(*replay_, std::move(handler), filter_);
    } else {
        stream = std::make_unique<LiveStream>(tracer_->events_fd(), std::move(handler),
                                              recorder_.get(), &cgroups());
    }
    stream_ = stream.get();
    return stream;
}

std::unique_ptr<Reconciler> CommandInputs::reconciler(const ListingRequest& request,
                                                      bool required) {
    ReconcilerOptions options;
    options.clock = [this] { return now_ns(); };
    options.cpu_clock = [this] { return cpu_ns(); };
    if (replay_ != nullptr) {
        if (replay_->setting("listings") != "1") {
            if (required) {
                throw RecordingError(replay_->path() + " holds no kernel listings");
            }
            return nullptr;
        }
        options.netns = replay_->header().netns;
        options.filter = request.filter;
        options.owner_filtered = request.owner_filtered;
        return std::make_unique<Reconciler>(std::make_unique<ReplayLister>(*replay_),
                                            std::move(options));
    }
    ListerWrap wrap =
        [this](std::unique_ptr<SocketLister> lister) -> std::unique_ptr<SocketLister> {
        return std::make_unique<RecordingLister>(std::move(lister),
                                                 [this] { return recorder_.get(); });
    };
    return required ? make_reconciler(request, std::move(options), wrap)
                    : open_reconciler(request, std::move(options), wrap);
}

TableWatch CommandInputs::watch(SocketTable& table, Reconciler* reconciler, EventStream& stream,
                                ListingSchedule schedule) {
    return TableWatch(
        table, reconciler, stream, schedule,
        [this, &stream] {
            KernelLosses kernel = losses();
            return StreamLosses{kernel.ringbuf_full, kernel.unrecovered(), stream.malformed()};
        },
        [this] { return now_ns(); });
}

std::string CommandInputs::describe() const {
    if (replay_ != nullptr) {
        const RecordingHeader& h = replay_->header();
        return fmt::format("replaying {} (recorded by tcpscope {} on {}, kernel {})",
                           replay_->path(), h.tcpscope_version, h.host_name, h.kernel_release);
    }
    return tracer_->describe();
}

RecordingHeader new_recording_header(const std::string& command, std::uint32_t netns,
                                     const WallClock& clock,
                                     std::vector<std::pair<std::string, std::string>> settings) {
    RecordingHeader h;
    h.tcpscope_version = TCPSCOPE_VERSION;
    utsname uts{};
    if (uname(&uts) == 0) {
        h.kernel_release = uts.release;
    }
    h.boot_id = boot_id();
    h.host_name = host_name();
    h.command = command;
    h.netns = netns;
    h.realtime_minus_monotonic_ns = clock.offset_ns();
    std::random_device random;
    h.recording_id = (static_cast<std::uint64_t>(random()) << 32) | random();
    h.event_size = sizeof(tcpscope_event);
    h.settings = std::move(settings);
    return h;
}

namespace {

std::unique_ptr<Replay> open_replay(const std::vector<std::string>& paths,
                                    const std::string& command) {
    auto replay = std::make_unique<Replay>(paths);
    const RecordingHeader& h = replay->header();
    if (h.command != command) {
        throw RecordingError(
            fmt::format("{} was recorded by `tcpscope {} -w`: replay it with `tcpscope {} -r {}`",
                        paths[0], h.command, h.command, paths[0]));
    }
    if (h.event_size != sizeof(tcpscope_event)) {
        throw RecordingError(fmt::format("{}: events of {} bytes, not {} (corrupt header)",
                                         paths[0], h.event_size, sizeof(tcpscope_event)));
    }
    if (h.host_name != host_name() || h.boot_id != boot_id()) {
        spdlog::warn(
            "{} was recorded on host {} (kernel {}, boot {}), not this boot of this host: its "
            "times, owners and cgroups are that host's",
            paths[0], h.host_name, h.kernel_release, h.boot_id);
    }
    return replay;
}

}  // namespace

std::unique_ptr<CommandInputs> replay_inputs(const RecordConfig& record,
                                             const FilterConfig& filters,
                                             const std::string& command) {
    return std::make_unique<CommandInputs>(open_replay(record.read_paths, command),
                                           SocketFilter{filters.family, filters.ports});
}

double setting_number(const Replay& replay, const std::string& key) {
    const std::string* value = replay.header().setting(key);
    try {
        if (value != nullptr) {
            return std::stod(*value);
        }
    } catch (const std::exception&) {
    }
    throw RecordingError(
        fmt::format("{}: the header has no setting {} (corrupt header)", replay.path(), key));
}

}  // namespace tcpscope
