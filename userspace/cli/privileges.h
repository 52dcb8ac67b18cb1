// Least privilege after attach: once the BPF programs are attached and every
// fd the command needs is open, nothing it does needs a capability (ring
// buffers are read through mmap and epoll; map lookups and prog info on fds
// already held need none since Linux 5.19). Kernels before 5.19 refuse every
// bpf() command without CAP_BPF while kernel.unprivileged_bpf_disabled is set,
// Debian's default: there, and only there, CAP_BPF stays.
#pragma once

#include <sys/capability.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "views/line_sink.h"  // FileOwner

namespace tcpscope {

enum class BpfAfterDrop { NeedsNothing, KeepsCapBpf };

// The unprivileged user a command ends as.
struct Account {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
};

// The account as the owner of the output files the command creates.
inline FileOwner file_owner(const Account& account) {
    return {account.uid, account.gid, account.name};
}

// --user NAME, or without one the `tcpscope` system user where it exists,
// else `nobody` (started as another user than root: that user). Throws std::invalid_argument (a
// usage error) for a name that is no user.
Account account_for(const std::optional<std::string>& name);

// Becomes `account` for good; call it single-threaded (threads created
// afterwards inherit everything): securebits NOROOT and NO_SETUID_FIXUP set
// and locked (uid 0 means nothing again, and the switch alone changes no
// capability), the bounding set emptied, supplementary groups cleared, gid
// and uid set, then capabilities emptied but `keep` (those held) and CAP_BPF
// with KeepsCapBpf, PR_SET_NO_NEW_PRIVS and umask 077 (rotated outputs are
// private). Throws std::runtime_error.
void become_unprivileged(const Account& account, BpfAfterDrop bpf,
                         const std::vector<cap_value_t>& keep = {});

// The drop every tracing command makes once attached: probes whether bpf()
// on held fds needs CAP_BPF (bpf_call, as for probe_bpf_after_drop) and
// becomes `account` keeping only `keep`.
void drop_privileges_after_attach(const Account& account, const std::function<bool()>& bpf_call,
                                  const std::vector<cap_value_t>& keep = {});

// Runs `bpf_call` (one bpf() command on an fd already held, true when it
// worked) with an empty effective set, then restores the set: the kernel's own
// answer to whether bpf() on held fds needs a capability. Logs one warning
// when it does.
BpfAfterDrop probe_bpf_after_drop(const std::function<bool()>& bpf_call);

// The calling thread's capabilities (each thread has its own) emptied but
// `keep` (those held) and CAP_BPF with KeepsCapBpf; PR_SET_NO_NEW_PRIVS.
// Throws std::runtime_error on failure.
void drop_thread_capabilities(BpfAfterDrop bpf = BpfAfterDrop::NeedsNothing,
                              const std::vector<cap_value_t>& keep = {});

}  // namespace tcpscope
