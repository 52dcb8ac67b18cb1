// The one watch over the live table that every tracing command runs on its
// ticks: warns when events are lost or the table evicts, reconciles after a
// loss or when the listing schedule says so, and ends TIME_WAIT entries at
// their expiry where no listing has. Transitions that only a listing found
// are counted here as lost, beside what the stream itself counted.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "core/listing_schedule.h"
#include "core/reconciler.h"
#include "core/socket_table.h"

namespace tcpscope {

// How long past its expiry a TIME_WAIT entry is kept for a listing to
// confirm: the kernel's timer wheel fires 60 s timers up to ~2 s late.
inline constexpr std::uint64_t kTimewaitExpiryGraceNs = 3'000'000'000ull;

// Losses the stream counted itself: records the kernel could not submit
// (ring buffer full), program runs it skipped and nothing recovered, and
// records userspace could not decode.
struct StreamLosses {
    std::uint64_t ringbuf_full = 0;
    std::uint64_t unrecovered = 0;
    std::uint64_t malformed = 0;
    std::uint64_t lost() const { return ringbuf_full + unrecovered + malformed; }
};

// The transitions a reconciliation shows the stream did not deliver: one per
// socket added (its birth), fixed (a change) or removed other than at the
// end of TIME_WAIT (its close). Request sockets never count (no transition
// makes them).
std::uint64_t transitions_missed(const ReconcileResult& r);

class TableWatch {
  public:
    // reconciler may be null: the kernel cannot list, TIME_WAIT entries then
    // end by expiry alone. read_losses reads the stream's loss counters now.
    // clock is CLOCK_MONOTONIC (replaceable in tests).
    TableWatch(SocketTable& table, Reconciler* reconciler, EventDrain& stream,
               ListingSchedule schedule, std::function<StreamLosses()> read_losses,
               std::function<std::uint64_t()> clock = {});

    struct Tick {
        std::uint64_t now_ns = 0;  // the listing's time when one ran, else the clock's
        std::optional<ReconcileResult> reconciled;
        std::vector<TimewaitEnd> expired;  // ended at their expiry, no listing seen

        // Every TIME_WAIT end the tick found: the listing's, then expiries.
        std::vector<TimewaitEnd> ended() const;
    };

    // One tick. list_now: list whatever the schedule says (a netstat table,
    // a final report). Without a listing the stream is drained, so the
    // tick's time covers every event stamped before it.
    Tick tick(bool list_now = false);

    // Transitions only listings found: corrections of runs when the stream
    // had counted no loss since a listing that found nothing to correct
    // (until then they are presumed the counted records: never twice).
    std::uint64_t found_by_listing() const { return found_by_listing_; }
    const ListingSchedule& schedule() const { return schedule_; }

  private:
    void warn_about(const StreamLosses& losses);

    SocketTable& table_;
    Reconciler* reconciler_;
    EventDrain& stream_;
    ListingSchedule schedule_;
    std::function<StreamLosses()> read_losses_;
    std::function<std::uint64_t()> clock_;
    StreamLosses last_;
    std::uint64_t last_gaps_ = 0;
    std::uint64_t last_evictions_ = 0;
    std::uint64_t lost_at_last_listing_ = 0;
    bool settled_ = true;  // no counted loss whose corrections may still come
    std::uint64_t found_by_listing_ = 0;
};

}  // namespace tcpscope
