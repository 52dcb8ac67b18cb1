#include "record/recorder.h"

namespace tcpscope {

Recorder::Recorder(OutputFileOptions file, RecordingHeader header)
    : header_(std::move(header)), file_((file.truncate = true, std::move(file))) {
    file_.on_open([this](OutputFile& f) { f.append(encode_header(header_)); });
}

void Recorder::put(RecordType type, std::string_view payload) {
    append_record(file_.batch(), type, payload);
    file_.flush_if_full();
}

void Recorder::listing(int family, bool ok, const ListedSocket* sockets, std::size_t count) {
    put(RecordType::Listing, encode_listing(family, ok, sockets, count));
}

void Recorder::clock(ClockKind kind, std::uint64_t ns) {
    put(RecordType::Clock, encode_clock(kind, ns));
}

void Recorder::losses(const KernelLosses& losses) {
    put(RecordType::Losses, encode_losses(losses));
}

void Recorder::cgroup_name(std::uint64_t id, const std::string* path) {
    put(RecordType::CgroupName, encode_cgroup_name(id, path));
}

void Recorder::limits(const TimewaitLimits& limits) {
    put(RecordType::Limits, encode_limits(limits));
}

void Recorder::listen_counts(const ListenCountsRecord& counts) {
    put(RecordType::ListenCounts, encode_listen_counts(counts));
}

void Recorder::net_counters(const ProcNetCounters& counters) {
    put(RecordType::NetCounters, encode_net_counters(counters));
}

void Recorder::program_name(std::uint64_t inode, const std::string* program) {
    put(RecordType::ProgramName, encode_program_name(inode, program));
}

void Recorder::tick(bool reopen_requested) {
    // A reopen of a file still in place would start it again: only a moved
    // one is reopened.
    const bool reopen = reopen_requested && file_.moved();
    if (reopen || file_.rotation_due()) {
        total_bytes_ += file_.size();
        ++header_.part;  // the next file's header says which part it is
        if (reopen) {
            file_.reopen();
        } else {
            file_.rotate();
        }
    }
    file_.flush();
    put(RecordType::Tick, {});
}

void Recorder::drain_end() {
    put(RecordType::DrainEnd, {});
}

void Recorder::loop_end() {
    put(RecordType::LoopEnd, {});
    file_.flush();
}

}  // namespace tcpscope
