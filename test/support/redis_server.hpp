// A real `redis-server` as a child process of the test, on a loopback port found free by binding port 0.
// RAII: the destructor stops it (SIGTERM, then SIGKILL, and waits). The child also gets SIGKILL when the
// test process dies without running destructors (PR_SET_PDEATHSIG: the thread that forked must live as
// long as the server, so start it from the test's main thread).
//
//     sio_test::redis_server redis({"--requirepass", "secret"});
//     BOOST_REQUIRE(redis.start());
//     ... redis.port() ...
//     redis.stop();    // connections see the server go away
//     redis.restart(); // same port
//
// The binary is /usr/bin/redis-server, or $SIO_REDIS_SERVER.
#pragma once

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

    /// Starts the server and waits (at most `ready_within`) until it answers PING. The first start picks
    /// the port unless one was given (and tries another one if the server dies at once, the port having
    /// been taken meanwhile); later starts reuse it.
    bool start(std::chrono::milliseconds ready_within = std::chrono::seconds(10)) {
        if (running())
            return true;
        const bool pick = port_ == 0;
        for (int attempt = 0; attempt < (pick ? 3 : 1); ++attempt) {
            if (pick)
                port_ = free_port();
            if (port_ != 0 && spawn() && wait_ready(ready_within))
                return true;
            stop();
        }
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
        std::vector<std::string> args{
            binary(),       "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no",     "--daemonize",         "no",     "--logfile", "",       "--dir",
            "/tmp"};
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
            return true;
        }
        return false;
    }

    /// Polls (connect, PING, any +/- answer) until the server answers, it died, or the time is up.
    bool wait_ready(std::chrono::milliseconds within) {
        const auto deadline = std::chrono::steady_clock::now() + within;
        while (std::chrono::steady_clock::now() < deadline) {
            if (reap(false))
                return false;
            if (ping())
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }

    bool ping() const {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return false;
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port_);
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

    std::vector<std::string> extra_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

} // namespace sio_test
