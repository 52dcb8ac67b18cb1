#include "kernel/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <filesystem>

#include <dirent.h>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace tcpscope::ktest {
namespace {

constexpr const char* kPrefix = "tcpscope-t";

void remove_stale_namespaces() {
    DIR* dir = opendir("/run/netns");
    if (dir == nullptr) {
        return;
    }
    std::vector<std::string> stale;
    while (dirent* entry = readdir(dir)) {
        std::string name = entry->d_name;
        if (name.rfind(kPrefix, 0) != 0) {
            continue;
        }
        // tcpscope-t<pid>-<n>: stale when <pid> is gone.
        pid_t owner = static_cast<pid_t>(std::atol(name.c_str() + std::strlen(kPrefix)));
        if (owner > 0 && kill(owner, 0) != 0 && errno == ESRCH) {
            stale.push_back(name);
        }
    }
    closedir(dir);
    for (const auto& name : stale) {
        std::string cmd = "ip netns delete " + name + " 2>/dev/null";
        (void)std::system(cmd.c_str());
    }
}

void read_all(int fd, std::string& out) {
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0) {
            out.append(buf, static_cast<std::size_t>(n));
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            return;
        }
    }
}

[[noreturn]] void child_fail(int code, const char* what) {
    std::fprintf(stderr, "test peer: %s: %s\n", what, std::strerror(errno));
    _exit(code);
}

bool fill_sockaddr(int family, const char* addr, std::uint16_t port, sockaddr_storage& ss,
                   socklen_t& len) {
    std::memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        len = sizeof(*sin);
        return inet_pton(AF_INET, addr, &sin->sin_addr) == 1;
    }
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    len = sizeof(*sin6);
    return inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1;
}

}  // namespace

bool running_in_ci() {
    const char* ci = std::getenv("CI");
    return ci != nullptr && std::string(ci) == "true";
}

std::optional<std::string> bpf_unavailable_reason() {
    if (geteuid() != 0) {
        return "kernel tests need root (run scripts/test with sudo)";
    }
    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
        return "the kernel has no BTF at /sys/kernel/btf/vmlinux";
    }
    if (std::system("command -v ip >/dev/null 2>&1") != 0) {
        return "iproute2 (ip) is not installed";
    }
    return std::nullopt;
}

std::string tcpscope_binary() {
    return TCPSCOPE_BINARY;
}

NetNamespace::NetNamespace() {
    static std::atomic<int> counter{0};
    remove_stale_namespaces();
    name_ = std::string(kPrefix) + std::to_string(getpid()) + "-" + std::to_string(counter++);
    std::string cmd = "ip netns add " + name_ + " && ip -n " + name_ + " link set lo up";
    if (std::system(cmd.c_str()) != 0) {
        throw std::runtime_error("cannot create network namespace " + name_);
    }
}

NetNamespace::~NetNamespace() {
    std::string cmd = "ip netns delete " + name_ + " 2>/dev/null";
    (void)std::system(cmd.c_str());
}

std::uint32_t NetNamespace::inode() const {
    struct stat st {};
    return ::stat(path().c_str(), &st) == 0 ? static_cast<std::uint32_t>(st.st_ino) : 0;
}

int NetNamespace::exec(const std::string& command) const {
    std::string cmd = "ip netns exec " + name_ + " sh -c '" + command + "'";
    int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void NetNamespace::enter() const {
    int fd = open(path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
        child_fail(120, "setns");
    }
    close(fd);
}

Child::Child(const NetNamespace& ns, std::function<int()> fn) {
    std::fflush(nullptr);
    pid_ = fork();
    if (pid_ < 0) {
        throw std::runtime_error("fork failed");
    }
    if (pid_ == 0) {
        ns.enter();
        int rc = fn();
        _exit(rc);
    }
}

Child::~Child() {
    if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
}

int Child::wait(std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            pid_ = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return -1;
}

Gate::Gate() {
    if (pipe2(fds_, O_CLOEXEC) != 0) {
        throw std::runtime_error("pipe failed");
    }
}

Gate::~Gate() {
    close(fds_[0]);
    close(fds_[1]);
}

void Gate::open() {
    char byte = 1;
    (void)!write(fds_[1], &byte, 1);
}

bool Gate::wait(std::chrono::milliseconds timeout) {
    pollfd p{fds_[0], POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
        return false;
    }
    char byte;
    return read(fds_[0], &byte, 1) == 1;
}

TracerProcess::TracerProcess(std::vector<std::string> args, std::vector<std::string> launcher) {
    int out[2];
    int err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
        throw std::runtime_error("pipe failed");
    }
    std::fflush(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
        dup2(out[1], STDOUT_FILENO);
        dup2(err[1], STDERR_FILENO);
        std::vector<char*> argv;
        for (auto& a : launcher) {
            argv.push_back(a.data());
        }
        std::string binary = tcpscope_binary();
        argv.push_back(binary.data());
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        execvp(argv[0], argv.data());
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
    out_reader_ = std::thread([this] { read_all(out_fd_, out_); });
}

TracerProcess::~TracerProcess() {
    if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    if (out_reader_.joinable()) {
        out_reader_.join();
    }
    if (err_reader_.joinable()) {
        err_reader_.join();
    }
    close(out_fd_);
    close(err_fd_);
}

bool TracerProcess::wait_ready(std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{err_fd_, POLLIN, 0};
        if (poll(&p, 1, 100) == 1) {
            ssize_t n = read(err_fd_, buf, sizeof(buf));
            if (n <= 0) {
                return false;  // exited before it was ready
            }
            err_.append(buf, static_cast<std::size_t>(n));
            if (err_.find(": tracing ") != std::string::npos) {
                err_reader_ = std::thread([this] { read_all(err_fd_, err_); });
                return true;
            }
        }
    }
    return false;
}

TracerRun TracerProcess::stop() {
    if (pid_ > 0) {
        kill(pid_, SIGINT);
    }
    return collect(std::chrono::seconds(30));
}

TracerRun TracerProcess::wait_exit(std::chrono::seconds timeout) {
    return collect(timeout);
}

TracerRun TracerProcess::collect(std::chrono::seconds timeout) {
    TracerRun run;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (pid_ > 0) {
        pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            pid_ = -1;
            run.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            kill(pid_, SIGKILL);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (out_reader_.joinable()) {
        out_reader_.join();
    }
    if (!err_reader_.joinable()) {
        err_reader_ = std::thread([this] { read_all(err_fd_, err_); });
    }
    err_reader_.join();

    run.stdout_text = out_;
    run.stderr_text = err_;
    std::istringstream lines(out_);
    for (std::string line; std::getline(lines, line);) {
        if (!line.empty() && line.front() == '{') {
            run.events.push_back(nlohmann::json::parse(line));
        }
    }
    // The last line holding "events=" is the exit summary.
    std::istringstream errs(err_);
    std::string summary;
    for (std::string line; std::getline(errs, line);) {
        if (line.find(" events=") != std::string::npos) {
            summary = line;
        }
    }
    std::istringstream words(summary);
    for (std::string word; words >> word;) {
        auto eq = word.find('=');
        if (eq != std::string::npos) {
            std::string key = word.substr(0, eq);
            if (!key.empty() && key.front() == '(') {
                key.erase(0, 1);
            }
            run.summary[key] = std::strtoull(word.c_str() + eq + 1, nullptr, 10);
        }
    }
    return run;
}

TracerAccount tracer_account() {
    for (const char* name : {"tcpscope", "nobody"}) {
        if (const passwd* pw = getpwnam(name)) {
            return {pw->pw_uid, pw->pw_gid};
        }
    }
    throw std::runtime_error("neither a tcpscope nor a nobody user");
}

namespace {

std::string cgroup2_root() {
    std::ifstream mountinfo("/proc/self/mountinfo");
    for (std::string line; std::getline(mountinfo, line);) {
        std::size_t dash = line.find(" - cgroup2 ");
        if (dash != std::string::npos) {
            std::istringstream fields(line.substr(0, dash));
            std::string id, parent, device, root, mount_point;
            fields >> id >> parent >> device >> root >> mount_point;
            return mount_point;
        }
    }
    static const std::string mounted = [] {
        std::string dir = "/tmp/tcpscope-cgroup2";
        std::filesystem::create_directories(dir);
        if (std::system(("mount -t cgroup2 none " + dir).c_str()) != 0) {
            throw std::runtime_error("no cgroup2 mount, and mounting one failed");
        }
        return dir;
    }();
    return mounted;
}

}  // namespace

TestCgroup::TestCgroup() {
    static int serial = 0;
    relative_ = "/tcpscope-test-" + std::to_string(getpid()) + "-" + std::to_string(serial++);
    dir_ = cgroup2_root() + relative_;
    if (mkdir(dir_.c_str(), 0755) != 0) {
        throw std::runtime_error("mkdir " + dir_ + " failed");
    }
}

TestCgroup::~TestCgroup() {
    // Its processes have exited; an empty cgroup can be removed.
    for (int i = 0; i < 50 && rmdir(dir_.c_str()) != 0 && errno == EBUSY; ++i) {
        usleep(20'000);
    }
}

bool TestCgroup::enter() const {
    std::ofstream procs(dir_ + "/cgroup.procs");
    procs << getpid() << std::flush;
    return procs.good();
}

std::string directory_owned_by_tracer() {
    char dir[] = "/tmp/tcpscope-out-XXXXXX";
    if (mkdtemp(dir) == nullptr) {
        throw std::runtime_error("mkdtemp failed");
    }
    TracerAccount account = tracer_account();
    if (chown(dir, account.uid, account.gid) != 0) {
        throw std::runtime_error("chown of the output directory failed");
    }
    return dir;
}

int listen_on(int family, const char* addr, std::uint16_t port, bool reuseport) {
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0) {
        child_fail(101, "socket");
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuseport) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    }
    sockaddr_storage ss;
    socklen_t len;
    if (!fill_sockaddr(family, addr, port, ss, len) ||
        bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
        child_fail(102, "bind");
    }
    if (listen(fd, 128) != 0) {
        child_fail(103, "listen");
    }
    return fd;
}

int connect_nonblocking(int family, const char* addr, std::uint16_t port) {
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_storage ss;
    socklen_t len;
    if (fd < 0 || !fill_sockaddr(family, addr, port, ss, len) ||
        (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS)) {
        child_fail(110, "connect");
    }
    return fd;
}

int connect_and_close(int family, const char* addr, std::uint16_t port) {
    int fd = connect_to(family, addr, port);
    if (fd < 0) {
        return 1;
    }
    close(fd);
    return 0;
}

int connect_to(int family, const char* addr, std::uint16_t port) {
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0) {
        child_fail(104, "socket");
    }
    sockaddr_storage ss;
    socklen_t len;
    if (!fill_sockaddr(family, addr, port, ss, len)) {
        child_fail(105, "address");
    }
    if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

int accept_one(int listener) {
    int fd = accept(listener, nullptr, nullptr);
    if (fd < 0) {
        child_fail(106, "accept");
    }
    return fd;
}

void set_linger_zero(int fd) {
    linger l{1, 0};
    if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) != 0) {
        child_fail(107, "SO_LINGER");
    }
}

void read_until_eof(int fd) {
    char buf[256];
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
}

Child serve_one_until_eof(const NetNamespace& ns, int family, const char* addr, std::uint16_t port,
                          const ServerSetup& setup) {
    Gate listening;
    Child server(ns, [&] {
        if (setup.first && !setup.first()) {
            return 9;
        }
        int l = listen_on(family, addr, port);
        listening.open();
        if (setup.accept_after != nullptr) {
            setup.accept_after->wait();
        }
        int c = accept_one(l);
        read_until_eof(c);
        close(c);
        close(l);
        return 0;
    });
    if (!listening.wait()) {
        throw std::runtime_error("test server did not start listening");
    }
    return server;
}

Child connect_and_close_from(const NetNamespace& ns, const TestCgroup& cgroup, int family,
                             const char* addr, std::uint16_t port) {
    return Child(ns, [&] { return cgroup.enter() ? connect_and_close(family, addr, port) : 9; });
}

std::map<std::uint64_t, std::vector<nlohmann::json>> by_cookie(
    const std::vector<nlohmann::json>& events) {
    std::map<std::uint64_t, std::vector<nlohmann::json>> out;
    for (const auto& e : events) {
        out[e["cookie"].get<std::uint64_t>()].push_back(e);
    }
    return out;
}

std::vector<std::string> sequence_of(const std::vector<nlohmann::json>& socket_events) {
    std::vector<std::string> out;
    for (const auto& e : socket_events) {
        out.push_back(e["old"].get<std::string>() + "->" + e["new"].get<std::string>());
    }
    return out;
}

bool kernel_at_least(int major, int minor) {
    utsname u{};
    int have_major = 0;
    int have_minor = 0;
    if (uname(&u) != 0 || std::sscanf(u.release, "%d.%d", &have_major, &have_minor) != 2) {
        ADD_FAILURE() << "cannot read the kernel release";
        return false;
    }
    return have_major > major || (have_major == major && have_minor >= minor);
}

std::string capabilities_kept_after_attach() {
    std::ifstream sysctl("/proc/sys/kernel/unprivileged_bpf_disabled");
    int disabled = 0;
    sysctl >> disabled;
    constexpr int kCapBpf = 39;
    const bool keeps_bpf = !kernel_at_least(5, 19) && disabled != 0;
    return fmt::format("{:016x}", keeps_bpf ? 1ull << kCapBpf : 0ull);
}

std::string run_shell(const std::string& command) {
    std::string out;
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    if (!pipe) {
        return out;
    }
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof(buf), pipe.get())) {
        out.append(buf, n);
    }
    return out;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

TracerRun run_as_tracer_account(std::vector<std::string> args) {
    const TracerAccount account = tracer_account();
    return TracerProcess(std::move(args), {"setpriv", "--reuid=" + std::to_string(account.uid),
                                           "--regid=" + std::to_string(account.gid),
                                           "--clear-groups", "--inh-caps=-all"})
        .wait_exit();
}

}  // namespace tcpscope::ktest
