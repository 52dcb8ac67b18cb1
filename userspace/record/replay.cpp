#include "record/replay.h"

#include <fmt/format.h>

namespace tcpscope {
namespace {

std::string a_record(RecordType type) {
    const std::string name = record_type_name(type);
    return (name[0] == 'e' || name[0] == 'u' ? "an " : "a ") + name + " record";
}

}  // namespace

Replay::Replay(std::vector<std::string> paths) : paths_(std::move(paths)) {
    if (paths_.empty()) {
        throw RecordingError("no recording to replay");
    }
    reader_ = std::make_unique<RecordReader>(paths_[0]);
    header_ = reader_->header();
    if (header_.part != 0) {
        throw RecordingError(fmt::format(
            "{} is part {} of a rotated recording: a replay starts at its first part (part 0), "
            "then takes the next ones in order",
            paths_[0], header_.part));
    }
    current_path_ = paths_[0];
    read_ahead();
}

std::string Replay::setting(const std::string& key, const std::string& fallback) const {
    const std::string* value = header_.setting(key);
    return value != nullptr ? *value : fallback;
}

const std::string& Replay::path() const {
    return current_path_;
}

void Replay::read_ahead() {
    ahead_.reset();
    try {
        while (!ended_) {
            Record r;
            if (reader_->next(r)) {
                if (r.type == RecordType::CgroupName || r.type == RecordType::ProgramName ||
                    r.type == RecordType::Losses) {
                    apply_side(r);
                    continue;
                }
                ahead_ = std::move(r);
                ahead_path_ = reader_->path();
                return;
            }
            if (++file_index_ >= paths_.size()) {
                ended_ = true;
                return;
            }
            auto next = std::make_unique<RecordReader>(paths_[file_index_]);
            const RecordingHeader& h = next->header();
            if (h.recording_id != header_.recording_id || h.part != reader_->header().part + 1) {
                throw RecordingError(fmt::format(
                    "{} is not the part after {} (recording {:x} part {}, not {:x} part {})",
                    paths_[file_index_], reader_->path(), h.recording_id, h.part,
                    header_.recording_id, reader_->header().part + 1));
            }
            reader_ = std::move(next);
        }
    } catch (const RecordingError& e) {
        error_ahead_ = e.what();
    } catch (const MalformedPayload& e) {
        error_ahead_ = fmt::format("{}: corrupt record at offset {}: {}", reader_->path(),
                                   reader_->offset(), e.what());
    }
}

void Replay::apply_side(const Record& r) {
    try {
        if (r.type == RecordType::Losses) {
            last_losses_ = decode_losses(r.payload);
            return;
        }
        if (r.type == RecordType::ProgramName) {
            auto [inode, program] = decode_program_name(r.payload);
            if (program) {
                programs_[inode] = std::move(*program);
            }
            return;
        }
        auto [id, path] = decode_cgroup_name(r.payload);
        if (path) {
            cgroups_[id] = name_cgroup(std::move(*path));
        } else {
            cgroups_[id] = std::nullopt;
        }
    } catch (const MalformedPayload& e) {
        throw RecordingError(fmt::format("{}: corrupt {} record at offset {}: {}", reader_->path(),
                                         record_type_name(r.type), r.offset, e.what()));
    }
}

const Record& Replay::take() {
    if (!ahead_) {
        if (error_ahead_) {
            throw RecordingError(*error_ahead_);
        }
        throw RecordingError(fmt::format(
            "{} ends at offset {} before the end of the recording: its next part is missing "
            "(a rotated recording replays with -r for each part, oldest first), or the "
            "recorder did not finish it (killed, or its disk failed); everything before was "
            "replayed",
            reader_->path(), reader_->offset()));
    }
    current_ = std::move(*ahead_);
    current_path_ = ahead_path_;
    read_ahead();
    return current_;
}

void Replay::fail_at(const Record& r, const std::string& what) const {
    throw RecordingError(fmt::format("{}: at offset {}: {}", current_path_, r.offset, what));
}

const Record& Replay::take(RecordType expected) {
    const Record& r = take();
    if (r.type != expected) {
        fail_at(r, fmt::format("{} where this replay needs {} (the file was recorded by "
                               "`tcpscope {}`, or it is corrupt)",
                               a_record(r.type), a_record(expected), header_.command));
    }
    return r;
}

template <typename Decode>
auto Replay::take_decoded(RecordType type, Decode decode) -> decltype(decode(std::string_view())) {
    const Record& r = take(type);
    try {
        return decode(r.payload);
    } catch (const MalformedPayload& e) {
        fail_at(r, std::string("corrupt ") + record_type_name(type) + " record: " + e.what());
    }
}

Replay::Step Replay::step() {
    const Record& r = take();
    switch (r.type) {
        case RecordType::Event:
            return Step::Event;
        case RecordType::Tick:
            return Step::Tick;
        case RecordType::DrainEnd:
            return Step::DrainEnd;
        case RecordType::LoopEnd:
            return Step::LoopEnd;
        default:
            fail_at(r, fmt::format("{} where this replay needs an event, a tick or the end (the "
                                   "file was recorded by `tcpscope {}`, or it is corrupt)",
                                   a_record(r.type), header_.command));
    }
}

std::uint64_t Replay::clock(ClockKind kind) {
    const Record& r = take(RecordType::Clock);
    try {
        auto [k, ns] = decode_clock(r.payload);
        if (k != kind) {
            fail_at(r, "a clock record of the other clock");
        }
        return ns;
    } catch (const MalformedPayload& e) {
        fail_at(r, std::string("corrupt clock record: ") + e.what());
    }
}

ListingRecord Replay::listing() {
    return take_decoded(RecordType::Listing, decode_listing);
}

TimewaitLimits Replay::limits() {
    return take_decoded(RecordType::Limits, decode_limits);
}

ListenCountsRecord Replay::listen_counts() {
    return take_decoded(RecordType::ListenCounts, decode_listen_counts);
}

ProcNetCounters Replay::net_counters() {
    return take_decoded(RecordType::NetCounters, decode_net_counters);
}

std::optional<std::string> Replay::program(std::uint64_t inode) const {
    auto it = programs_.find(inode);
    return it != programs_.end() ? std::optional<std::string>(it->second) : std::nullopt;
}

const CgroupName* Replay::find(std::uint64_t id) {
    auto it = cgroups_.find(id);
    return it != cgroups_.end() && it->second ? &*it->second : nullptr;
}

}  // namespace tcpscope
