// `tcpscope serve` against the real kernel: known traffic in a private
// namespace, /metrics scraped over loopback, counters equal to the traffic;
// the JSON-lines log, its reopening on SIGHUP, and a clean exit on SIGTERM.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "kernel/harness.h"
#include "kernel/http_client.h"

namespace tcpscope::ktest {
namespace {

using Labels = std::map<std::string, std::string>;

constexpr std::uint16_t kPort = 8080;
constexpr std::uint16_t kClosedPort = 9;
constexpr int kSuccesses = 20;
constexpr int kRefused = 7;

std::vector<nlohmann::json> json_lines(const std::string& path) {
    std::vector<nlohmann::json> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        out.push_back(nlohmann::json::parse(line));
    }
    return out;
}

class ServeTest : public ::testing::Test {
  protected:
    void SetUp() override {
        TCPSCOPE_REQUIRE_BPF();
        ns_ = std::make_unique<NetNamespace>();
        port_ = free_loopback_port();
        ASSERT_NE(port_, 0);
        dir_ = directory_owned_by_tracer();  // reopened after the user switch
        log_ = dir_ + "/transitions.jsonl";
        serve_ = std::make_unique<TracerProcess>(std::vector<std::string>{
            "serve", "--netns", ns_->path(), "--metrics-addr", "127.0.0.1:" + std::to_string(port_),
            "--log", log_, "--reconcile", "1"});
        ASSERT_TRUE(serve_->wait_ready()) << "serve did not start";
    }

    void TearDown() override {
        serve_.reset();
        if (!dir_.empty()) {
            std::filesystem::remove_all(dir_);
        }
    }

    std::string scrape() {
        std::optional<HttpResponse> r = http_get(port_, "/metrics");
        EXPECT_TRUE(r) << "no answer on 127.0.0.1:" << port_;
        if (!r) {
            return {};
        }
        EXPECT_EQ(r->status, 200);
        return r->body;
    }

    // Scrapes until name{labels} reaches want (counters only grow), then returns the text.
    std::string scrape_until(const std::string& name, const Labels& labels, double want) {
        std::string text;
        for (int i = 0; i < 50; ++i) {
            text = scrape();
            if (sample_value(text, name, labels).value_or(-1) >= want) {
                break;
            }
            usleep(100'000);
        }
        return text;
    }

    // kSuccesses connects to a listener that reads each to the end (the
    // client closes first), then kRefused to a closed port.
    void drive_traffic() {
        Gate listening;
        Child server(*ns_, [&] {
            int l = listen_on(AF_INET, "127.0.0.1", kPort);
            listening.open();
            for (int i = 0; i < kSuccesses; ++i) {
                int c = accept_one(l);
                read_until_eof(c);
                close(c);
            }
            return 0;
        });
        ASSERT_TRUE(listening.wait());
        Child client(*ns_, [] {
            for (int i = 0; i < kSuccesses; ++i) {
                int fd = connect_to(AF_INET, "127.0.0.1", kPort);
                if (fd < 0) {
                    return 1;
                }
                shutdown(fd, SHUT_WR);
                read_until_eof(fd);
                close(fd);
            }
            for (int i = 0; i < kRefused; ++i) {
                if (connect_to(AF_INET, "127.0.0.1", kClosedPort) != -ECONNREFUSED) {
                    return 2;
                }
            }
            return 0;
        });
        ASSERT_EQ(client.wait(), 0);
        ASSERT_EQ(server.wait(), 0);
    }

    std::unique_ptr<NetNamespace> ns_;
    std::uint16_t port_ = 0;
    std::string dir_;
    std::string log_;
    std::unique_ptr<TracerProcess> serve_;
};

TEST_F(ServeTest, CountersEqualTheTrafficAndTheLogHasEveryTransition) {
    drive_traffic();
    const Labels refused = {{"reason", "ECONNREFUSED"}};
    std::string text = scrape_until("tcpscope_connect_failures_total", refused, kRefused);
    text = scrape_until("tcpscope_timewait_births_total", {}, kSuccesses);
    // The table's gauges are refreshed every second, after the counters.
    text = scrape_until("tcpscope_timewait_sockets", {}, kSuccesses);

    EXPECT_EQ(sample_value(text, "tcpscope_connect_failures_total", refused), kRefused) << text;
    EXPECT_EQ(sample_value(text, "tcpscope_connect_successes_total"), kSuccesses) << text;
    EXPECT_EQ(sample_value(text, "tcpscope_transitions_total",
                           {{"old_state", "CLOSE"}, {"new_state", "SYN_SENT"}}),
              kSuccesses + kRefused)
        << text;
    EXPECT_EQ(sample_value(text, "tcpscope_transitions_total",
                           {{"old_state", "SYN_SENT"}, {"new_state", "ESTABLISHED"}}),
              kSuccesses);
    EXPECT_EQ(sample_value(text, "tcpscope_transitions_total",
                           {{"old_state", "CLOSE"}, {"new_state", "LISTEN"}}),
              1);
    EXPECT_EQ(sample_value(text, "tcpscope_syn_sent_seconds_count", {{"outcome", "failed"}}),
              kRefused);
    EXPECT_EQ(sample_value(text, "tcpscope_timewait_births_total"), kSuccesses) << text;
    // The client's TIME_WAIT sockets live 60 s: all still there, in this netns.
    const std::string inode = std::to_string(ns_->inode());
    EXPECT_EQ(sample_value(text, "tcpscope_sockets", {{"netns", inode}, {"state", "TIME_WAIT"}}),
              kSuccesses)
        << text;
    EXPECT_EQ(sample_value(text, "tcpscope_timewait_sockets"), kSuccesses);
    EXPECT_EQ(sample_value(text, "tcpscope_timewait_early_deaths_total"), 0);
    // Port-range pressure towards the listener, from a reconciliation's listing.
    FILE* range = popen(
        ("ip netns exec " + ns_->name() + " cat /proc/sys/net/ipv4/ip_local_port_range").c_str(),
        "r");
    ASSERT_NE(range, nullptr);
    unsigned lo = 0;
    unsigned hi = 0;
    ASSERT_EQ(std::fscanf(range, "%u %u", &lo, &hi), 2);
    pclose(range);
    const Labels listener = {{"daddr", "127.0.0.1"}, {"dport", std::to_string(kPort)}};
    const double share = static_cast<double>(kSuccesses) / (hi - lo + 1);
    text = scrape_until("tcpscope_port_range_usage_ratio", listener, share * 0.999);
    EXPECT_NEAR(sample_value(text, "tcpscope_port_range_usage_ratio", listener).value_or(-1), share,
                1e-9)
        << text;
    for (const char* cause : {"ringbuf_full", "recursion", "malformed"}) {
        EXPECT_EQ(sample_value(text, "tcpscope_events_lost_total", {{"cause", cause}}), 0) << cause;
    }
    EXPECT_TRUE(
        sample_value(text, "tcpscope_state_duration_seconds_count", {{"state", "ESTABLISHED"}}))
        << text;

    // SIGTERM: detach and exit cleanly.
    kill(serve_->pid(), SIGTERM);
    TracerRun run = serve_->wait_exit(std::chrono::seconds(10));
    EXPECT_EQ(run.exit_status, 0) << run.stderr_text;
    EXPECT_EQ(run.summary["lost"], 0u) << run.stderr_text;

    int refusals = 0;
    int syn_sent = 0;
    for (const nlohmann::json& line : json_lines(log_)) {
        if (line.contains("reason")) {
            EXPECT_EQ(line["reason"], "ECONNREFUSED") << line.dump();
            ++refusals;
        } else if (line["old"] == "CLOSE" && line["new"] == "SYN_SENT") {
            ++syn_sent;
        }
    }
    EXPECT_EQ(refusals, kRefused);
    EXPECT_EQ(syn_sent, kSuccesses + kRefused);
}

TEST_F(ServeTest, SighupReopensTheLogMovedAway) {
    Child first(*ns_, [] {
        return connect_to(AF_INET, "127.0.0.1", kClosedPort) == -ECONNREFUSED ? 0 : 1;
    });
    ASSERT_EQ(first.wait(), 0);
    scrape_until("tcpscope_connect_failures_total", {{"reason", "ECONNREFUSED"}}, 1);
    usleep(100'000);  // the log is flushed every drain
    const std::string moved = log_ + ".1";
    std::filesystem::rename(log_, moved);
    kill(serve_->pid(), SIGHUP);
    for (int i = 0; i < 50 && !std::filesystem::exists(log_); ++i) {
        usleep(50'000);
    }
    ASSERT_TRUE(std::filesystem::exists(log_)) << "no new log after SIGHUP";
    Child second(*ns_, [] {
        return connect_to(AF_INET, "127.0.0.1", kClosedPort) == -ECONNREFUSED ? 0 : 1;
    });
    ASSERT_EQ(second.wait(), 0);
    scrape_until("tcpscope_connect_failures_total", {{"reason", "ECONNREFUSED"}}, 2);
    TracerRun run = serve_->stop();
    EXPECT_EQ(run.exit_status, 0) << run.stderr_text;
    EXPECT_NE(run.stderr_text.find("reopened the log"), std::string::npos) << run.stderr_text;

    auto failures_in = [](const std::string& path) {
        int n = 0;
        for (const nlohmann::json& line : json_lines(path)) {
            n += line.contains("reason") ? 1 : 0;
        }
        return n;
    };
    EXPECT_EQ(failures_in(moved), 1);
    EXPECT_EQ(failures_in(log_), 1);
}

// Running as the unprivileged account, serve cannot write a root-owned 0644
// file: a SIGHUP after the log was replaced by one fails to open it, says
// so, and the log open before takes the next lines.
TEST_F(ServeTest, ARootOwnedFileAtTheLogPathIsNotWritableAfterTheSwitch) {
    const std::string moved = log_ + ".old";
    std::filesystem::rename(log_, moved);
    { std::ofstream root_file(log_); }
    ASSERT_EQ(chown(log_.c_str(), 0, 0), 0);
    ASSERT_EQ(chmod(log_.c_str(), 0644), 0);
    kill(serve_->pid(), SIGHUP);
    usleep(300'000);
    Child refused(*ns_, [] {
        return connect_to(AF_INET, "127.0.0.1", kClosedPort) == -ECONNREFUSED ? 0 : 1;
    });
    ASSERT_EQ(refused.wait(), 0);
    scrape_until("tcpscope_connect_failures_total", {{"reason", "ECONNREFUSED"}}, 1);
    TracerRun run = serve_->stop();
    EXPECT_EQ(run.exit_status, 0) << run.stderr_text;
    EXPECT_NE(run.stderr_text.find("Permission denied"), std::string::npos) << run.stderr_text;
    EXPECT_NE(run.stderr_text.find("still writing to the file open before"), std::string::npos)
        << run.stderr_text;
    EXPECT_EQ(std::filesystem::file_size(log_), 0u) << "the root-owned file was written";
    EXPECT_FALSE(json_lines(moved).empty());
}

// Failures by the connecting process's unit: a client in a fresh cgroup
// (no unit in its path: the path names it) gets its own series.
TEST_F(ServeTest, FailuresAreLabelledByTheConnectorsUnit) {
    TestCgroup cgroup;
    Child refused(*ns_, [&] {
        if (!cgroup.enter()) {
            return 9;
        }
        for (int i = 0; i < 3; ++i) {
            if (connect_to(AF_INET, "127.0.0.1", kClosedPort) != -ECONNREFUSED) {
                return 1;
            }
        }
        return 0;
    });
    ASSERT_EQ(refused.wait(), 0);
    const Labels labels = {{"unit", cgroup.path()}, {"reason", "ECONNREFUSED"}};
    std::string text = scrape_until("tcpscope_connect_failures_by_unit_total", labels, 3);
    EXPECT_EQ(sample_value(text, "tcpscope_connect_failures_by_unit_total", labels), 3.0) << text;
}

}  // namespace
}  // namespace tcpscope::ktest
