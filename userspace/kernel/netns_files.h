// Files that answer for the network namespace of the thread that opened them
// (/proc/sys/net/..., /proc/thread-self/net/...), opened once inside a target
// namespace by a short-lived thread: reads through those fds keep answering
// for that namespace, and the rest of the process never leaves home.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace tcpscope {

class NetnsFiles {
  public:
    // netns_path: /run/netns/NAME, /proc/PID/ns/net...; none: this process's
    // namespace (no setns(), no capability). Throws std::runtime_error when the
    // namespace cannot be entered; a file that cannot be opened reads empty.
    NetnsFiles(const std::optional<std::string>& netns_path, const std::vector<std::string>& paths);
    ~NetnsFiles();
    NetnsFiles(const NetnsFiles&) = delete;
    NetnsFiles& operator=(const NetnsFiles&) = delete;

    // The whole of the i-th file, read afresh; empty when it could not be opened.
    std::string read(std::size_t i) const;

  private:
    std::vector<int> fds_;
};

}  // namespace tcpscope
