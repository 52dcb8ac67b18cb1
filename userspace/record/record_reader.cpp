#include "record/record_reader.h"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "record/record_codec.h"

namespace tcpscope {

const char* record_type_name(RecordType type) {
    switch (type) {
        case RecordType::Event:
            return "event";
        case RecordType::Listing:
            return "listing";
        case RecordType::Clock:
            return "clock";
        case RecordType::Losses:
            return "losses";
        case RecordType::CgroupName:
            return "cgroup name";
        case RecordType::Limits:
            return "limits";
        case RecordType::Tick:
            return "tick";
        case RecordType::DrainEnd:
            return "drain end";
        case RecordType::LoopEnd:
            return "end";
        case RecordType::ListenCounts:
            return "listen counts";
        case RecordType::NetCounters:
            return "net counters";
        case RecordType::ProgramName:
            return "program name";
    }
    return "unknown";
}

RecordReader::RecordReader(std::string path) : path_(std::move(path)) {
    file_.reset(std::fopen(path_.c_str(), "rbe"));
    if (!file_) {
        throw RecordingError(
            fmt::format("cannot read recording {}: {}", path_, std::strerror(errno)));
    }
    std::setvbuf(file_.get(), nullptr, _IOFBF, 1 << 20);
    if (std::fseek(file_.get(), 0, SEEK_END) == 0) {
        long end = std::ftell(file_.get());
        size_ = end > 0 ? static_cast<std::uint64_t>(end) : 0;
        std::rewind(file_.get());
    }
    char magic[sizeof(kRecordingMagic)];
    std::uint16_t version = 0;
    std::uint32_t length = 0;
    std::size_t got = 0;
    if (!read_exactly(magic, sizeof(magic), got) ||
        std::memcmp(magic, kRecordingMagic, sizeof(magic)) != 0) {
        throw RecordingError(
            fmt::format("{} is not a tcpscope recording (no TCPSCREC header)", path_));
    }
    if (!read_exactly(&version, sizeof(version), got) ||
        !read_exactly(&length, sizeof(length), got)) {
        throw RecordingError(fmt::format("{}: truncated header at offset {}", path_, offset_));
    }
    if (length > kMaxRecordPayload) {
        throw RecordingError(
            fmt::format("{}: corrupt header at offset 10: length {}", path_, length));
    }
    std::string fields(length, '\0');
    if (!read_exactly(fields.data(), length, got)) {
        throw RecordingError(fmt::format("{}: truncated header at offset {}", path_, offset_));
    }
    if (version == 0 || version > kRecordingFormatVersion) {
        // The promise: every version keeps the recorder's version first.
        std::string by = "a newer tcpscope";
        if (fields.size() >= 4) {
            std::uint32_t n = 0;
            std::memcpy(&n, fields.data(), 4);
            if (n <= fields.size() - 4 && n < 64) {
                by = "tcpscope " + fields.substr(4, n);
            }
        }
        throw RecordingError(fmt::format(
            "{} is recording format {} (written by {}); this tcpscope reads formats up to {}",
            path_, version, by, kRecordingFormatVersion));
    }
    try {
        header_ = decode_header_fields(fields, version);
    } catch (const MalformedPayload& e) {
        throw RecordingError(fmt::format("{}: corrupt header at offset 14: {}", path_, e.what()));
    }
}

bool RecordReader::read_exactly(void* out, std::size_t size, std::size_t& got) {
    got = std::fread(out, 1, size, file_.get());
    offset_ += got;
    if (got < size && std::ferror(file_.get())) {
        throw RecordingError(fmt::format("reading {} failed at offset {}: {}", path_, offset_,
                                         std::strerror(errno)));
    }
    return got == size;
}

bool RecordReader::next(Record& out) {
    const std::uint64_t start = offset_;
    unsigned char head[kRecordHeaderBytes];
    std::size_t got = 0;
    if (!read_exactly(head, sizeof(head), got)) {
        if (got == 0) {
            return false;
        }
        throw RecordingError(fmt::format(
            "{}: truncated at offset {} (a record's first {} of 5 bytes)", path_, start, got));
    }
    std::uint32_t length = 0;
    std::memcpy(&length, head + 1, sizeof(length));
    if (head[0] == 0 || head[0] > kLastRecordType) {
        throw RecordingError(
            fmt::format("{}: corrupt record at offset {}: unknown type {}", path_, start, head[0]));
    }
    if (length > kMaxRecordPayload) {
        throw RecordingError(
            fmt::format("{}: corrupt record at offset {}: length {}", path_, start, length));
    }
    out.type = static_cast<RecordType>(head[0]);
    out.offset = start;
    const std::uint64_t present = size_ > offset_ ? size_ - offset_ : 0;
    if (length > present) {  // the file ends first: no need to allocate and read
        got = static_cast<std::size_t>(present);
    }
    if (length > present ||
        (out.payload.resize(length), !read_exactly(out.payload.data(), length, got))) {
        throw RecordingError(
            fmt::format("{}: truncated at offset {} ({} record of {} bytes, {} present)", path_,
                        start, record_type_name(out.type), length, got));
    }
    return true;
}

}  // namespace tcpscope
