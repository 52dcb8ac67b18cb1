#include "record/recording_adapters.h"

#include <stdexcept>

#include <fmt/format.h>

namespace tcpscope {

void RecordingLister::list_into(std::vector<ListedSocket>& out, int family) {
    const std::size_t before = out.size();
    try {
        inner_->list_into(out, family);
    } catch (...) {
        if (Recorder* recorder = recorder_()) {
            recorder->listing(family, false, nullptr, 0);
        }
        throw;
    }
    if (Recorder* recorder = recorder_()) {
        recorder->listing(family, true, out.data() + before, out.size() - before);
    }
}

void ReplayLister::list_into(std::vector<ListedSocket>& out, int family) {
    ListingRecord listed = replay_.listing();
    if (listed.family != family) {
        throw RecordingError(fmt::format(
            "{}: at offset {}: a listing of another family where this replay lists family {}",
            replay_.path(), replay_.offset(), family));
    }
    if (!listed.ok) {
        throw std::runtime_error("listing sockets failed (as recorded)");
    }
    out.insert(out.end(), listed.sockets.begin(), listed.sockets.end());
}

const CgroupName* RecordingCgroups::find(std::uint64_t id) {
    auto it = answered_.find(id);
    if (it != answered_.end() && it->second) {
        return &*it->second;
    }
    const CgroupName* name = inner_.find(id);
    if (it == answered_.end() || name != nullptr) {
        recorder_.cgroup_name(id, name != nullptr ? &name->path : nullptr);
        it = answered_
                 .insert_or_assign(
                     id, name != nullptr ? std::optional<CgroupName>(*name) : std::nullopt)
                 .first;
    }
    return it->second ? &*it->second : nullptr;
}

std::optional<std::string> RecordingPrograms::program(std::uint64_t inode) {
    auto it = answered_.find(inode);
    if (it == answered_.end()) {
        std::optional<std::string> name = inner_.program(inode);
        recorder_.program_name(inode, name ? &*name : nullptr);
        it = answered_.emplace(inode, std::move(name)).first;
    }
    return it->second;
}

}  // namespace tcpscope
