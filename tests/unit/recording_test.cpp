// The recording format: what a Recorder writes a Replay reads back in order,
// and every damaged file ends in an error naming the offset after the
// records before it were served.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "record/recorder.h"
#include "record/recording_adapters.h"
#include "record/replay.h"
#include "tcpscope/event.h"

namespace tcpscope {
namespace {

class RecordingTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/tcpscope-recording-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        path_ = dir_ + "/trace.tsr";
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    static RecordingHeader header() {
        RecordingHeader h;
        h.tcpscope_version = "9.9.9";
        h.kernel_release = "6.1.0-test";
        h.boot_id = "boot";
        h.host_name = "host-a";
        h.command = "trace";
        h.netns = 4026531840u;
        h.realtime_minus_monotonic_ns = 1'700'000'000'000'000'000;
        h.recording_id = 0x1234;
        h.event_size = sizeof(tcpscope_event);
        h.settings = {{"reconcile_s", "10"}, {"listings", "1"}};
        return h;
    }
    static tcpscope_event event(std::uint64_t cookie) {
        tcpscope_event e{};
        e.ts_ns = 1000 + cookie;
        e.cookie = cookie;
        e.family = AF_INET;
        e.oldstate = TCPSCOPE_SYN_SENT;
        e.newstate = TCPSCOPE_ESTABLISHED;
        return e;
    }
    static ListedSocket listed(std::uint64_t cookie) {
        ListedSocket s;
        s.cookie = cookie;
        s.saddr.family = AF_INET6;
        s.saddr.bytes[15] = 1;
        s.daddr.family = AF_INET6;
        s.sport = 8080;
        s.dport = 40000;
        s.state = TcpState::Listen;
        s.rqueue = 3;
        s.wqueue = 128;
        s.drops = 7;
        s.cgroup_id = 99;
        return s;
    }
    std::string read_file(const std::string& path) const {
        std::ifstream in(path, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }
    void write_file(const std::string& path, const std::string& bytes) const {
        std::ofstream(path, std::ios::binary) << bytes;
    }
    // A recording of three events, a tick, a listing, a clock, losses, a
    // cgroup name (after the second event), the end.
    void record_sample() {
        Recorder recorder(file(), header());
        for (std::uint64_t cookie = 1; cookie <= 3; ++cookie) {
            tcpscope_event e = event(cookie);
            recorder.event(&e, sizeof(e));
            if (cookie == 2) {
                std::string path = "/system.slice/nginx.service";
                recorder.cgroup_name(99, &path);
            }
        }
        recorder.tick(false);
        ListedSocket s = listed(7);
        recorder.listing(AF_INET6, true, &s, 1);
        recorder.clock(ClockKind::Monotonic, 5555);
        recorder.losses(KernelLosses{1, 2, 1, 0});
        recorder.drain_end();
        recorder.loop_end();
    }

    OutputFileOptions file(std::size_t rotate_bytes = 0) const {
        OutputFileOptions options;
        options.path = path_;
        options.rotate_bytes = rotate_bytes;
        options.rotate_files = 5;
        return options;
    }

    std::string dir_;
    std::string path_;
};

TEST_F(RecordingTest, WhatIsRecordedIsReplayedInOrder) {
    record_sample();
    Replay replay({path_});
    EXPECT_EQ(replay.header().host_name, "host-a");
    EXPECT_EQ(replay.header().netns, 4026531840u);
    EXPECT_EQ(replay.header().realtime_minus_monotonic_ns, 1'700'000'000'000'000'000);
    EXPECT_EQ(replay.setting("reconcile_s"), "10");
    EXPECT_EQ(replay.setting("absent", "fallback"), "fallback");
    for (std::uint64_t cookie = 1; cookie <= 3; ++cookie) {
        ASSERT_EQ(replay.step(), Replay::Step::Event);
        tcpscope_event e{};
        ASSERT_EQ(replay.event().size(), sizeof(e));
        std::memcpy(&e, replay.event().data(), sizeof(e));
        EXPECT_EQ(e.cookie, cookie);
        // The name recorded after the second event is known when it is served.
        EXPECT_EQ(replay.find(99) != nullptr, cookie >= 2) << cookie;
    }
    EXPECT_EQ(replay.find(99)->unit, "nginx.service");
    EXPECT_EQ(replay.step(), Replay::Step::Tick);
    ListingRecord listing = replay.listing();
    EXPECT_EQ(listing.family, AF_INET6);
    ASSERT_EQ(listing.sockets.size(), 1u);
    const ListedSocket& s = listing.sockets[0];
    EXPECT_EQ(s.cookie, 7u);
    EXPECT_EQ(s.saddr.bytes[15], 1);
    EXPECT_EQ(s.state, TcpState::Listen);
    EXPECT_EQ(s.wqueue, 128u);
    EXPECT_EQ(s.drops, std::optional<std::uint32_t>(7));
    EXPECT_EQ(s.retransmits, std::nullopt);
    EXPECT_EQ(s.cgroup_id, 99u);
    // Losses are side information: in place once the record before them is
    // taken, whether the replay reads them there or not at all.
    EXPECT_EQ(replay.losses().recursion_misses, 0u);
    EXPECT_EQ(replay.clock(ClockKind::Monotonic), 5555u);
    EXPECT_EQ(replay.losses().recursion_misses, 2u);
    EXPECT_EQ(replay.losses().recursion_misses, 2u);
    EXPECT_EQ(replay.step(), Replay::Step::DrainEnd);
    EXPECT_EQ(replay.step(), Replay::Step::LoopEnd);
}

TEST_F(RecordingTest, ListenInputsRoundTrip) {
    ListenCountsRecord counts;
    ListenerCounts c;
    c.cookie = 42;
    c.netns = 7;
    c.accepted = 5;
    c.wait_slots[20] = 3;
    c.queue_peak = 5;
    counts.listeners.push_back(c);
    SynDropCount d;
    d.daddr.family = AF_INET;
    d.daddr.bytes[0] = 127;
    d.dport = 9;
    d.reason = "NO_SOCKET";
    d.count = 5;
    counts.syn_drops.push_back(d);
    {
        Recorder recorder(file(), header());
        recorder.listen_counts(counts);
        std::string program = "812/nginx";
        recorder.program_name(1234, &program);
        recorder.net_counters({{"TcpExt.ListenDrops", 94}, {"Tcp.OutRsts", 5}});
        recorder.loop_end();
    }
    Replay replay({path_});
    ListenCountsRecord back = replay.listen_counts();
    ASSERT_EQ(back.listeners.size(), 1u);
    EXPECT_EQ(back.listeners[0].cookie, 42u);
    EXPECT_EQ(back.listeners[0].wait_slots[20], 3u);
    EXPECT_EQ(back.listeners[0].queue_peak, 5u);
    ASSERT_EQ(back.syn_drops.size(), 1u);
    EXPECT_EQ(back.syn_drops[0].reason, "NO_SOCKET");
    EXPECT_EQ(back.syn_drops[0].daddr.bytes[0], 127);
    EXPECT_EQ(back.syn_drops[0].count, 5u);
    EXPECT_EQ(replay.program(1234), std::optional<std::string>("812/nginx"));
    EXPECT_EQ(replay.program(99), std::nullopt);
    ProcNetCounters net = replay.net_counters();
    EXPECT_EQ(net["TcpExt.ListenDrops"], 94u);
    EXPECT_EQ(net.size(), 2u);
    EXPECT_EQ(replay.step(), Replay::Step::LoopEnd);
}

TEST_F(RecordingTest, AReplayAskingForSomethingElseNamesTheOffset) {
    record_sample();
    Replay replay({path_});
    try {
        replay.clock(ClockKind::Monotonic);  // the first record is an event
        FAIL() << "no error";
    } catch (const RecordingError& e) {
        std::string what = e.what();
        EXPECT_NE(what.find("at offset "), std::string::npos) << what;
        EXPECT_NE(what.find("an event record where this replay needs a clock"), std::string::npos)
            << what;
    }
}

TEST_F(RecordingTest, EveryTruncationServesTheRecordsBeforeItThenNamesItsOffset) {
    record_sample();
    const std::string whole = read_file(path_);
    const std::size_t header_size = encode_header(header()).size();
    std::vector<std::uint64_t> event_ends;  // where each event record ends
    {
        RecordReader reader(path_);
        Record r;
        while (reader.next(r)) {
            if (r.type == RecordType::Event) {
                event_ends.push_back(reader.offset());
            }
        }
    }
    ASSERT_EQ(event_ends.size(), 3u);
    for (std::size_t cut = header_size; cut < whole.size(); ++cut) {
        const std::string cut_path = dir_ + "/cut.tsr";
        write_file(cut_path, whole.substr(0, cut));
        Replay replay({cut_path});
        std::size_t events = 0;
        try {
            while (replay.step() == Replay::Step::Event) {
                ++events;
            }
            replay.listing();
            replay.clock(ClockKind::Monotonic);
            replay.losses();
            replay.step();
            replay.step();
            FAIL() << "cut at " << cut << ": no error";
        } catch (const RecordingError& e) {
            std::string what = e.what();
            EXPECT_NE(what.find("offset"), std::string::npos) << what;
        }
        // Each whole event record before the cut was served.
        std::size_t complete = 0;
        for (std::uint64_t end : event_ends) {
            complete += end <= cut ? 1 : 0;
        }
        EXPECT_EQ(events, complete) << "cut at " << cut;
    }
}

TEST_F(RecordingTest, ANewerFormatIsRefusedNamingTheRecordersVersion) {
    record_sample();
    std::string bytes = read_file(path_);
    bytes[8] = 2;  // the format version, little-endian
    write_file(path_, bytes);
    try {
        Replay replay({path_});
        FAIL() << "no error";
    } catch (const RecordingError& e) {
        EXPECT_NE(std::string(e.what()).find("is recording format 2 (written by tcpscope 9.9.9)"),
                  std::string::npos)
            << e.what();
    }
}

TEST_F(RecordingTest, AFileThatIsNoRecordingAndAnUnknownTypeAreNamed) {
    write_file(path_, "hello, world\n");
    EXPECT_THROW(
        {
            try {
                Replay replay({path_});
            } catch (const RecordingError& e) {
                EXPECT_NE(std::string(e.what()).find("not a tcpscope recording"),
                          std::string::npos);
                throw;
            }
        },
        RecordingError);
    record_sample();
    std::string bytes = read_file(path_);
    const std::size_t first = encode_header(header()).size();
    bytes[first] = 42;  // the first record's type
    write_file(path_, bytes);
    Replay replay({path_});
    try {
        replay.step();
        FAIL() << "no error";
    } catch (const RecordingError& e) {
        EXPECT_NE(std::string(e.what()).find("corrupt record at offset " + std::to_string(first) +
                                             ": unknown type 42"),
                  std::string::npos)
            << e.what();
    }
}

TEST_F(RecordingTest, ARotatedRecordingReplaysFromItsFirstPartOnly) {
    {
        Recorder recorder(file(1200), header());
        for (std::uint64_t cookie = 1; cookie <= 20; ++cookie) {
            tcpscope_event e = event(cookie);
            recorder.event(&e, sizeof(e));
            recorder.tick(false);  // rotates once past 1200 bytes: ~9 events a file
        }
        recorder.loop_end();
    }
    const std::string p1 = rotated_name(path_, 1);
    const std::string p2 = rotated_name(path_, 2);
    ASSERT_TRUE(std::filesystem::exists(p2));
    ASSERT_FALSE(std::filesystem::exists(rotated_name(path_, 3)));
    Replay replay({p2, p1, path_});
    std::uint64_t expected = 1;
    while (true) {
        Replay::Step step = replay.step();
        if (step == Replay::Step::LoopEnd) {
            break;
        }
        if (step == Replay::Step::Event) {
            tcpscope_event e{};
            std::memcpy(&e, replay.event().data(), sizeof(e));
            EXPECT_EQ(e.cookie, expected++);
        }
    }
    EXPECT_EQ(expected, 21u);
    try {
        Replay later({p1});
        FAIL() << "a later part replayed alone";
    } catch (const RecordingError& e) {
        EXPECT_NE(std::string(e.what()).find("is part 1 of a rotated recording"), std::string::npos)
            << e.what();
    }
    Replay gap({p2, path_});
    try {
        while (gap.step() != Replay::Step::LoopEnd) {
        }
        FAIL() << "a part skipped";
    } catch (const RecordingError& e) {
        EXPECT_NE(std::string(e.what()).find("is not the part after"), std::string::npos)
            << e.what();
    }
}

TEST_F(RecordingTest, RecordingCgroupsRecordEachAnswerOnceAndAFoundNameLater) {
    class Host : public CgroupNames {
      public:
        const CgroupName* find(std::uint64_t id) override {
            return id == 5 && known ? &name : nullptr;
        }
        bool known = false;
        CgroupName name = name_cgroup("/user.slice/a.scope");
    } host;
    {
        Recorder recorder(file(), header());
        RecordingCgroups names(host, recorder);
        EXPECT_EQ(names.find(5), nullptr);
        EXPECT_EQ(names.find(5), nullptr);  // not recorded again
        host.known = true;                  // a rescan found it
        EXPECT_EQ(names.find(5)->path, "/user.slice/a.scope");
        EXPECT_EQ(names.find(5)->path, "/user.slice/a.scope");
        recorder.loop_end();
    }
    const std::string bytes = read_file(path_);
    const std::size_t header_size = encode_header(header()).size();
    // Two cgroup-name records (unknown, then found), then the end.
    RecordReader reader(path_);
    Record r;
    std::vector<RecordType> types;
    while (reader.next(r)) {
        types.push_back(r.type);
    }
    EXPECT_EQ(types, (std::vector<RecordType>{RecordType::CgroupName, RecordType::CgroupName,
                                              RecordType::LoopEnd}));
    EXPECT_GT(bytes.size(), header_size);
}

}  // namespace
}  // namespace tcpscope
