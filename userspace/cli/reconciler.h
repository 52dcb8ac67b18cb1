// Periodic reconciliation of the live table against a sock_diag listing of
// the traced network namespace: catches what the event stream cannot show
// (sockets from before the tracer, TIME_WAIT ends, request sockets, lost
// events) and counts every correction.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/socket_filter.h"
#include "core/socket_table.h"
#include "core/wall_clock.h"  // monotonic_now_ns(), the clock of listing stamps
#include "kernel/sock_diag.h"

namespace tcpscope {

class RingSource;

class Reconciler {
  public:
    // Opens the listing socket inside the namespace now, so it keeps working
    // after capabilities are dropped. netns_spec as --netns takes it; empty
    // means the namespace tcpscope runs in.
    Reconciler(const std::optional<std::string>& netns_spec, SocketFilter filter,
               bool owner_filtered);

    // Lists the namespace's sockets, drains the events submitted before the
    // listing began, and reconciles. Returns what this run changed.
    ReconcileResult run(SocketTable& table, RingSource& source);

    // Seeds an empty table (corrections are not counted).
    void seed(SocketTable& table, RingSource& source);

    const ReconcileResult& corrections() const { return corrections_; }
    std::uint64_t runs() const { return runs_; }
    std::uint32_t netns() const { return netns_; }
    // The last run's listing (filtered) and when it was taken.
    const std::vector<ListedSocket>& listing() const { return listing_; }
    // Frees the last listing and returns freed heap to the system: a listing
    // of 100k sockets is ~10 MB that trace has no use for between runs.
    void release_listing();
    std::uint64_t listed_at_ns() const { return listed_at_ns_; }
    // CPU time the last run took (this thread: the kernel's dump and ours).
    std::uint64_t last_cpu_ns() const { return last_cpu_ns_; }

  private:
    ReconcileResult reconcile_now(SocketTable& table, RingSource& source);

    SockDiag diag_;
    std::uint32_t netns_;
    SocketFilter filter_;
    bool owner_filtered_;
    ReconcileResult corrections_;
    std::uint64_t runs_ = 0;
    std::vector<ListedSocket> listing_;
    std::uint64_t listed_at_ns_ = 0;
    std::uint64_t last_cpu_ns_ = 0;
    std::size_t last_size_ = 0;
};

// A Reconciler, or null after one warning where the kernel cannot list TCP
// sockets (no tcp_diag): the command then runs on the event stream alone.
std::unique_ptr<Reconciler> open_reconciler(const std::optional<std::string>& netns_spec,
                                            SocketFilter filter, bool owner_filtered);

}  // namespace tcpscope
