// The one reconciliation and the one watch every command runs, on synthetic
// listings and a synthetic event stream.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <deque>

#include "core/reconciler.h"
#include "core/table_watch.h"
#include "unit/event_builder.h"

namespace tcpscope {
namespace {

using testing::transition;

constexpr std::uint32_t kNetns = 4026531840u;
constexpr std::uint64_t kSecond = 1'000'000'000ull;

// A kernel listing that tests set, and events that "arrive" while it is
// taken (read by the drain after the dump).
struct World {
    std::vector<ListedSocket> sockets;
    std::deque<Transition> during_dump;
    std::deque<Transition> pending;
    std::uint64_t now_ns = 100 * kSecond;
    StreamLosses losses;
};

class FakeLister : public SocketLister {
  public:
    explicit FakeLister(World& world) : world_(world) {}
    void list_into(std::vector<ListedSocket>& out, int family) override {
        for (const ListedSocket& s : world_.sockets) {
            if (s.saddr.family == family) {
                out.push_back(s);
            }
        }
        if (family == AF_INET) {
            for (Transition& t : world_.during_dump) {
                world_.pending.push_back(t);
            }
            world_.during_dump.clear();
        }
    }

  private:
    World& world_;
};

class FakeStream : public EventDrain {
  public:
    FakeStream(World& world, SocketTable& table) : world_(world), table_(table) {}
    void attach(Reconciler& reconciler) { reconciler_ = &reconciler; }
    std::uint64_t drain() override {
        std::uint64_t n = 0;
        for (; !world_.pending.empty(); world_.pending.pop_front(), ++n) {
            const Transition& t = world_.pending.front();
            SocketTable::Applied applied = table_.apply(t);
            reconciler_->observe(t, applied);
        }
        return n;
    }

  private:
    World& world_;
    SocketTable& table_;
    Reconciler* reconciler_ = nullptr;
};

using testing::listed;

ListedSocket listed_timewait(std::uint64_t cookie) {
    ListedSocket s = listed(cookie, TcpState::TimeWait);
    s.is_timewait = true;
    s.expires_ms = 59'000;
    return s;
}

struct Fixture {
    World world;
    SocketTable table{1024};
    FakeStream stream{world, table};
    Reconciler reconciler;

    explicit Fixture(bool owner_filtered = false)
        : reconciler(std::make_unique<FakeLister>(world), options(owner_filtered)) {
        stream.attach(reconciler);
    }

    ReconcilerOptions options(bool owner_filtered) {
        ReconcilerOptions o;
        o.netns = kNetns;
        o.owner_filtered = owner_filtered;
        o.clock = [this] { return world.now_ns; };
        o.cpu_clock = [] { return std::uint64_t{0}; };
        return o;
    }

    // An event stamped now, read by the next drain.
    void arrives(Transition t) {
        t.ts_ns = world.now_ns;
        t.netns = kNetns;
        world.pending.push_back(t);
    }
};

TEST(Reconciler, ASocketListedJustBeforeTheStreamClosedItIsNotAddedBack) {
    Fixture f;
    f.reconciler.seed(f.table, f.stream);
    f.arrives(transition(1, TcpState::Close, TcpState::SynSent));
    f.stream.drain();
    f.world.now_ns += kSecond;
    // The dump shows socket 1 in SYN_SENT; its failure comes in meanwhile.
    f.world.sockets = {listed(1, TcpState::SynSent)};
    Transition refused = transition(1, TcpState::SynSent, TcpState::Close);
    refused.ts_ns = f.world.now_ns + 1000;
    refused.netns = kNetns;
    f.world.during_dump.push_back(refused);
    ReconcileResult r = f.reconciler.run(f.table, f.stream);
    EXPECT_EQ(r.total(), 0u) << "the stream saw it go after the listing began";
    EXPECT_EQ(f.table.find(1), nullptr);
}

TEST(Reconciler, AListedTimewaitSocketCarriesOnTheClosedSocketsOwnerAndAge) {
    Fixture f;
    f.reconciler.seed(f.table, f.stream);
    f.arrives(transition(1, TcpState::Close, TcpState::SynSent));
    f.world.now_ns += kSecond;
    f.arrives(transition(1, TcpState::SynSent, TcpState::Established));
    f.world.now_ns += kSecond;
    // A close the table does not take for a TIME_WAIT birth (it came from
    // ESTABLISHED), although the kernel left a timewait socket.
    f.arrives(transition(1, TcpState::Established, TcpState::Close));
    const std::uint64_t closed_at = f.world.now_ns;
    f.world.now_ns += kSecond;
    f.world.sockets = {listed_timewait(1)};
    ReconcileResult r = f.reconciler.run(f.table, f.stream);
    EXPECT_EQ(r.added, 0u) << "expected after the close, not a socket the stream missed";
    const SocketEntry* tw = f.table.find(1);
    ASSERT_NE(tw, nullptr);
    EXPECT_EQ(tw->state, TcpState::TimeWait);
    ASSERT_TRUE(tw->owner);
    EXPECT_EQ(tw->owner->pid, 4242u);
    EXPECT_EQ(tw->entered_ns, closed_at);
}

TEST(Reconciler, WithPidTheListingOnlyCorrectsKnownSockets) {
    Fixture f(true);
    f.world.sockets = {listed(1, TcpState::Established)};
    f.reconciler.seed(f.table, f.stream);
    EXPECT_EQ(f.table.size(), 0u) << "another process's socket, maybe";
    f.arrives(transition(2, TcpState::Close, TcpState::SynSent));
    f.world.now_ns += kSecond;
    f.world.sockets = {listed(1, TcpState::Established), listed(2, TcpState::Established)};
    ReconcileResult r = f.reconciler.run(f.table, f.stream);
    EXPECT_EQ(r.fixed, 1u);
    EXPECT_EQ(r.added, 0u);
}

struct WatchFixture : Fixture {
    TableWatch watch;
    explicit WatchFixture(ListingSchedule schedule = ListingSchedule::fixed(kSecond, 5 * kSecond))
        : watch((reconciler.seed(table, stream), table), &reconciler, stream, schedule,
                [this] { return world.losses; }, [this] { return world.now_ns; }) {}

    TableWatch::Tick tick_after(std::uint64_t ns, bool list_now = false) {
        world.now_ns += ns;
        return watch.tick(list_now);
    }
};

TEST(TableWatch, ListsOnScheduleAndAtOnceAfterALoss) {
    WatchFixture f;
    EXPECT_FALSE(f.tick_after(kSecond).reconciled);
    EXPECT_FALSE(f.tick_after(kSecond).reconciled);
    f.world.losses.ringbuf_full = 3;
    EXPECT_TRUE(f.tick_after(kSecond).reconciled) << "a loss: repair now";
    EXPECT_FALSE(f.tick_after(kSecond).reconciled);
    EXPECT_FALSE(f.tick_after(kSecond).reconciled);
    EXPECT_FALSE(f.tick_after(kSecond).reconciled);
    EXPECT_FALSE(f.tick_after(kSecond).reconciled);
    TableWatch::Tick due = f.tick_after(kSecond);
    EXPECT_TRUE(due.reconciled) << "5 s after the last listing";
    EXPECT_EQ(due.now_ns, f.reconciler.listed_at_ns());
    EXPECT_TRUE(f.tick_after(kSecond, true).reconciled) << "asked for";
}

TEST(TableWatch, CorrectionsNoCountedLossExplainsAreLostTransitions) {
    WatchFixture f;
    f.arrives(transition(1, TcpState::Close, TcpState::SynSent));
    f.arrives(transition(2, TcpState::Close, TcpState::SynSent));
    f.world.now_ns += kSecond;
    // The kernel moved 1 on and closed 2 with no event and no counted loss
    // (a skipped program run on a kernel that cannot count them).
    f.world.sockets = {listed(1, TcpState::Established)};
    TableWatch::Tick tick = f.tick_after(0, true);
    ASSERT_TRUE(tick.reconciled);
    EXPECT_EQ(tick.reconciled->fixed, 1u);
    EXPECT_EQ(tick.reconciled->removed, 1u);
    EXPECT_EQ(f.watch.found_by_listing(), 2u);

    // With a counted loss the corrections are those very records.
    f.world.losses.ringbuf_full = 1;
    f.world.sockets = {};
    tick = f.tick_after(kSecond);
    ASSERT_TRUE(tick.reconciled);
    EXPECT_EQ(tick.reconciled->removed, 1u);
    EXPECT_EQ(f.watch.found_by_listing(), 2u) << "counted once, as ringbuf_full";
}

TEST(TableWatch, CorrectionsLaggingACountedLossAreNotCountedTwice) {
    WatchFixture f;
    f.arrives(transition(1, TcpState::Close, TcpState::SynSent));
    f.arrives(transition(2, TcpState::Close, TcpState::SynSent));
    f.world.now_ns += kSecond;
    f.world.losses.ringbuf_full = 5;
    f.world.sockets = {listed(2, TcpState::SynSent)};
    f.tick_after(0, true);  // removes 1: the counted loss
    f.world.sockets = {};
    f.tick_after(kSecond, true);  // removes 2, no new loss: still that loss
    EXPECT_EQ(f.watch.found_by_listing(), 0u);
    f.tick_after(kSecond, true);  // nothing to correct: caught up
    f.arrives(transition(3, TcpState::Close, TcpState::SynSent));
    f.world.now_ns += kSecond;
    f.tick_after(kSecond, true);  // 3 gone with no event and no loss counted
    EXPECT_EQ(f.watch.found_by_listing(), 1u);
}

TEST(TableWatch, TheEndOfTimewaitIsNoLoss) {
    WatchFixture f;
    f.world.sockets = {listed_timewait(7)};
    f.tick_after(kSecond, true);
    f.world.sockets = {};
    TableWatch::Tick tick = f.tick_after(kSecond, true);
    ASSERT_TRUE(tick.reconciled);
    EXPECT_EQ(tick.reconciled->timewait_ended.size(), 1u);
    EXPECT_EQ(tick.ended().size(), 1u);
    EXPECT_EQ(f.watch.found_by_listing(), 1u) << "its birth was missed; its end was not";
}

TEST(TableWatch, ASparseStreamsCorrectionsAreNoLosses) {
    WatchFixture f;
    f.table.set_sparse(true);
    f.world.sockets = {listed(1, TcpState::Established), listed(2, TcpState::Listen)};
    f.tick_after(kSecond, true);
    EXPECT_EQ(f.watch.found_by_listing(), 0u);
}

TEST(TableWatch, EndsTimewaitAtItsExpiryWhereNoListingDid) {
    WatchFixture f(ListingSchedule::fixed(kSecond, 1000 * kSecond));
    const TcpState life[] = {TcpState::Close,    TcpState::SynSent,  TcpState::Established,
                             TcpState::FinWait1, TcpState::FinWait2, TcpState::Close};
    for (std::size_t i = 0; i + 1 < std::size(life); ++i) {
        f.arrives(transition(5, life[i], life[i + 1]));  // the last, a FIN close: TIME_WAIT
    }
    f.watch.tick();
    ASSERT_NE(f.table.find(5), nullptr);
    EXPECT_EQ(f.table.find(5)->state, TcpState::TimeWait);
    EXPECT_TRUE(f.tick_after(kTimewaitLenNs + kTimewaitExpiryGraceNs - kSecond).expired.empty())
        << "within the timer wheel's slack";
    TableWatch::Tick tick = f.tick_after(2 * kSecond);
    ASSERT_EQ(tick.expired.size(), 1u);
    EXPECT_EQ(tick.expired[0].entry.cookie, 5u);
    EXPECT_FALSE(tick.reconciled);
}

}  // namespace
}  // namespace tcpscope
