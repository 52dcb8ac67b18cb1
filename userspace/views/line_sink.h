// Where data lines go: stdout (buffered, EPIPE-aware) or a file through
// spdlog's file sinks. Diagnostics never go through here.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

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

struct FileSinkOptions {
    std::string path;
    std::size_t rotate_bytes = 0;  // 0: never rotate
    std::size_t rotate_files = 3;
};

// Throws std::runtime_error naming the path when it cannot be opened.
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
