// `tcpscope serve` scraped by a real Prometheus server (Debian's
// `prometheus`), started here on loopback with its own data directory and a
// generated config; the counter Prometheus stores must match the traffic.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "kernel/harness.h"
#include "kernel/http_client.h"

namespace tcpscope::ktest {
namespace {

constexpr const char* kPrometheus = "/usr/bin/prometheus";
constexpr std::uint16_t kClosedPort = 9;
constexpr int kRefused = 5;

// A Prometheus server scraping 127.0.0.1:target_port every second. Killed
// and its directory removed in the destructor, so a failing test cleans up
// too; PR_SET_PDEATHSIG kills it should the test binary itself die.
class PrometheusServer {
  public:
    explicit PrometheusServer(std::uint16_t target_port) {
        char dir[] = "/tmp/tcpscope-prometheus-XXXXXX";
        if (mkdtemp(dir) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        dir_ = dir;
        port_ = free_loopback_port();
        std::ofstream(dir_ + "/prometheus.yml")
            << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            << "scrape_configs:\n  - job_name: tcpscope\n    static_configs:\n"
            << "      - targets: ['127.0.0.1:" << target_port << "']\n";
        const std::vector<std::string> args = {
            kPrometheus,
            "--config.file=" + dir_ + "/prometheus.yml",
            "--storage.tsdb.path=" + dir_ + "/data",
            "--web.listen-address=127.0.0.1:" + std::to_string(port_),
            "--log.level=warn",
        };
        const std::string log = dir_ + "/prometheus.log";
        pid_ = fork();
        if (pid_ == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            std::vector<char*> argv;
            for (const std::string& a : args) {
                argv.push_back(const_cast<char*>(a.c_str()));
            }
            argv.push_back(nullptr);
            execv(kPrometheus, argv.data());
            _exit(127);
        }
    }

    ~PrometheusServer() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        std::filesystem::remove_all(dir_);
    }
    PrometheusServer(const PrometheusServer&) = delete;
    PrometheusServer& operator=(const PrometheusServer&) = delete;

    // Instant query; the first sample's value, or empty.
    std::optional<double> query(const std::string& encoded_promql) const {
        nlohmann::json result = query_result(encoded_promql);
        if (!result.is_array() || result.empty()) {
            return std::nullopt;
        }
        return std::stod(result[0]["value"][1].get<std::string>());
    }

    // Instant query: the result vector, or null when the query failed.
    nlohmann::json query_result(const std::string& encoded_promql) const {
        std::optional<HttpResponse> r = http_get(port_, "/api/v1/query?query=" + encoded_promql);
        if (!r || r->status != 200) {
            return nullptr;
        }
        nlohmann::json answer = nlohmann::json::parse(r->body, nullptr, false);
        if (answer.is_discarded() || answer["status"] != "success") {
            return nullptr;
        }
        return answer["data"]["result"];
    }

    std::string log() const {
        std::ifstream in(dir_ + "/prometheus.log");
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

  private:
    std::string dir_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

#define TCPSCOPE_REQUIRE_PROMETHEUS()                                     \
    do {                                                                  \
        if (access(kPrometheus, X_OK) != 0) {                             \
            if (running_in_ci()) {                                        \
                FAIL() << "CI=true and " << kPrometheus                   \
                       << " is missing (scripts/setup installs it)";      \
            }                                                             \
            GTEST_SKIP() << kPrometheus << " missing: run scripts/setup"; \
        }                                                                 \
    } while (0)

TEST(ServePrometheusTest, PrometheusStoresTheCounterTheTrafficMade) {
    TCPSCOPE_REQUIRE_BPF();
    TCPSCOPE_REQUIRE_PROMETHEUS();
    NetNamespace ns;
    const std::uint16_t metrics_port = free_loopback_port();
    TracerProcess serve({"serve", "--netns", ns.path(), "--metrics-addr",
                         "127.0.0.1:" + std::to_string(metrics_port)});
    ASSERT_TRUE(serve.wait_ready()) << "serve did not start";
    PrometheusServer prometheus(metrics_port);

    Child client(ns, [] {
        for (int i = 0; i < kRefused; ++i) {
            if (connect_to(AF_INET, "127.0.0.1", kClosedPort) != -ECONNREFUSED) {
                return 1;
            }
        }
        return 0;
    });
    ASSERT_EQ(client.wait(), 0);

    // tcpscope_connect_failures_total{reason="ECONNREFUSED"}
    const std::string refused = "tcpscope_connect_failures_total%7Breason%3D%22ECONNREFUSED%22%7D";
    std::optional<double> stored;
    for (int i = 0; i < 200 && stored.value_or(0) < kRefused; ++i) {
        usleep(100'000);
        stored = prometheus.query(refused);
    }
    EXPECT_EQ(stored, kRefused) << prometheus.log();
    EXPECT_EQ(prometheus.query("up%7Bjob%3D%22tcpscope%22%7D"), 1) << prometheus.log();
    EXPECT_EQ(prometheus.query("tcpscope_connect_successes_total"), 0);

    TracerRun run = serve.stop();
    EXPECT_EQ(run.exit_status, 0) << run.stderr_text;
}

// Every character but unreserved ones as %XX, for a query string.
std::string url_encoded(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

// A panel's query as Grafana would send it with every instance selected.
std::string as_sent(std::string expr) {
    for (auto [from, to] : {std::pair<std::string, std::string>{"$__rate_interval", "30s"},
                            std::pair<std::string, std::string>{"$instance", ".+"}}) {
        for (std::size_t at; (at = expr.find(from)) != std::string::npos;) {
            expr.replace(at, from.size(), to);
        }
    }
    return expr;
}

// dist/grafana/tcpscope.json against a real Prometheus scraping a real serve
// under known traffic: every panel's every query returns data, and the
// failure panel shows exactly the failures made.
TEST(ServePrometheusTest, EveryDashboardPanelReturnsDataAndFailuresEqualTheTraffic) {
    TCPSCOPE_REQUIRE_BPF();
    TCPSCOPE_REQUIRE_PROMETHEUS();
    std::ifstream file(std::string(TCPSCOPE_SOURCE_DIR) + "/dist/grafana/tcpscope.json");
    const nlohmann::json dashboard = nlohmann::json::parse(file, nullptr, false);
    ASSERT_FALSE(dashboard.is_discarded()) << "dist/grafana/tcpscope.json is not JSON";
    ASSERT_GE(dashboard["panels"].size(), 10u);

    NetNamespace ns;
    const std::uint16_t metrics_port = free_loopback_port();
    TracerProcess serve({"serve", "--listeners", "--reconcile", "1", "--netns", ns.path(),
                         "--metrics-addr", "127.0.0.1:" + std::to_string(metrics_port)});
    ASSERT_TRUE(serve.wait_ready()) << "serve did not start";
    PrometheusServer prometheus(metrics_port);

    // Refused connects, connects closed by the client (TIME_WAIT towards the
    // listener), and a full accept queue (listener drops), all held open.
    Gate ready;
    Gate release;
    Child traffic(ns, [&] {
        int served = listen_on(AF_INET, "127.0.0.1", 7500);
        int full = listen_on(AF_INET, "127.0.0.1", 7501);
        if (listen(full, 1) != 0) {  // listen() again: only the backlog changes
            return 1;
        }
        for (int i = 0; i < kRefused; ++i) {
            if (connect_to(AF_INET, "127.0.0.1", kClosedPort) != -ECONNREFUSED) {
                return 2;
            }
        }
        for (int i = 0; i < 3; ++i) {
            int c = connect_to(AF_INET, "127.0.0.1", 7500);
            int s = accept_one(served);
            close(c);  // the client closes first: TIME_WAIT on its side
            close(s);
        }
        std::vector<int> waiting;
        for (int i = 0; i < 10; ++i) {
            waiting.push_back(connect_nonblocking(AF_INET, "127.0.0.1", 7501));
        }
        ready.open();
        release.wait(std::chrono::seconds(120));
        return 0;  // exits with the sockets: the test has its figures by then
    });
    ASSERT_TRUE(ready.wait());

    const std::string failures = url_encoded("sum(tcpscope_connect_failures_total)");
    for (int i = 0; i < 300 && prometheus.query(failures).value_or(0) < kRefused; ++i) {
        usleep(100'000);
    }
    sleep(3);  // a few more scrapes: rates over 30 s need two samples
    for (const nlohmann::json& panel : dashboard["panels"]) {
        for (const nlohmann::json& target : panel["targets"]) {
            const std::string expr = as_sent(target["expr"].get<std::string>());
            nlohmann::json result = prometheus.query_result(url_encoded(expr));
            EXPECT_TRUE(result.is_array() && !result.empty())
                << "panel \"" << panel["title"].get<std::string>() << "\": " << expr << " -> "
                << result.dump();
        }
    }
    const nlohmann::json& stat = dashboard["panels"][0];
    ASSERT_EQ(stat["type"], "stat");
    EXPECT_EQ(prometheus.query(url_encoded(as_sent(stat["targets"][0]["expr"]))), kRefused)
        << prometheus.log();
    release.open();
    EXPECT_EQ(traffic.wait(), 0);
    TracerRun run = serve.stop();
    EXPECT_EQ(run.exit_status, 0) << run.stderr_text;
}

}  // namespace
}  // namespace tcpscope::ktest
