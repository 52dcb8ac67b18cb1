// Under a loopback connection storm every transition reaches userspace: the
// backup program recovers what the kernel's recursion guard skips, and the
// ring buffer (no per-event wake-ups) never overflows.
#include <cstdio>

#include "kernel/harness.h"

namespace tcpscope::ktest {
namespace {

nlohmann::json run_storm(const NetNamespace& ns, const std::string& args) {
    std::string cmd = "ip netns exec " + ns.name() + " " + TCPSCOPE_STORM_BINARY + " " + args;
    return nlohmann::json::parse(run_shell(cmd));
}

TEST(Storm, EveryTransitionIsDeliveredOrCounted) {
    TCPSCOPE_REQUIRE_BPF();
    NetNamespace ns;
    TracerProcess tracer({"trace", "--netns", ns.path(), "-o", "/dev/null"});
    ASSERT_TRUE(tracer.wait_ready());
    nlohmann::json storm = run_storm(ns, "--seconds 3 --clients 2 --servers 2");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    TracerRun run = tracer.stop();
    ASSERT_EQ(run.exit_status, 0) << run.stderr_text;

    const std::uint64_t connections = storm["connections"].get<std::uint64_t>();
    ASSERT_GT(connections, 5000u) << storm.dump();
    EXPECT_EQ(storm["failed"], 0);
    // 10 transitions per connection (5 per side) plus the listener's two.
    const std::uint64_t expected = connections * 10 + 2;
    const std::uint64_t delivered = run.summary["events"];
    // Counted losses: none. Reconciliation may still find transitions the
    // kernel skipped uncounted: this machine's kernel skips tracing programs
    // when the interrupted task belongs to the VM's PID 1 (kernel-hooks.md:
    // 0.005-0.01% in a storm, measured here up to 0.017% with other load on
    // the host); no BPF design can see those, so allow 0.1%, but what the
    // listings found must be reported, and never more than was missing.
    EXPECT_EQ(run.summary["ringbuf_full"] + run.summary["unrecovered"] + run.summary["malformed"],
              0u)
        << run.stderr_text;
    EXPECT_EQ(run.summary["lost"], run.summary["found_by_listing"]) << run.stderr_text;
    EXPECT_EQ(run.summary["recovered"], run.summary["recursion_misses"]) << run.stderr_text;
    EXPECT_LE(delivered + run.summary["lost"], expected) << run.stderr_text;
    EXPECT_GE(static_cast<double>(delivered), static_cast<double>(expected) * 0.999)
        << "expected " << expected << "\n"
        << run.stderr_text;
    std::printf("storm: %llu connections, %llu/%llu transitions delivered, %llu recovered\n",
                static_cast<unsigned long long>(connections),
                static_cast<unsigned long long>(delivered),
                static_cast<unsigned long long>(expected),
                static_cast<unsigned long long>(run.summary["recovered"]));
}

}  // namespace
}  // namespace tcpscope::ktest
