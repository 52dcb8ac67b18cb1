// A task's comm as the kernel hands it over: at most TASK_COMM_LEN (16)
// bytes. Kept inline rather than in a std::string so an owner costs 24 bytes
// instead of 40 in every live-table entry (bench/table_memory.cpp).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

namespace tcpscope {

class TaskComm {
  public:
    static constexpr std::size_t kCapacity = 16;

    TaskComm() = default;
    // Longer input is cut at kCapacity bytes, as the kernel cuts comm.
    TaskComm(std::string_view text)
        : size_(static_cast<std::uint8_t>(std::min(text.size(), kCapacity))) {
        std::copy_n(text.data(), size_, bytes_.begin());
    }
    TaskComm(const char* text) : TaskComm(std::string_view(text)) {}
    TaskComm(const std::string& text) : TaskComm(std::string_view(text)) {}

    std::string_view view() const { return {bytes_.data(), size_}; }
    operator std::string_view() const { return view(); }
    std::string str() const { return std::string(view()); }
    bool empty() const { return size_ == 0; }

    // Bytes past size_ are always zero, so comparing the arrays is exact.
    bool operator==(const TaskComm&) const = default;
    auto operator<=>(const TaskComm& other) const { return view() <=> other.view(); }
    // Exact overloads: a text would otherwise convert to TaskComm and to
    // std::string_view equally well.
    friend bool operator==(const TaskComm& comm, std::string_view text) {
        return comm.view() == text;
    }
    friend bool operator==(const TaskComm& comm, const char* text) {
        return comm.view() == std::string_view(text);
    }
    friend bool operator==(const TaskComm& comm, const std::string& text) {
        return comm.view() == text;
    }
    friend std::ostream& operator<<(std::ostream& out, const TaskComm& comm) {
        return out << comm.view();
    }

  private:
    std::array<char, kCapacity> bytes_{};
    std::uint8_t size_ = 0;
};

}  // namespace tcpscope
