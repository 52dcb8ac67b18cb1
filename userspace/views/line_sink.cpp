#include "views/line_sink.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/spdlog.h>

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

// spdlog's logger catches what its sinks throw (a full disk: ENOSPC) and
// only prints it: the handler keeps it, and the next write or flush throws,
// so a failing file ends the run instead of losing data silently.
class SpdlogFileSink : public LineSink {
  public:
    explicit SpdlogFileSink(std::shared_ptr<spdlog::sinks::sink> sink)
        : logger_("tcpscope-data", std::move(sink)) {
        logger_.set_pattern("%v");
        logger_.set_level(spdlog::level::info);
        logger_.set_error_handler([this](const std::string& message) {
            if (error_.empty()) {
                error_ = message;
            }
        });
    }

    void write_line(std::string_view line) override {
        logger_.info("{}", line);
        throw_if_failed();
    }
    void flush() override {
        logger_.flush();
        throw_if_failed();
    }
    bool broken() const override { return false; }

  private:
    void throw_if_failed() const {
        if (!error_.empty()) {
            throw std::runtime_error("output file: " + error_);
        }
    }

    spdlog::logger logger_;
    std::string error_;
};

}  // namespace

std::unique_ptr<LineSink> make_stdout_sink() {
    return std::make_unique<StdoutSink>();
}

std::unique_ptr<LineSink> make_file_sink(const FileSinkOptions& options) {
    // spdlog would create missing directories; a typo in -o must fail instead.
    if (FILE* probe = std::fopen(options.path.c_str(), "a")) {
        std::fclose(probe);
    } else {
        throw std::runtime_error("cannot open output file " + options.path + ": " +
                                 std::strerror(errno));
    }
    try {
        std::shared_ptr<spdlog::sinks::sink> sink;
        if (options.rotate_bytes > 0) {
            sink = std::make_shared<spdlog::sinks::rotating_file_sink_st>(
                options.path, options.rotate_bytes, options.rotate_files);
        } else {
            sink = std::make_shared<spdlog::sinks::basic_file_sink_st>(options.path);
        }
        return std::make_unique<SpdlogFileSink>(std::move(sink));
    } catch (const spdlog::spdlog_ex& e) {
        throw std::runtime_error("cannot open output file " + options.path + ": " + e.what());
    }
}

}  // namespace tcpscope
