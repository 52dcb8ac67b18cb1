#include "views/line_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
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

namespace {

[[noreturn]] void refuse(const std::string& path, const std::string& why) {
    throw std::runtime_error("cannot open output file " + path + ": " + why);
}

// Whether the owner may create and rename files in dir (approximately the
// kernel's check: owner, group, other bits; the sticky bit lets it rename its
// own files only, which are the ones rotation renames).
bool writable_by(const std::string& dir, const FileOwner& owner) {
    struct stat st {};
    if (stat(dir.c_str(), &st) != 0) {
        return false;
    }
    const mode_t need = S_IWOTH | S_IXOTH;
    if (st.st_uid == owner.uid) {
        return (st.st_mode & (S_IWUSR | S_IXUSR)) == (S_IWUSR | S_IXUSR);
    }
    if (st.st_gid == owner.gid) {
        return (st.st_mode & (S_IWGRP | S_IXGRP)) == (S_IWGRP | S_IXGRP);
    }
    return (st.st_mode & need) == need;
}

// Opens the file at path as an output file must be: never through a
// symbolic link (a device such as /dev/null is fine), created 0600 and given to the owner when it
// did not exist (an existing file keeps its owner: -o /etc/passwd must not become ours).
void open_safely(const FileSinkOptions& options) {
    const std::string& path = options.path;
    int fd =
        open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    const bool created = fd >= 0;
    if (!created && errno == EEXIST) {
        fd = open(path.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
        refuse(path, errno == ELOOP ? "it is a symbolic link (refused)" : std::strerror(errno));
    }
    const bool given =
        !created || !options.owner || fchown(fd, options.owner->uid, options.owner->gid) == 0;
    const int error = errno;
    close(fd);
    if (!given) {
        refuse(path, std::string("giving it to user ") + options.owner->name +
                         " failed: " + std::strerror(error));
    }
}

// spdlog opens by name: after each open (and each rotation) the file opened
// must be the one at the path, not a symbolic link put there meanwhile.
spdlog::file_event_handlers refuse_swapped_links() {
    spdlog::file_event_handlers handlers;
    handlers.after_open = [](const spdlog::filename_t& name, std::FILE* file) {
        struct stat opened {};
        struct stat at_path {};
        if (fstat(fileno(file), &opened) != 0 || lstat(name.c_str(), &at_path) != 0 ||
            S_ISLNK(at_path.st_mode) || opened.st_ino != at_path.st_ino ||
            opened.st_dev != at_path.st_dev) {
            throw spdlog::spdlog_ex("output file " + name + " was replaced by a symbolic link");
        }
    };
    return handlers;
}

}  // namespace

std::unique_ptr<LineSink> make_file_sink(const FileSinkOptions& options) {
    // spdlog would create missing directories; a typo in -o must fail instead.
    open_safely(options);
    struct stat st {};
    const bool regular = stat(options.path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
    if (options.rotate_bytes > 0 && options.owner && regular) {  // a device never rotates
        const std::string dir = std::filesystem::path(options.path).parent_path().string();
        if (!writable_by(dir.empty() ? "." : dir, *options.owner)) {
            refuse(options.path, "rotating it needs " + (dir.empty() ? "." : dir) +
                                     " writable by user " + options.owner->name + " (see --user)");
        }
    }
    try {
        std::shared_ptr<spdlog::sinks::sink> sink;
        if (options.rotate_bytes > 0) {
            sink = std::make_shared<spdlog::sinks::rotating_file_sink_st>(
                options.path, options.rotate_bytes, options.rotate_files, false,
                refuse_swapped_links());
        } else {
            sink = std::make_shared<spdlog::sinks::basic_file_sink_st>(options.path, false,
                                                                       refuse_swapped_links());
        }
        return std::make_unique<SpdlogFileSink>(std::move(sink));
    } catch (const spdlog::spdlog_ex& e) {
        throw std::runtime_error("cannot open output file " + options.path + ": " + e.what());
    }
}

}  // namespace tcpscope
