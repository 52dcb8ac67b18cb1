#include "views/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace tcpscope {
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

}  // namespace

std::string rotated_name(const std::string& path, std::size_t index) {
    const std::size_t slash = path.rfind('/');
    const std::size_t base = slash == std::string::npos ? 0 : slash + 1;
    const std::size_t dot = path.rfind('.');
    const std::string number = "." + std::to_string(index);
    if (dot == std::string::npos || dot <= base) {  // no extension, or a dot file
        return path + number;
    }
    return path.substr(0, dot) + number + path.substr(dot);
}

OutputFile::OutputFile(OutputFileOptions options) : options_(std::move(options)) {
    buffer_.reserve(kBatchBytes + 4096);
    open_file();
    if (options_.rotate_bytes > 0 && options_.owner && regular_) {
        const std::string dir = std::filesystem::path(options_.path).parent_path().string();
        if (!writable_by(dir.empty() ? "." : dir, *options_.owner)) {
            close_file();
            refuse(options_.path, "rotating it needs " + (dir.empty() ? "." : dir) +
                                      " writable by user " + options_.owner->name +
                                      " (see --user)");
        }
    }
}

OutputFile::~OutputFile() {
    try {
        flush();
    } catch (const std::exception&) {  // the run already ended; nothing left to tell
    }
    close_file();
}

void OutputFile::on_open(std::function<void(OutputFile&)> callback) {
    on_open_ = std::move(callback);
    on_open_(*this);
}

// Never through a symbolic link (a device such as /dev/null is fine); created
// 0600 and given to the owner when it did not exist (an existing file keeps
// its owner: -o /etc/passwd must not become ours).
void OutputFile::open_file() {
    const std::string& path = options_.path;
    const int mode = O_WRONLY | O_NOFOLLOW | O_CLOEXEC | (options_.truncate ? O_TRUNC : O_APPEND);
    int fd = open(path.c_str(), mode | O_CREAT | O_EXCL, 0600);
    const bool created = fd >= 0;
    if (!created && errno == EEXIST) {
        fd = open(path.c_str(), mode);
    }
    if (fd < 0) {
        refuse(path, errno == ELOOP ? "it is a symbolic link (refused)" : std::strerror(errno));
    }
    if (created && options_.owner && fchown(fd, options_.owner->uid, options_.owner->gid) != 0) {
        const int error = errno;
        close(fd);
        refuse(path, std::string("giving it to user ") + options_.owner->name +
                         " failed: " + std::strerror(error));
    }
    struct stat st {};
    fstat(fd, &st);
    fd_ = fd;
    regular_ = S_ISREG(st.st_mode);
    written_ = regular_ ? static_cast<std::size_t>(st.st_size) : 0;
    if (on_open_) {
        on_open_(*this);
    }
}

void OutputFile::close_file() {
    if (fd_ >= 0) {
        close(fd_);
        fd_ = -1;
    }
}

void OutputFile::flush() {
    std::size_t done = 0;
    while (done < buffer_.size()) {
        ssize_t n = write(fd_, buffer_.data() + done, buffer_.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            const int error = n < 0 ? errno : EIO;
            buffer_.clear();  // what cannot be written is gone; the run ends
            throw std::runtime_error("output file " + options_.path + ": " + std::strerror(error));
        }
        done += static_cast<std::size_t>(n);
    }
    written_ += done;
    buffer_.clear();
}

void OutputFile::rotate() {
    flush();
    close_file();
    std::error_code ignored;
    std::filesystem::remove(rotated_name(options_.path, options_.rotate_files), ignored);
    for (std::size_t i = options_.rotate_files; i > 1; --i) {
        std::filesystem::rename(rotated_name(options_.path, i - 1), rotated_name(options_.path, i),
                                ignored);
    }
    if (std::rename(options_.path.c_str(), rotated_name(options_.path, 1).c_str()) != 0) {
        throw std::runtime_error("output file " + options_.path +
                                 ": rotating failed: " + std::strerror(errno));
    }
    open_file();
}

bool OutputFile::moved() const {
    struct stat open_now {};
    struct stat at_path {};
    return fstat(fd_, &open_now) != 0 || lstat(options_.path.c_str(), &at_path) != 0 ||
           open_now.st_ino != at_path.st_ino || open_now.st_dev != at_path.st_dev;
}

void OutputFile::reopen() {
    flush();
    close_file();
    open_file();
}

}  // namespace tcpscope
