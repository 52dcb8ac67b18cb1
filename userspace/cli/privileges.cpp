#include "cli/privileges.h"

#include <sys/capability.h>
#include <sys/prctl.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include <spdlog/spdlog.h>

namespace tcpscope {

namespace {

using Caps = std::unique_ptr<std::remove_pointer_t<cap_t>, decltype(&cap_free)>;

void set_capabilities(const Caps& caps) {
    if (!caps || cap_set_proc(caps.get()) != 0) {
        throw std::runtime_error(std::string("dropping capabilities failed: ") +
                                 std::strerror(errno));
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        throw std::runtime_error(std::string("PR_SET_NO_NEW_PRIVS failed: ") +
                                 std::strerror(errno));
    }
}

bool permitted(const Caps& caps, cap_value_t cap) {
    cap_flag_value_t has = CAP_CLEAR;
    return caps && cap_get_flag(caps.get(), cap, CAP_PERMITTED, &has) == 0 && has == CAP_SET;
}

// The empty set plus `cap` (permitted and effective) when the process holds it.
void keep_if_held(const Caps& current, const Caps& kept, cap_value_t cap) {
    if (kept && permitted(current, cap)) {
        cap_value_t one[] = {cap};
        cap_set_flag(kept.get(), CAP_PERMITTED, 1, one, CAP_SET);
        cap_set_flag(kept.get(), CAP_EFFECTIVE, 1, one, CAP_SET);
    }
}

}  // namespace

BpfAfterDrop probe_bpf_after_drop(const std::function<bool()>& bpf_call) {
    Caps current(cap_get_proc(), &cap_free);
    Caps lowered(cap_dup(current.get()), &cap_free);
    if (!current || !lowered || cap_clear_flag(lowered.get(), CAP_EFFECTIVE) != 0 ||
        cap_set_proc(lowered.get()) != 0) {
        throw std::runtime_error(std::string("lowering capabilities failed: ") +
                                 std::strerror(errno));
    }
    const bool works = bpf_call();
    if (cap_set_proc(current.get()) != 0) {
        throw std::runtime_error(std::string("restoring capabilities failed: ") +
                                 std::strerror(errno));
    }
    if (works) {
        return BpfAfterDrop::NeedsNothing;
    }
    spdlog::warn(
        "this kernel refuses bpf() on open BPF objects without CAP_BPF (before 5.19, "
        "kernel.unprivileged_bpf_disabled set): CAP_BPF stays after attach");
    return BpfAfterDrop::KeepsCapBpf;
}

void drop_all_capabilities(BpfAfterDrop bpf) {
    Caps current(cap_get_proc(), &cap_free);
    Caps kept(cap_init(), &cap_free);
    if (bpf == BpfAfterDrop::KeepsCapBpf) {
        keep_if_held(current, kept, CAP_BPF);
    }
    set_capabilities(kept);
}

void drop_capabilities_for_listener(std::uint16_t port, BpfAfterDrop bpf) {
    Caps current(cap_get_proc(), &cap_free);
    Caps kept(cap_init(), &cap_free);
    if (port < 1024) {
        keep_if_held(current, kept, CAP_NET_BIND_SERVICE);
    }
    if (bpf == BpfAfterDrop::KeepsCapBpf) {
        keep_if_held(current, kept, CAP_BPF);
    }
    set_capabilities(kept);
}

}  // namespace tcpscope
