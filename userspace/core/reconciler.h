// Reconciliation of the live table against a kernel listing of the traced
// network namespace: catches what the event stream cannot show (sockets from
// before the tracer, TIME_WAIT ends, request sockets, lost events) and counts
// every correction. The one reconciliation every command uses; the listing
// itself comes through SocketLister (sock_diag in the kernel layer, a
// synthetic listing in unit tests).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/listed_socket.h"
#include "core/socket_filter.h"
#include "core/socket_table.h"

namespace tcpscope {

// Lists one namespace's TCP sockets.
class SocketLister {
  public:
    virtual ~SocketLister() = default;
    // Appends every socket of the family (AF_INET or AF_INET6) to out.
    virtual void list_into(std::vector<ListedSocket>& out, int family) = 0;
};

// The event stream feeding the table.
class EventDrain {
  public:
    virtual ~EventDrain() = default;
    // Applies whatever waits in the stream; returns the records read.
    virtual std::uint64_t drain() = 0;
};

struct ReconcilerOptions {
    std::uint32_t netns = 0;  // the namespace the lister lists
    SocketFilter filter;      // listed sockets outside it are ignored
    // --pid: a listing cannot tell owners apart, so it may only correct or
    // remove sockets the table already holds.
    bool owner_filtered = false;
    // CLOCK_MONOTONIC, the clock of event stamps; both clocks default to
    // the real ones and are replaceable in tests.
    std::function<std::uint64_t()> clock;
    // CPU time of this thread (the kernel's dump and ours).
    std::function<std::uint64_t()> cpu_clock;
};

class Reconciler {
  public:
    Reconciler(std::unique_ptr<SocketLister> lister, ReconcilerOptions options);

    // Every transition the table applied, as the table answered it: a
    // socket that left the table is remembered until a listing settles it.
    void observe(const Transition& t, const SocketTable::Applied& applied);

    // Seeds an empty table (corrections are not counted).
    void seed(SocketTable& table, EventDrain& stream);
    // Lists the namespace's sockets, drains the events submitted before the
    // listing began, and reconciles. Returns what this run changed.
    ReconcileResult run(SocketTable& table, EventDrain& stream);

    const ReconcileResult& corrections() const { return corrections_; }
    std::uint64_t runs() const { return runs_; }
    std::uint32_t netns() const { return options_.netns; }
    // The last run's listing (filtered) and when it was taken.
    const std::vector<ListedSocket>& listing() const { return listing_; }
    std::uint64_t listed_at_ns() const { return listed_at_ns_; }
    // Frees the last listing and returns freed heap to the system: a listing
    // of 100k sockets is ~10 MB that trace has no use for between runs.
    void release_listing();
    // CPU time the last run took.
    std::uint64_t last_cpu_ns() const { return last_cpu_ns_; }

  private:
    ReconcileResult reconcile_now(SocketTable& table, EventDrain& stream);

    std::unique_ptr<SocketLister> lister_;
    ReconcilerOptions options_;
    // Sockets the stream saw leave the table since the last listing, by
    // cookie: a listing may still show them (taken just before the close),
    // or show the timewait socket that carries on under their cookie.
    std::unordered_map<std::uint64_t, ClosedSocket> closed_;
    ReconcileResult corrections_;
    std::uint64_t runs_ = 0;
    std::vector<ListedSocket> listing_;
    std::uint64_t listed_at_ns_ = 0;
    std::uint64_t last_cpu_ns_ = 0;
    std::size_t last_size_ = 0;
};

}  // namespace tcpscope
