#include "cli/cgroup_paths.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace tcpscope {

std::optional<std::string> cgroup2_mount(const std::string& mountinfo) {
    std::istringstream lines(mountinfo);
    for (std::string line; std::getline(lines, line);) {
        // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS... - FSTYPE SOURCE SUPER
        std::size_t dash = line.find(" - ");
        if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0) {
            continue;
        }
        std::istringstream fields(line.substr(0, dash));
        std::string id, parent, device, root, mount_point;
        if (fields >> id >> parent >> device >> root >> mount_point) {
            return mount_point;
        }
    }
    return std::nullopt;
}

namespace {

std::optional<std::string> this_hosts_cgroup2_mount() {
    std::ifstream in("/proc/self/mountinfo");
    std::stringstream text;
    text << in.rdbuf();
    return cgroup2_mount(text.str());
}

}  // namespace

std::string cgroup_directory(const std::string& spec) {
    std::error_code error;
    if (spec.rfind("/", 0) == 0 && std::filesystem::is_directory(spec, error) &&
        std::filesystem::exists(std::filesystem::path(spec) / "cgroup.procs", error)) {
        return spec;
    }
    std::optional<std::string> root = this_hosts_cgroup2_mount();
    if (!root) {
        throw std::invalid_argument("--cgroup " + spec + ": no cgroup2 hierarchy is mounted");
    }
    std::string under = *root + (spec.rfind("/", 0) == 0 ? "" : "/") + spec;
    if (!std::filesystem::is_directory(under, error)) {
        throw std::invalid_argument("--cgroup " + spec + ": no such cgroup (not under " + *root +
                                    " either)");
    }
    return under;
}

CgroupPaths::CgroupPaths() : root_(this_hosts_cgroup2_mount()) {
    scan();
}

void CgroupPaths::scan() {
    last_scan_ = std::chrono::steady_clock::now();
    if (!root_) {
        return;
    }
    namespace fs = std::filesystem;
    auto add = [&](const fs::path& dir) {
        struct stat st {};
        if (stat(dir.c_str(), &st) == 0) {
            std::string relative = "/" + fs::relative(dir, *root_).generic_string();
            names_.try_emplace(static_cast<std::uint64_t>(st.st_ino),
                               name_cgroup(relative == "/." ? "/" : relative));
        }
    };
    std::error_code error;
    add(*root_);
    for (fs::recursive_directory_iterator
             it(*root_, fs::directory_options::skip_permission_denied, error),
         end;
         !error && it != end; it.increment(error)) {
        if (it->is_directory(error) && !it->is_symlink(error)) {
            add(it->path());
        }
    }
}

const CgroupName* CgroupPaths::find(std::uint64_t id) {
    if (id == 0) {
        return nullptr;
    }
    auto it = names_.find(id);
    if (it == names_.end() &&
        std::chrono::steady_clock::now() - last_scan_ > std::chrono::seconds(1)) {
        scan();
        it = names_.find(id);
    }
    return it == names_.end() ? nullptr : &it->second;
}

}  // namespace tcpscope
