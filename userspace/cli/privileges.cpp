#include "cli/privileges.h"

#include <grp.h>
#include <linux/securebits.h>
#include <pwd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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

Account account_for(const std::optional<std::string>& name) {
    auto lookup = [](const std::string& who) -> std::optional<Account> {
        std::vector<char> buffer(16384);
        passwd entry{};
        passwd* found = nullptr;
        if (getpwnam_r(who.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 ||
            found == nullptr) {
            return std::nullopt;
        }
        return Account{who, found->pw_uid, found->pw_gid};
    };
    if (name) {
        if (auto account = lookup(*name)) {
            return *account;
        }
        throw std::invalid_argument("--user: no such user '" + *name + "'");
    }
    if (getuid() != 0) {
        // Started unprivileged with ambient capabilities (a systemd unit's
        // User=): stay who we are.
        std::vector<char> buffer(16384);
        passwd entry{};
        passwd* found = nullptr;
        getpwuid_r(getuid(), &entry, buffer.data(), buffer.size(), &found);
        return Account{found ? found->pw_name : std::to_string(getuid()), getuid(), getgid()};
    }
    for (const char* fallback : {"tcpscope", "nobody"}) {
        if (auto account = lookup(fallback)) {
            return *account;
        }
    }
    throw std::invalid_argument(
        "--user: neither a 'tcpscope' nor a 'nobody' user exists; name one");
}

namespace {

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + " failed: " + std::strerror(errno));
}

}  // namespace

void drop_thread_capabilities(BpfAfterDrop bpf, const std::vector<cap_value_t>& keep) {
    Caps current(cap_get_proc(), &cap_free);
    Caps kept(cap_init(), &cap_free);
    for (cap_value_t cap : keep) {
        keep_if_held(current, kept, cap);
    }
    if (bpf == BpfAfterDrop::KeepsCapBpf) {
        keep_if_held(current, kept, CAP_BPF);
    }
    set_capabilities(kept);
}

void become_unprivileged(const Account& account, BpfAfterDrop bpf,
                         const std::vector<cap_value_t>& keep) {
    // Started as the account already (the systemd unit: User= with ambient
    // CAP_BPF and CAP_PERFMON), there is no switch to make, and the steps
    // below that need CAP_SETPCAP or CAP_SETGID are the unit's to make
    // (CapabilityBoundingSet=, no supplementary groups).
    Caps current(cap_get_proc(), &cap_free);
    const bool setpcap = permitted(current, CAP_SETPCAP);
    // Locked first, while CAP_SETPCAP is held: from here uid 0 grants
    // nothing, and changing uids changes no capability (the drop below does).
    const unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                               SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED;
    if (setpcap && prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) != 0) {
        fail("setting securebits");
    }
    for (cap_value_t cap = 0; setpcap && cap <= CAP_LAST_CAP; ++cap) {
        if (std::find(keep.begin(), keep.end(), cap) == keep.end() &&
            !(cap == CAP_BPF && bpf == BpfAfterDrop::KeepsCapBpf) &&
            prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
            fail("emptying the capability bounding set");
        }
    }
    if ((permitted(current, CAP_SETGID) || getgroups(0, nullptr) > 0) &&
        setgroups(0, nullptr) != 0) {
        fail("clearing supplementary groups");
    }
    if (setresgid(account.gid, account.gid, account.gid) != 0) {
        fail("switching to group " + std::to_string(account.gid));
    }
    if (setresuid(account.uid, account.uid, account.uid) != 0) {
        fail("switching to user " + account.name);
    }
    drop_thread_capabilities(bpf, keep);
    umask(0077);  // files created from here (rotated outputs) are the account's alone
}

void drop_privileges_after_attach(const Account& account, const std::function<bool()>& bpf_call,
                                  const std::vector<cap_value_t>& keep) {
    become_unprivileged(account, probe_bpf_after_drop(bpf_call), keep);
}

}  // namespace tcpscope
