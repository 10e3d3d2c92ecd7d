// A real `redis-server` as a child process of the test, on a loopback port found free by binding port 0.
// Another process may take that port before the server binds it (tests run in parallel): start() notices
// (the server exits) and tries again, and it knows the server that answers is its own because it pings
// it on a unix socket of its own. RAII: the destructor stops it (SIGTERM, then SIGKILL, and waits). The child
// also gets SIGKILL when the test process dies without running destructors (PR_SET_PDEATHSIG: the thread that
// forked must live as long as the server, so start it from the test's main thread).
//
//     sio_test::redis_server redis({"--requirepass", "secret"});
//     BOOST_REQUIRE(redis.start());
//     ... redis.port() ...
//     redis.stop();    // connections see the server go away
//     redis.restart(); // same port
//
// The binary is /usr/bin/redis-server, or $SIO_REDIS_SERVER.
#pragma once

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace sio_test {

class redis_server {
public:
    /// `port` 0: the first start() picks a free one.
    explicit redis_server(std::vector<std::string> extra_args = {}, std::uint16_t port = 0)
        : extra_(std::move(extra_args)), port_(port) {}
    ~redis_server() { stop(); }
    redis_server(const redis_server&) = delete;
    redis_server& operator=(const redis_server&) = delete;

    static std::string binary() {
        const char* env = std::getenv("SIO_REDIS_SERVER");
        return env && *env ? env : "/usr/bin/redis-server";
    }
    static bool available() { return ::access(binary().c_str(), X_OK) == 0; }

    /// A loopback port nobody listened on a moment ago (0 on failure).
    static std::uint16_t free_port() {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return 0;
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;
        socklen_t len = sizeof a;
        std::uint16_t port = 0;
        if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
            port = ntohs(a.sin_port);
        ::close(fd);
        return port;
    }

    /// Starts the server and waits (at most `ready_within`) until it answers PING on its own unix socket.
    /// The first start picks the port unless one was given; later starts reuse it. A server that exits
    /// before it answers could not bind its port (another process took it after `free_port()`, under
    /// `ctest -j`): a picked port is then replaced by a fresh one, and a fixed port (given, or on a later
    /// start) is tried again once it can be bound, until the time is up.
    bool start(std::chrono::milliseconds ready_within = std::chrono::seconds(10)) {
        if (running())
            return true;
        const auto deadline = std::chrono::steady_clock::now() + ready_within;
        const bool pick = port_ == 0;
        for (int attempt = 0; attempt < max_attempts; ++attempt) {
            if (pick)
                port_ = free_port();
            else if (attempt > 0 && !wait_bindable(deadline))
                break;
            if (port_ == 0 || !spawn())
                break;
            const auto r = wait_ready(deadline);
            if (r == readiness::ready)
                return true;
            stop();
            if (r == readiness::timed_out)
                break;
            if (pick)
                port_ = 0;
        }
        if (pick)
            port_ = 0;
        return false;
    }

    /// SIGTERM, then SIGKILL if it is still there after `grace`; waits for the process either way.
    void stop(std::chrono::milliseconds grace = std::chrono::seconds(5)) {
        if (pid_ <= 0)
            return;
        ::kill(pid_, SIGTERM);
        const auto deadline = std::chrono::steady_clock::now() + grace;
        while (std::chrono::steady_clock::now() < deadline) {
            if (reap(false))
                return;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        ::kill(pid_, SIGKILL);
        reap(true);
    }

    /// Stops and starts again on the same port.
    bool restart(std::chrono::milliseconds ready_within = std::chrono::seconds(10)) {
        stop();
        return start(ready_within);
    }

    std::uint16_t port() const { return port_; }
    bool running() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }

private:
    bool spawn() {
        // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
        std::vector<std::string> args{binary(),
                                      "--port",
                                      std::to_string(port_),
                                      "--bind",
                                      "127.0.0.1",
                                      "--save",
                                      "",
                                      "--appendonly",
                                      "no",
                                      "--daemonize",
                                      "no",
                                      "--logfile",
                                      "",
                                      "--dir",
                                      "/tmp",
                                      "--unixsocket",
                                      socket_path_,
                                      "--unixsocketperm",
                                      "700"};
        args.insert(args.end(), extra_.begin(), extra_.end());
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        const std::string path = binary();
        const pid_t parent = ::getpid();
        const pid_t pid = ::fork();
        if (pid < 0)
            return false;
        if (pid == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent)
                ::_exit(126);
            const int null = ::open("/dev/null", O_RDWR);
            if (null >= 0) {
                ::dup2(null, 0);
                ::dup2(null, 1);
                ::dup2(null, 2);
            }
            // Sockets of the test must not stay open in the server.
            ::close_range(3, ~0U, 0);
            ::execv(path.c_str(), argv.data());
            ::_exit(127);
        }
        pid_ = pid;
        return true;
    }

    /// True when the child is gone (and reaped).
    bool reap(bool block) {
        if (pid_ <= 0)
            return true;
        int status = 0;
        const pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
        if (r == pid_ || (r < 0 && errno == ECHILD)) {
            pid_ = -1;
            ::unlink(socket_path_.c_str()); // left behind when it was killed
            return true;
        }
        return false;
    }

    enum class readiness { ready, exited, timed_out };

    /// Polls (connect to its unix socket, PING, any +/- answer) until the server answers, it exited, or
    /// the deadline passed. Only this child listens on that socket, and redis-server opens it after it
    /// bound its TCP port (it exits when it cannot): an answer proves the port is this server's.
    readiness wait_ready(std::chrono::steady_clock::time_point deadline) {
        while (std::chrono::steady_clock::now() < deadline) {
            if (reap(false))
                return readiness::exited;
            if (ping())
                return readiness::ready;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return readiness::timed_out;
    }

    /// True when the loopback port can be bound (as redis-server binds it, with SO_REUSEADDR).
    bool bindable() const {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return false;
        const int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port_);
        const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(fd);
        return ok;
    }

    /// Polls until the port can be bound again, or the deadline passed.
    bool wait_bindable(std::chrono::steady_clock::time_point deadline) const {
        while (std::chrono::steady_clock::now() < deadline) {
            if (bindable())
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }

    bool ping() const {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return false;
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, socket_path_.c_str(), sizeof a.sun_path - 1);
        bool ok = false;
        if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
            static constexpr char ping[] = "PING\r\n";
            if (::send(fd, ping, sizeof ping - 1, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof ping - 1)) {
                pollfd p{fd, POLLIN, 0};
                char c = 0;
                if (::poll(&p, 1, 500) == 1 && ::recv(fd, &c, 1, 0) == 1)
                    ok = c == '+' || c == '-'; // +PONG, or -NOAUTH with --requirepass
            }
        }
        ::close(fd);
        return ok;
    }

    /// A unix socket path of this server alone (process id and a counter).
    static std::string make_socket_path() {
        static std::atomic<unsigned> counter{0};
        return "/tmp/sio-test-redis-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
               ".sock";
    }

    /// Picked ports replaced, or fixed-port attempts, before start() gives up (the deadline bounds it too).
    static constexpr int max_attempts = 20;

    std::vector<std::string> extra_;
    std::uint16_t port_ = 0;
    std::string socket_path_ = make_socket_path();
    pid_t pid_ = -1;
};

} // namespace sio_test
