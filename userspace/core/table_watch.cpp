#include "core/table_watch.h"

#include <spdlog/spdlog.h>

#include "core/wall_clock.h"

namespace tcpscope {

std::uint64_t transitions_missed(const ReconcileResult& r) {
    const std::uint64_t timewait_ends = r.timewait_ended.size();
    return r.added + r.fixed + (r.removed > timewait_ends ? r.removed - timewait_ends : 0);
}

std::vector<TimewaitEnd> TableWatch::Tick::ended() const {
    std::vector<TimewaitEnd> all;
    if (reconciled) {
        all = reconciled->timewait_ended;
    }
    all.insert(all.end(), expired.begin(), expired.end());
    return all;
}

TableWatch::TableWatch(SocketTable& table, Reconciler* reconciler, EventDrain& stream,
                       ListingSchedule schedule, std::function<StreamLosses()> read_losses,
                       std::function<std::uint64_t()> clock)
    : table_(table),
      reconciler_(reconciler),
      stream_(stream),
      schedule_(schedule),
      read_losses_(std::move(read_losses)),
      clock_(clock ? std::move(clock) : std::function<std::uint64_t()>(monotonic_now_ns)) {
    if (reconciler_ != nullptr && reconciler_->listed_at_ns() != 0) {
        // The seed listing: the schedule counts from it.
        schedule_.listed(reconciler_->listed_at_ns(), reconciler_->last_cpu_ns());
    }
}

void TableWatch::warn_about(const StreamLosses& losses) {
    const TableCounters& table = table_.counters();
    if (losses.lost() > last_.lost() || table.gaps > last_gaps_) {
        spdlog::warn("events lost: ringbuf_full={} unrecovered={} malformed={} history_gaps={}",
                     losses.ringbuf_full, losses.unrecovered, losses.malformed, table.gaps);
    }
    if (table.evictions > last_evictions_) {
        spdlog::warn("live table full at {} sockets: evicted {} idlest; raise --max-sockets",
                     table_.capacity(), table.evictions - last_evictions_);
    }
}

TableWatch::Tick TableWatch::tick(bool list_now) {
    const StreamLosses losses = read_losses_();
    warn_about(losses);
    const bool lost_more = losses.lost() > last_.lost() || table_.counters().gaps > last_gaps_;
    last_ = losses;
    last_gaps_ = table_.counters().gaps;
    last_evictions_ = table_.counters().evictions;

    Tick tick;
    if (reconciler_ != nullptr && (list_now || lost_more || schedule_.due(clock_()))) {
        ReconcileResult r = reconciler_->run(table_, stream_);
        tick.now_ns = reconciler_->listed_at_ns();
        schedule_.listed(tick.now_ns, reconciler_->last_cpu_ns());
        // Read again after the run: a loss the stream counted by the
        // listing's end explains the corrections, which are then those records.
        // Corrections show up over several listings after a counted loss
        // (entries newer than a listing are left to the next one): until a
        // listing finds nothing to correct, they are taken for those counted
        // records. A sparse stream (timewait) carries only some transitions
        // by design: its corrections are no losses.
        const std::uint64_t counted = read_losses_().lost();
        const std::uint64_t missed = table_.sparse() ? 0 : transitions_missed(r);
        if (counted != lost_at_last_listing_) {
            settled_ = false;
        } else if (!settled_) {
            settled_ = missed == 0;
        } else {
            found_by_listing_ += missed;
        }
        lost_at_last_listing_ = counted;
        if (r.total() > 0) {
            spdlog::info("reconciled the live table: {} added, {} removed, {} fixed", r.added,
                         r.removed, r.fixed);
        }
        tick.reconciled = std::move(r);
    } else {
        // Drained first, so every event stamped before the tick's time is in.
        stream_.drain();
        tick.now_ns = clock_();
    }
    tick.expired = table_.expire_timewait(tick.now_ns, kTimewaitExpiryGraceNs);
    return tick;
}

}  // namespace tcpscope
