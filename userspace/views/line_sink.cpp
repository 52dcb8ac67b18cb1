#include "views/line_sink.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace tcpscope {
namespace {

class StdoutSink : public LineSink {
  public:
    StdoutSink() { std::setvbuf(stdout, nullptr, _IOFBF, 1 << 16); }

    void write_line(std::string_view line) override {
        if (broken_) {
            return;
        }
        if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size() ||
            std::fputc('\n', stdout) == EOF) {
            note_error();
        }
    }

    void flush() override {
        if (!broken_ && std::fflush(stdout) != 0) {
            note_error();
        }
    }

    bool broken() const override { return broken_; }

  private:
    void note_error() {
        if (errno == EPIPE) {
            broken_ = true;
            return;
        }
        throw std::runtime_error(std::string("writing to stdout failed: ") + std::strerror(errno));
    }

    bool broken_ = false;
};

// Lines batched into the file: one write(2) per flush (the event loop
// flushes every drain) or per 256 KiB.
class FileLineSink : public LineSink {
  public:
    explicit FileLineSink(const FileSinkOptions& options)
        : file_({options.path, options.rotate_bytes, options.rotate_files, options.owner}) {}

    void write_line(std::string_view line) override {
        if (file_.rotation_due(line.size() + 1)) {
            file_.rotate();
        }
        std::string& batch = file_.batch();
        batch.append(line);
        batch += '\n';
        file_.flush_if_full();
    }
    void flush() override { file_.flush(); }
    bool broken() const override { return false; }

  private:
    OutputFile file_;
};

}  // namespace

std::unique_ptr<LineSink> make_stdout_sink() {
    return std::make_unique<StdoutSink>();
}

std::unique_ptr<LineSink> make_file_sink(const FileSinkOptions& options) {
    return std::make_unique<FileLineSink>(options);
}

}  // namespace tcpscope
