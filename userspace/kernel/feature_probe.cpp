#include "kernel/feature_probe.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

#include "kernel/tracer.h"
#include "probe_socket_cookie.skel.h"

namespace tcpscope {
namespace {

constexpr const char* kVmlinuxBtf = "/sys/kernel/btf/vmlinux";

// Loads (never attaches) a one-line tp_btf program that calls the helper: the
// verifier is the only authority on which helpers a program type may call.
bool tracing_can_read_socket_cookie() {
    probe_socket_cookie_bpf* probe = probe_socket_cookie_bpf__open_and_load();
    bool loaded = probe != nullptr;
    probe_socket_cookie_bpf__destroy(probe);  // accepts nullptr
    return loaded;
}

bool has_effective_capability(const __user_cap_data_struct (&data)[2], int cap) {
    return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

}  // namespace

void require_bpf_privileges() {
    __user_cap_header_struct header{};
    header.version = _LINUX_CAPABILITY_VERSION_3;
    __user_cap_data_struct data[2] = {};
    if (syscall(SYS_capget, &header, data) != 0) {
        throw StartupError(StartupFailure::NotPermitted, "cannot read process capabilities");
    }
    bool admin = has_effective_capability(data, CAP_SYS_ADMIN);
    bool bpf =
        has_effective_capability(data, CAP_BPF) && has_effective_capability(data, CAP_PERFMON);
    if (!admin && !bpf) {
        throw StartupError(StartupFailure::NotPermitted,
                           "tracing needs root (or CAP_BPF and CAP_PERFMON): run with sudo");
    }
}

namespace {

std::map<std::uint32_t, std::string> drop_reasons_in(const struct btf* vmlinux) {
    std::map<std::uint32_t, std::string> names;
    int id = btf__find_by_name_kind(vmlinux, "skb_drop_reason", BTF_KIND_ENUM);
    if (id <= 0) {
        return names;
    }
    const btf_type* type = btf__type_by_id(vmlinux, id);
    const struct btf_enum* values = btf_enum(type);
    constexpr std::string_view kPrefix = "SKB_DROP_REASON_";
    for (int i = 0; i < btf_vlen(type); ++i) {
        std::string_view name = btf__name_by_offset(vmlinux, values[i].name_off);
        if (name.starts_with(kPrefix)) {
            name.remove_prefix(kPrefix.size());
        }
        names.emplace(static_cast<std::uint32_t>(values[i].val), std::string(name));
    }
    return names;
}

}  // namespace

KernelFeatures probe_kernel_features() {
    KernelFeatures features;
    features.has_btf = access(kVmlinuxBtf, R_OK) == 0;
    if (features.has_btf) {
        struct btf* vmlinux = btf__parse(kVmlinuxBtf, nullptr);
        if (vmlinux != nullptr) {
            features.has_set_state_tracepoint =
                btf__find_by_name_kind(vmlinux, "btf_trace_inet_sock_set_state", BTF_KIND_TYPEDEF) >
                0;
            features.drop_reasons = drop_reasons_in(vmlinux);
            btf__free(vmlinux);
        } else {
            features.has_btf = false;
        }
    }
    features.has_ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr) == 1;
    features.has_socket_cookie =
        features.has_set_state_tracepoint && tracing_can_read_socket_cookie();
    return features;
}

void require_features(const KernelFeatures& features) {
    if (!features.has_btf) {
        throw StartupError(StartupFailure::NoBtf,
                           "kernel has no BTF (/sys/kernel/btf/vmlinux): it needs "
                           "CONFIG_DEBUG_INFO_BTF=y for CO-RE and tp_btf");
    }
    if (!features.has_set_state_tracepoint) {
        throw StartupError(StartupFailure::Unsupported,
                           "kernel has no tp_btf tracepoint inet_sock_set_state (needs 4.16+ "
                           "with BTF)");
    }
    if (!features.has_ringbuf) {
        throw StartupError(StartupFailure::Unsupported,
                           "kernel does not support BPF ring buffers (needs 5.8+)");
    }
}

}  // namespace tcpscope
