// A file tcpscope writes data into (-o, -w, serve --log): opened safely,
// written in batches (one write(2) per batch, never one per line or record),
// rotated by size and reopened by name on request. Every failure throws
// std::runtime_error naming the file, so a full disk ends the run.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace tcpscope {

// Who the process ends as: a file it creates is given to that user, and a
// rotation needs the file's directory writable by it.
struct FileOwner {
    uid_t uid = 0;
    gid_t gid = 0;
    std::string name;
};

struct OutputFileOptions {
    std::string path;
    std::size_t rotate_bytes = 0;  // 0: never rotate
    std::size_t rotate_files = 3;  // rotated files kept: PATH.1 (newest) .. PATH.N
    std::optional<FileOwner> owner;
    bool truncate = false;  // start the file empty (a recording); else append
};

class OutputFile {
  public:
    // Opens (creating it 0600, never through a symbolic link) the file.
    // Throws "cannot open output file PATH: why".
    explicit OutputFile(OutputFileOptions options);
    ~OutputFile();  // writes what is buffered, errors ignored
    OutputFile(const OutputFile&) = delete;
    OutputFile& operator=(const OutputFile&) = delete;

    // Called with this file after each open (the first, a rotation, a
    // reopen): a recording writes its header there.
    void on_open(std::function<void(OutputFile&)> callback);

    void append(std::string_view bytes) {
        buffer_.append(bytes);
        if (buffer_.size() >= kBatchBytes) {
            flush();
        }
    }
    // The batch itself, for encoders that write in place.
    std::string& batch() { return buffer_; }
    void flush_if_full() {
        if (buffer_.size() >= kBatchBytes) {
            flush();
        }
    }
    void flush();

    // Bytes in the current file, buffered ones included.
    std::size_t size() const { return written_ + buffer_.size(); }
    // A regular file past --rotate-size (a device never rotates).
    bool rotation_due(std::size_t adding = 0) const {
        return options_.rotate_bytes > 0 && regular_ && size() > 0 &&
               size() + adding > options_.rotate_bytes;
    }
    void rotate();
    // Whether PATH no longer names the open file (logrotate moved it).
    bool moved() const;
    // Closes and opens PATH again.
    void reopen();
    const std::string& path() const { return options_.path; }

    static constexpr std::size_t kBatchBytes = 256 * 1024;

  private:
    void open_file();
    void close_file();

    OutputFileOptions options_;
    std::function<void(OutputFile&)> on_open_;
    int fd_ = -1;
    bool regular_ = false;
    std::size_t written_ = 0;
    std::string buffer_;
};

// PATH's rotated name number index: "trace.jsonl" -> "trace.1.jsonl", "rec" -> "rec.1".
std::string rotated_name(const std::string& path, std::size_t index);

}  // namespace tcpscope
