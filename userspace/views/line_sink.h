// Where data lines go: stdout (buffered, EPIPE-aware) or a file through
// spdlog's file sinks. Diagnostics never go through here.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "views/output_file.h"

namespace tcpscope {

class LineSink {
  public:
    virtual ~LineSink() = default;
    virtual void write_line(std::string_view line) = 0;
    virtual void flush() = 0;
    // True once the reader went away (stdout closed, as in `| head`).
    virtual bool broken() const = 0;
};

std::unique_ptr<LineSink> make_stdout_sink();

// One periodic report through a formatter with json_line() and text_lines():
// a JSON line, or the block of text lines; then a flush.
template <typename Formatter, typename Report>
void write_report(LineSink& sink, const Formatter& formatter, const Report& report, bool json) {
    if (json) {
        sink.write_line(formatter.json_line(report));
    } else {
        for (const std::string& line : formatter.text_lines(report)) {
            sink.write_line(line);
        }
    }
    sink.flush();
}

struct FileSinkOptions {
    std::string path;
    std::size_t rotate_bytes = 0;  // 0: never rotate
    std::size_t rotate_files = 3;
    std::optional<FileOwner> owner;
};

// Lines into an OutputFile (see there: how it opens, batches and rotates;
// a rotation falls between lines). Throws std::runtime_error naming the path
// when it cannot be opened, is a symbolic link, or is to rotate in a
// directory the owner cannot write.
std::unique_ptr<LineSink> make_file_sink(const FileSinkOptions& options);

// Collects lines in memory; for tests.
class MemorySink : public LineSink {
  public:
    void write_line(std::string_view line) override {
        text_.append(line);
        text_ += '\n';
    }
    void flush() override {}
    bool broken() const override { return false; }
    const std::string& text() const { return text_; }

  private:
    std::string text_;
};

}  // namespace tcpscope
