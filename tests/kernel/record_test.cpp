// Record now, analyse later, against the real kernel: trace, synfail and
// timewait record a scenario with -w while printing it live; the replays
// (-r, as an unprivileged user, no kernel) print exactly the live lines; a
// damaged recording replays up to the damage and names its offset.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "kernel/harness.h"

namespace tcpscope::ktest {
namespace {

// Accepts count connections; each client closes first (TIME_WAIT is the
// client's), then the server closes.
int serve_clients_that_close_first(int listener, int count) {
    for (int i = 0; i < count; ++i) {
        int c = accept_one(listener);
        read_until_eof(c);
        close(c);
    }
    return 0;
}

// What every recorder sees: connections that end in TIME_WAIT, refused
// connects, and a connection still open when the tracers stop.
void production_like_traffic(const NetNamespace& ns) {
    constexpr int kClients = 8;
    constexpr int kRefused = 4;
    Child server(ns, [] {
        int listener = listen_on(AF_INET, "127.0.0.1", 7500);
        return serve_clients_that_close_first(listener, kClients);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    Child clients(ns, [] {
        for (int i = 0; i < kClients; ++i) {
            if (connect_and_close(AF_INET, "127.0.0.1", 7500) != 0) {
                return 1;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(150));
        }
        for (int i = 0; i < kRefused; ++i) {
            if (connect_to(AF_INET, "127.0.0.1", 9) != -ECONNREFUSED) {
                return 2;
            }
        }
        return 0;
    });
    ASSERT_EQ(clients.wait(), 0);
    ASSERT_EQ(server.wait(), 0);
}

class RecordTest : public ::testing::Test {
  protected:
    void SetUp() override {
        TCPSCOPE_REQUIRE_BPF();
        dir_ = directory_owned_by_tracer();
    }
    void TearDown() override {
        if (!dir_.empty()) {
            std::filesystem::remove_all(dir_);
        }
    }
    TracerRun replay(std::vector<std::string> args) {
        return run_as_tracer_account(std::move(args));
    }
    std::string path(const std::string& name) const { return dir_ + "/" + name; }

    std::string dir_;
};

TEST_F(RecordTest, ReplaysPrintExactlyWhatTheLiveRunsPrinted) {
    NetNamespace ns;
    const std::string trace_rec = path("trace.tsr");
    const std::string synfail_rec = path("synfail.tsr");
    const std::string timewait_rec = path("timewait.tsr");
    // --reconcile 1: listings every second, so the replay must feed them back.
    TracerProcess trace(
        {"trace", "--json", "--netns", ns.path(), "--reconcile", "1", "-w", trace_rec, "--print"});
    TracerProcess synfail(
        {"synfail", "--json", "--netns", ns.path(), "--interval", "1", "-w", synfail_rec});
    TracerProcess timewait({"timewait", "--json", "--netns", ns.path(), "-w", timewait_rec});
    ASSERT_TRUE(trace.wait_ready());
    ASSERT_TRUE(synfail.wait_ready());
    ASSERT_TRUE(timewait.wait_ready());
    production_like_traffic(ns);
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // reconciliations, intervals
    TracerRun live_trace = trace.stop();
    TracerRun live_synfail = synfail.stop();
    TracerRun live_timewait = timewait.stop();
    ASSERT_EQ(live_trace.exit_status, 0) << live_trace.stderr_text;
    ASSERT_EQ(live_synfail.exit_status, 0) << live_synfail.stderr_text;
    ASSERT_EQ(live_timewait.exit_status, 0) << live_timewait.stderr_text;

    // The live runs saw the scenario: 8 connections of 10 transitions, 4
    // refused; TIME_WAIT births in the interval reports.
    EXPECT_GE(live_trace.events.size(), 8u * 10 + 4 * 2) << live_trace.stdout_text;
    EXPECT_GE(live_trace.summary["reconciled"], 2u) << live_trace.stderr_text;
    std::size_t refused = 0;
    for (const auto& e : live_synfail.events) {
        refused += e.value("reason", "") == "ECONNREFUSED" ? 1 : 0;
    }
    EXPECT_EQ(refused, 4u) << live_synfail.stdout_text;
    ASSERT_FALSE(live_timewait.events.empty());
    EXPECT_EQ(live_timewait.events.back()["births"], 8) << live_timewait.stdout_text;

    TracerRun replayed_trace = replay({"trace", "-r", trace_rec, "--json"});
    EXPECT_EQ(replayed_trace.exit_status, 0) << replayed_trace.stderr_text;
    EXPECT_EQ(replayed_trace.stdout_text, live_trace.stdout_text);
    EXPECT_EQ(replayed_trace.summary["events"], live_trace.summary["events"]);
    EXPECT_EQ(replayed_trace.summary["reconciled"], live_trace.summary["reconciled"]);

    TracerRun replayed_synfail = replay({"synfail", "-r", synfail_rec, "--json"});
    EXPECT_EQ(replayed_synfail.exit_status, 0) << replayed_synfail.stderr_text;
    EXPECT_EQ(replayed_synfail.stdout_text, live_synfail.stdout_text);

    TracerRun replayed_timewait = replay({"timewait", "-r", timewait_rec, "--json"});
    EXPECT_EQ(replayed_timewait.exit_status, 0) << replayed_timewait.stderr_text;
    EXPECT_EQ(replayed_timewait.stdout_text, live_timewait.stdout_text);

    // Flags that read more than the live run did (--stats reads the loss
    // counters every second) or print less (--reason) replay all the same.
    TracerRun with_stats = replay({"trace", "-r", trace_rec, "--json", "--stats"});
    EXPECT_EQ(with_stats.exit_status, 0) << with_stats.stderr_text;
    EXPECT_EQ(with_stats.stdout_text, live_trace.stdout_text);
    TracerRun timeouts_only =
        replay({"synfail", "-r", synfail_rec, "--json", "--reason", "ETIMEDOUT"});
    EXPECT_EQ(timeouts_only.exit_status, 0) << timeouts_only.stderr_text;
    for (const auto& e : timeouts_only.events) {
        EXPECT_FALSE(e.contains("reason")) << "only summaries: no timeouts were made " << e.dump();
    }

    // A replay keeps the views' own flags: only port 7500's sockets.
    TracerRun port_only = replay({"trace", "-r", trace_rec, "--json", "--port", "7500"});
    EXPECT_EQ(port_only.exit_status, 0) << port_only.stderr_text;
    ASSERT_FALSE(port_only.events.empty());
    for (const auto& e : port_only.events) {
        EXPECT_TRUE(e["sport"] == 7500 || e["dport"] == 7500) << e.dump();
    }

    // netstat --at: the table as the recording had it at a wall-clock time.
    // At the first connect towards 7500 the listener is there and no
    // connection is; 0.3 s after the last event the listener is gone and the
    // clients' 8 sockets are in TIME_WAIT.
    std::string first_connect;
    std::string last_event;
    for (const auto& e : live_trace.events) {
        if (first_connect.empty() && e["new"] == "SYN_SENT" && e["dport"] == 7500) {
            first_connect = e["ts"];
        }
        last_event = e["ts"];
    }
    ASSERT_FALSE(first_connect.empty());
    auto count_lines = [](const std::string& text, const std::string& a, const std::string& b) {
        std::size_t n = 0;
        std::istringstream lines(text);
        for (std::string line; std::getline(lines, line);) {
            n += line.find(a) != std::string::npos && line.find(b) != std::string::npos ? 1 : 0;
        }
        return n;
    };
    TracerRun before = replay({"netstat", "-tan", "-r", trace_rec, "--at", first_connect});
    EXPECT_EQ(before.exit_status, 0) << before.stderr_text;
    EXPECT_EQ(count_lines(before.stdout_text, "127.0.0.1:7500", "LISTEN"), 1u)
        << before.stdout_text;
    EXPECT_EQ(count_lines(before.stdout_text, ":7500", "ESTABLISHED"), 0u) << before.stdout_text;
    EXPECT_EQ(count_lines(before.stdout_text, ":7500", "TIME_WAIT"), 0u) << before.stdout_text;
    const std::string after_time = last_event.substr(11, 8);  // HH:MM:SS, the text form
    TracerRun after = replay({"netstat", "-tan", "-r", trace_rec, "--at", after_time + ".999999"});
    EXPECT_EQ(after.exit_status, 0) << after.stderr_text;
    EXPECT_EQ(count_lines(after.stdout_text, ":7500", "LISTEN"), 0u) << after.stdout_text;
    EXPECT_EQ(count_lines(after.stdout_text, "127.0.0.1:7500", "TIME_WAIT"), 8u)
        << after.stdout_text;
    TracerRun too_late =
        replay({"netstat", "-tan", "-r", trace_rec, "--at", "2099-01-01T00:00:00Z"});
    EXPECT_EQ(too_late.exit_status, 6) << too_late.stderr_text;
    EXPECT_NE(too_late.stderr_text.find("ends before --at's time"), std::string::npos)
        << too_late.stderr_text;

    // A recording cut short replays what it holds, then names the offset.
    const std::string whole = read_file(trace_rec);
    const std::string cut = path("cut.tsr");
    std::ofstream(cut, std::ios::binary) << whole.substr(0, whole.size() * 2 / 3);
    TracerRun truncated = replay({"trace", "-r", cut, "--json"});
    EXPECT_EQ(truncated.exit_status, 6) << truncated.stderr_text;
    EXPECT_NE(truncated.stderr_text.find("truncated at offset"), std::string::npos)
        << truncated.stderr_text;
    ASSERT_FALSE(truncated.stdout_text.empty());
    EXPECT_EQ(live_trace.stdout_text.rfind(truncated.stdout_text, 0), 0u)
        << "the lines before the cut are the live lines";

    // Another command's recording, and a newer format: one line each.
    TracerRun wrong = replay({"synfail", "-r", trace_rec});
    EXPECT_EQ(wrong.exit_status, 6);
    EXPECT_NE(wrong.stderr_text.find("replay it with `tcpscope trace -r"), std::string::npos)
        << wrong.stderr_text;
    std::string newer = whole;
    newer[8] = 2;
    const std::string newer_path = path("newer.tsr");
    std::ofstream(newer_path, std::ios::binary) << newer;
    TracerRun refused_newer = replay({"trace", "-r", newer_path});
    EXPECT_EQ(refused_newer.exit_status, 6);
    EXPECT_NE(refused_newer.stderr_text.find("is recording format 2"), std::string::npos)
        << refused_newer.stderr_text;

    // A recording from another boot (or host) replays, after one line saying
    // whose times, owners and cgroups these are.
    const std::string boot = run_shell("head -c 36 /proc/sys/kernel/random/boot_id");
    ASSERT_EQ(boot.size(), 36u);
    std::string foreign = whole;
    const std::size_t at = foreign.find(boot);
    ASSERT_NE(at, std::string::npos) << "the header names this boot";
    foreign.replace(at, boot.size(), "00000000-0000-4000-8000-000000000000");
    const std::string foreign_path = path("foreign.tsr");
    std::ofstream(foreign_path, std::ios::binary) << foreign;
    TracerRun from_elsewhere = replay({"trace", "-r", foreign_path, "--json"});
    EXPECT_EQ(from_elsewhere.exit_status, 0) << from_elsewhere.stderr_text;
    EXPECT_EQ(from_elsewhere.stdout_text, live_trace.stdout_text);
    EXPECT_EQ(count_lines(from_elsewhere.stderr_text, "boot 00000000-0000-4000-8000-000000000000",
                          "not this boot of this host"),
              1u)
        << from_elsewhere.stderr_text;
    EXPECT_EQ(count_lines(replayed_trace.stderr_text, "not this boot", ""), 0u)
        << "this boot's recordings replay without the line: " << replayed_trace.stderr_text;
}

// -w alone prints nothing (as tcpdump -w), rotates by size into files that
// replay in order, and a full disk ends the run with exit 1.
TEST_F(RecordTest, RecordingAloneRotatesAndAFullDiskEndsTheRun) {
    NetNamespace ns;
    const std::string rec = path("rot.tsr");
    TracerProcess trace({"trace", "--netns", ns.path(), "-w", rec, "--rotate-size", "4096",
                         "--rotate-count", "50"});
    ASSERT_TRUE(trace.wait_ready());
    production_like_traffic(ns);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    TracerRun live = trace.stop();
    ASSERT_EQ(live.exit_status, 0) << live.stderr_text;
    EXPECT_EQ(live.stdout_text, "");
    std::vector<std::string> parts;
    for (int i = 50; i >= 1; --i) {
        std::string p = dir_ + "/rot." + std::to_string(i) + ".tsr";
        if (std::filesystem::exists(p)) {
            parts.push_back(p);
        }
    }
    ASSERT_GE(parts.size(), 2u) << "rotated past 4096 bytes";
    parts.push_back(rec);
    std::vector<std::string> args = {"trace", "--json"};
    for (const std::string& p : parts) {
        args.push_back("-r");
        args.push_back(p);
    }
    TracerRun replayed = replay(args);
    EXPECT_EQ(replayed.exit_status, 0) << replayed.stderr_text;
    EXPECT_EQ(replayed.summary["events"], live.summary["events"]);
    EXPECT_GE(replayed.events.size(), 8u * 10 + 4 * 2);

    // No listing came after the seed (reconciliation every 10 s): the table
    // at the end knows its TIME_WAIT sockets from the stream only, and netstat
    // --at prints their queues, users and inodes as unknown, not as 0s or root.
    ASSERT_FALSE(replayed.events.empty());
    // The last event, refused connects after the TIME_WAIT births.
    const std::string end = replayed.events.back()["ts"].get<std::string>();
    std::vector<std::string> at_args = {"netstat", "-tane"};
    for (std::size_t i = 2; i < args.size(); ++i) {
        at_args.push_back(args[i]);
    }
    at_args.push_back("--at");
    at_args.push_back(end);
    TracerRun table = replay(at_args);
    EXPECT_EQ(table.exit_status, 0) << table.stderr_text;
    std::size_t unknown_timewaits = 0;
    std::istringstream lines(table.stdout_text);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        std::vector<std::string> f{std::istream_iterator<std::string>(words), {}};
        if (f.size() == 8 && f[5] == "TIME_WAIT" && f[4].ends_with(":7500")) {
            EXPECT_EQ(f[1] + f[2] + f[6] + f[7], "----") << line;
            ++unknown_timewaits;
        }
    }
    EXPECT_EQ(unknown_timewaits, 8u) << table.stdout_text;

    TracerProcess full({"trace", "--netns", ns.path(), "-w", "/dev/full"});
    ASSERT_TRUE(full.wait_ready());
    production_like_traffic(ns);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    TracerRun failed = full.wait_exit(std::chrono::seconds(10));
    EXPECT_EQ(failed.exit_status, 1) << failed.stderr_text;
    EXPECT_NE(failed.stderr_text.find("/dev/full"), std::string::npos) << failed.stderr_text;
}

// logrotate's way: the recording is moved away, SIGHUP opens a new file by
// the name, and the two replay as one (oldest first); the new file alone is
// refused, since the table starts from the first file's seed listing.
TEST_F(RecordTest, ASighupAfterTheRecordingMovedStartsItsNextPart) {
    NetNamespace ns;
    const std::string rec = path("hup.tsr");
    const std::string moved = path("hup.tsr.1");
    TracerProcess trace({"trace", "--netns", ns.path(), "-w", rec});
    ASSERT_TRUE(trace.wait_ready());
    production_like_traffic(ns);
    std::filesystem::rename(rec, moved);
    ASSERT_EQ(kill(trace.pid(), SIGHUP), 0);
    for (int i = 0; i < 50 && !std::filesystem::exists(rec); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(std::filesystem::exists(rec)) << "no new recording 5 s after SIGHUP";
    production_like_traffic(ns);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    TracerRun live = trace.stop();
    ASSERT_EQ(live.exit_status, 0) << live.stderr_text;

    TracerRun replayed = replay({"trace", "--json", "-r", moved, "-r", rec});
    EXPECT_EQ(replayed.exit_status, 0) << replayed.stderr_text;
    EXPECT_EQ(replayed.summary["events"], live.summary["events"]);
    EXPECT_GE(replayed.events.size(), 2 * (8u * 10 + 4 * 2)) << "both rounds of traffic";

    TracerRun alone = replay({"trace", "--json", "-r", rec});
    EXPECT_EQ(alone.exit_status, 6) << alone.stderr_text;
    EXPECT_NE(alone.stderr_text.find("is part 1 of a rotated recording"), std::string::npos)
        << alone.stderr_text;
}

}  // namespace
}  // namespace tcpscope::ktest
