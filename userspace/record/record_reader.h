// Reads one recording file: its header, then its records one by one, each
// with the offset it starts at. Never trusts a length: a truncated or
// corrupt file ends in a RecordingError naming the file and the offset.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

#include "record/record_format.h"

namespace tcpscope {

// A recording that cannot be read (missing, not a recording, newer format,
// truncated, corrupt, or not what the replaying command expects).
class RecordingError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct Record {
    RecordType type = RecordType::Event;
    std::string payload;
    std::uint64_t offset = 0;  // of the record's first byte in its file
};

// "event", "listing", ...: how messages name a type.
const char* record_type_name(RecordType type);

class RecordReader {
  public:
    // Opens the file and reads its header. Throws RecordingError.
    explicit RecordReader(std::string path);

    const RecordingHeader& header() const { return header_; }
    const std::string& path() const { return path_; }
    // Fills out with the next record; false at the end of the file (at a
    // record boundary). Throws RecordingError on a truncated or corrupt one.
    bool next(Record& out);
    // Where the next record starts.
    std::uint64_t offset() const { return offset_; }

  private:
    // Reads size bytes; false when the file ended first (got: how many came).
    bool read_exactly(void* out, std::size_t size, std::size_t& got);

    struct Closer {
        void operator()(std::FILE* f) const { std::fclose(f); }
    };
    std::string path_;
    std::unique_ptr<std::FILE, Closer> file_;
    RecordingHeader header_;
    std::uint64_t offset_ = 0;
    std::uint64_t size_ = UINT64_MAX;  // the file's size when it could be told (a pipe: unknown)
};

}  // namespace tcpscope
